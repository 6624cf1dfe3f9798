"""UCF-101 from its official split files (classInd.txt, trainlist0N.txt, testlist0N.txt).

Layout: ``root/ucfTrainTestlist/`` (or the three files directly in ``root``) and videos at
``root/UCF-101/<Class>/v_<Class>_gXX_cYY.avi`` (or ``root/<Class>/...``). video_id is the
file stem from the split file (``v_ApplyEyeMakeup_g08_c01``), unique across UCF-101.

The official lists disagree with themselves on case ("HandstandPushups" in classInd.txt and
the folder, "v_HandStandPushups_..." in file names; some copies name the folder
"HandStandPushups"), so class folders and files are matched case-insensitively and every such
match is reported in one log warning.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from dance.datasets._common import (
    DatasetPath,
    dataset_root,
    listing,
    log,
    missing_videos_error,
    read_text,
    visible_dirs,
    visible_files,
)
from dance.manifest import Manifest, ManifestError, ManifestRecord

_EXPECTED = (
    "ucfTrainTestlist/ (classInd.txt, trainlist0N.txt, testlist0N.txt) and "
    "UCF-101/<Class>/v_<Class>_gXX_cYY.avi there"
)


def ucf101_manifest(root: str, split: int = 1) -> Manifest:
    """UCF-101 official split 1, 2 or 3: trainlist -> train, testlist -> test, 101 classes."""
    if split not in (1, 2, 3) or isinstance(split, bool):
        raise ManifestError(f"UCF-101 split must be 1, 2 or 3 (the official splits), got {split!r}")
    base = dataset_root(root, "UCF-101", _EXPECTED)
    lists_dir = base / "ucfTrainTestlist"
    if not (lists_dir / "classInd.txt").is_file():
        lists_dir = base
    class_ind = lists_dir / "classInd.txt"
    if not class_ind.is_file():
        raise ManifestError(
            f"UCF-101: no classInd.txt in {str(base / 'ucfTrainTestlist')!r} or {str(base)!r}; "
            "unpack UCF101TrainTestSplits-RecognitionTask.zip into the root"
        )
    class_names = _read_class_ind(class_ind)
    canonical = {name.lower(): name for name in class_names}
    video_dir = base / "UCF-101" if (base / "UCF-101").is_dir() else base
    on_disk = _index_videos(video_dir)
    if not on_disk:
        raise ManifestError(
            f"UCF-101: no videos in {str(base / 'UCF-101')!r} or {str(base)!r}; "
            "expected <root>/UCF-101/<Class>/v_<Class>_gXX_cYY.avi (unpack UCF101.rar there)"
        )

    records: list[ManifestRecord] = []
    missing: list[str] = []
    case_matches: set[str] = set()
    for split_name, prefix in (("train", "trainlist"), ("test", "testlist")):
        path = lists_dir / f"{prefix}0{split}.txt"
        entries = _read_split_list(path, class_names, canonical, case_matches)
        for relative, class_name in entries:
            folder, file_name = relative.split("/")
            found = on_disk.get((folder.lower(), file_name.lower()))
            if found is None:
                missing.append(relative)
                continue
            if found.parent.name != folder or found.name != file_name:
                case_matches.add(f"{relative} -> {found.parent.name}/{found.name}")
            records.append(
                ManifestRecord(
                    video_id=PurePosixPath(file_name).stem,
                    uri=str(found),
                    label_name=class_name,
                    split=split_name,
                )
            )
    if missing:
        raise missing_videos_error(
            "UCF-101", missing, repr(str(video_dir)),
            "Unpack UCF101.rar so videos sit at <root>/UCF-101/<Class>/<file>.avi",
        )
    if case_matches:
        log.warning(
            "UCF-101: matched %d name(s) case-insensitively: %s",
            len(case_matches), listing(sorted(case_matches), 5),
        )
    return Manifest.from_records(records, class_names=class_names)


def _read_class_ind(path: DatasetPath) -> list[str]:
    """Class names in label order from classInd.txt lines 'N Name' (N = 1..C)."""
    names: list[str] = []
    for number, line in enumerate(read_text(str(path), "UCF-101 classInd.txt").split("\n"), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise ManifestError(f"{path}:{number}: expected 'INDEX ClassName', got {line!r}")
        if int(parts[0]) != len(names) + 1:
            raise ManifestError(
                f"{path}:{number}: class index {parts[0]} out of order; "
                f"expected {len(names) + 1} (indices are 1..C in file order)"
            )
        names.append(parts[1])
    if not names:
        raise ManifestError(f"{path} lists no classes")
    return names


def _read_split_list(
    path: DatasetPath, class_names: list[str], canonical: dict[str, str], case_matches: set[str]
) -> list[tuple[str, str]]:
    """(relative path, class name) per line of a train/test list, labels checked."""
    if not path.is_file():
        raise ManifestError(
            f"UCF-101: split file {str(path)!r} not found; expected it beside classInd.txt"
        )
    label_of = {name: index for index, name in enumerate(class_names)}
    entries: list[tuple[str, str]] = []
    unknown: set[str] = set()
    wrong_labels: list[str] = []
    for number, line in enumerate(read_text(str(path), f"UCF-101 {path.name}").split("\n"), 1):
        parts = line.split()
        if not parts:
            continue
        relative = parts[0].replace("\\", "/")
        if len(parts) > 2 or relative.count("/") != 1:
            raise ManifestError(
                f"{path}:{number}: expected 'Class/v_Class_gXX_cYY.avi [LABEL]', got {line!r}"
            )
        folder = relative.split("/")[0]
        class_name = folder if folder in label_of else canonical.get(folder.lower())
        if class_name is None:
            unknown.add(folder)
            continue
        if class_name != folder:
            case_matches.add(f"{folder} -> {class_name}")
        if len(parts) == 2 and (
            not parts[1].isdigit() or int(parts[1]) - 1 != label_of[class_name]
        ):
            wrong_labels.append(f"line {number}: {relative} {parts[1]}")
        entries.append((relative, class_name))
    if unknown:
        raise ManifestError(
            f"{path}: class folder(s) not in classInd.txt: {listing(sorted(unknown))}; "
            "use the split files that came with this classInd.txt"
        )
    if wrong_labels:
        raise ManifestError(
            f"{path}: label(s) disagree with classInd.txt: {listing(wrong_labels, 5)}"
        )
    if not entries:
        raise ManifestError(f"{path} lists no videos")
    return entries


def _index_videos(video_dir: DatasetPath) -> dict[tuple[str, str], DatasetPath]:
    """(class folder, file name), lower-cased, -> the file; one scan of the tree."""
    return {
        (folder.name.lower(), entry.name.lower()): entry
        for folder in visible_dirs(video_dir)
        for entry in visible_files(folder)
    }
