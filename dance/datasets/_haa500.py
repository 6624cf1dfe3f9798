"""HAA500 (v1.1) and its HAA-100 subset.

Assumptions, from the HAA500 v1.1 release and the DANCE paper:

- Layout ``root/video/<class>_<NNN>.mp4`` (the release), or class folders
  ``root/<class>/<class>_<NNN>.mp4`` (or ``root/<class>/<NNN>.mp4``). Class names may contain
  underscores; the clip index is the trailing ``_NNN``. video_id is ``<class>_<NNN>`` with the
  index digits as written, i.e. the release's file stem.
- Every class has 20 clips; sorted by index, the first 16 are train and the next 4 test
  (8000 / 2000 for HAA500, 1600 / 400 for HAA-100). A class with another count is an error,
  since the standard split would be ill-defined.
- HAA-100 is the first 100 class names in sorted order, unless ``classes_file`` lists them
  (one name per line; blank lines and ``#`` comments ignored).
"""

from __future__ import annotations

import re
from typing import Literal

from dance.datasets._common import (
    VIDEO_EXTENSIONS,
    DatasetPath,
    dataset_root,
    files_with_suffix,
    listing,
    read_text,
    visible_dirs,
)
from dance.manifest import Manifest, ManifestError, ManifestRecord

HAA_TRAIN_PER_CLASS = 16
HAA_TEST_PER_CLASS = 4
HAA100_NUM_CLASSES = 100

_INDEXED_STEM = re.compile(r"^(?P<name>.+)_(?P<index>\d+)$")
_EXPECTED = "video/<class>_<NNN>.mp4 or <class>/<class>_<NNN>.mp4 there"


def haa500_manifest(
    root: str,
    subset: Literal["haa500", "haa100"] = "haa500",
    classes_file: str | None = None,
) -> Manifest:
    """HAA500 or HAA-100 with the standard per-class split (first 16 train, next 4 test)."""
    if subset not in ("haa500", "haa100"):
        raise ManifestError(f"HAA500 subset must be 'haa500' or 'haa100', got {subset!r}")
    if classes_file is not None and subset != "haa100":
        raise ManifestError(
            "classes_file selects the HAA-100 classes; pass subset='haa100' with it "
            "(or drop classes_file for the full HAA500)"
        )
    base = dataset_root(root, "HAA500", _EXPECTED)
    clips = _scan(base)
    if not clips:
        raise ManifestError(f"HAA500: no clips under {str(base)!r}; expected {_EXPECTED}")
    classes = _selected_classes(sorted(clips), subset, classes_file)
    wrong_sizes = [
        f"{name}: {len(clips[name])}"
        for name in classes
        if len(clips[name]) != HAA_TRAIN_PER_CLASS + HAA_TEST_PER_CLASS
    ]
    if wrong_sizes:
        raise ManifestError(
            f"HAA500: the standard split needs {HAA_TRAIN_PER_CLASS + HAA_TEST_PER_CLASS} clips "
            f"per class ({HAA_TRAIN_PER_CLASS} train + {HAA_TEST_PER_CLASS} test); these "
            f"classes differ: {listing(wrong_sizes)}. Restore the missing clips "
            "or build a folder manifest (name: folder) for a custom split"
        )
    records: list[ManifestRecord] = []
    for name in classes:
        ordered = sorted(clips[name], key=lambda clip: (int(clip[0]), clip[0]))
        for position, (digits, path) in enumerate(ordered):
            records.append(
                ManifestRecord(
                    video_id=f"{name}_{digits}",
                    uri=str(path),
                    label_name=name,
                    split="train" if position < HAA_TRAIN_PER_CLASS else "test",
                )
            )
    return Manifest.from_records(records, class_names=classes)


def _scan(base: DatasetPath) -> dict[str, list[tuple[str, DatasetPath]]]:
    """Class name -> [(index digits, path)] from either layout."""
    clips: dict[str, list[tuple[str, DatasetPath]]] = {}
    unparsed: list[str] = []
    flat = base / "video"
    if flat.is_dir():
        for path in files_with_suffix(flat, VIDEO_EXTENSIONS):
            match = _INDEXED_STEM.match(path.stem)
            if match is None:
                unparsed.append(path.name)
                continue
            clips.setdefault(match["name"], []).append((match["index"], path))
        where = "video/<class>_<NNN>.mp4"
    else:
        for folder in visible_dirs(base):
            for path in files_with_suffix(folder, VIDEO_EXTENSIONS):
                match = _INDEXED_STEM.match(path.stem)
                if path.stem.isdigit():
                    digits = path.stem
                elif match is not None and match["name"] == folder.name:
                    digits = match["index"]
                else:
                    unparsed.append(f"{folder.name}/{path.name}")
                    continue
                clips.setdefault(folder.name, []).append((digits, path))
        where = "<class>/<class>_<NNN>.mp4 or <class>/<NNN>.mp4"
    if unparsed:
        raise ManifestError(
            f"HAA500: file name(s) without a clip index under {str(base)!r}: "
            f"{listing(unparsed)}; expected {where}"
        )
    return clips


def _selected_classes(
    available: list[str], subset: str, classes_file: str | None
) -> list[str]:
    """All classes for HAA500; the HAA-100 list (file, or the first 100 sorted) otherwise."""
    if subset == "haa500":
        return available
    if classes_file is None:
        if len(available) < HAA100_NUM_CLASSES:
            raise ManifestError(
                f"HAA-100 takes the first {HAA100_NUM_CLASSES} classes but only "
                f"{len(available)} were found; check the root or pass classes_file"
            )
        return available[:HAA100_NUM_CLASSES]
    wanted = [
        line.strip()
        for line in read_text(classes_file, "HAA-100 classes_file").split("\n")
        if line.strip() and not line.strip().startswith("#")
    ]
    if not wanted:
        raise ManifestError(f"classes_file {classes_file!r} lists no classes (one per line)")
    duplicates = sorted({name for name in wanted if wanted.count(name) > 1})
    if duplicates:
        raise ManifestError(f"classes_file {classes_file!r} repeats {listing(duplicates)}")
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        raise ManifestError(
            f"classes_file {classes_file!r} names class(es) with no clips: {listing(unknown)}; "
            "fix the names (they are HAA500 class names such as the folder/file prefixes)"
        )
    return sorted(wanted)
