"""Any dataset laid out as class folders: ``root/<class>/*.mp4`` or ``root/<split>/<class>/*``.

With ``train/`` and ``test/`` folders (``val/`` optional) the folders give the split; otherwise
``test_fraction`` of each class becomes test, picked by a seeded hash of the video_id (so the
pick does not depend on listing order, and adding videos to one class leaves the others'
pick alone). video_id is ``<class>__<stem>``: file stems often repeat across classes
("001.mp4"), the class prefix makes them unique, and the double underscore keeps the id a
single path segment. Only files directly inside a class folder count; hidden entries are
skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from dance.datasets._common import (
    VIDEO_EXTENSIONS,
    DatasetPath,
    dataset_root,
    files_with_suffix,
    listing,
    visible_dirs,
)
from dance.manifest import Manifest, ManifestError, ManifestRecord, stratified_pick

_SPLIT_FOLDERS = ("train", "val", "test")


def folder_manifest(
    root: str,
    test_fraction: float = 0.2,
    seed: int = 0,
    extensions: Sequence[str] = VIDEO_EXTENSIONS,
) -> Manifest:
    """Class-folder dataset; split from train/ val/ test/ folders, else a seeded per-class cut."""
    if not isinstance(test_fraction, (int, float)) or not 0 <= test_fraction < 1:
        raise ManifestError(f"test_fraction must be in [0, 1), got {test_fraction!r}")
    if isinstance(extensions, str) or not extensions:
        raise ManifestError(
            f"extensions must be a list of suffixes like ['.mp4'], got {extensions!r}"
        )
    extensions = tuple(e if e.startswith(".") else f".{e}" for e in extensions)
    base = dataset_root(root, "folder dataset", "<class>/<video> or train/<class>/<video> there")
    present = [name for name in _SPLIT_FOLDERS if (base / name).is_dir()]
    if present and not {"train", "test"} <= set(present):
        raise ManifestError(
            f"folder dataset {str(base)!r} has {'/, '.join(present)}/ but a split layout needs "
            "both train/ and test/ (val/ optional); add the missing folder, or rename the "
            "class folders so none is called train, val or test"
        )
    if present:
        records: list[ManifestRecord] = []
        for split in present:
            records.extend(_class_folder_records(base / split, split, extensions))
        splits_of: dict[str, list[str]] = {}
        for record in records:
            splits_of.setdefault(record.video_id, []).append(record.split)
        leaks = sorted(
            f"{video_id} in {'+'.join(s)}" for video_id, s in splits_of.items() if len(s) > 1
        )
        if leaks:
            raise ManifestError(
                f"folder dataset {str(base)!r}: the same class/file name sits in several split "
                f"folders: {listing(leaks)}; keep each video in one split"
            )
    else:
        records = _class_folder_records(base, "train", extensions)
        by_class: dict[str, list[str]] = {}
        for record in records:
            by_class.setdefault(record.label_name, []).append(record.video_id)
        test_ids = stratified_pick(by_class, test_fraction, seed)
        records = [
            replace(record, split="test") if record.video_id in test_ids else record
            for record in records
        ]
    return Manifest.from_records(records)


def _class_folder_records(
    folder: DatasetPath, split: str, extensions: tuple[str, ...]
) -> list[ManifestRecord]:
    """One record per video in ``folder/<class>/``; empty class folders are errors."""
    class_dirs = visible_dirs(folder)
    if not class_dirs:
        raise ManifestError(
            f"folder dataset: no class folders in {str(folder)!r}; expected <class>/<video> "
            f"with extensions {', '.join(extensions)}"
        )
    records: list[ManifestRecord] = []
    empty: list[str] = []
    for class_dir in class_dirs:
        videos = files_with_suffix(class_dir, extensions)
        if not videos:
            empty.append(class_dir.name)
        records.extend(
            ManifestRecord(f"{class_dir.name}__{video.stem}", str(video), class_dir.name, split)
            for video in videos
        )
    if empty:
        raise ManifestError(
            f"folder dataset: class folder(s) in {str(folder)!r} with no "
            f"{'/'.join(extensions)} files: {listing(empty)}; add videos, remove the folders, "
            "or pass extensions"
        )
    return records
