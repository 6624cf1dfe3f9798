"""HAA500 / HAA-100 adapter: clip names to classes, the 16/4 per-class split, the subset."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dance.config import DatasetConfig
from dance.datasets import build_manifest, haa500_manifest
from dance.manifest import ManifestError


def _flat(root: Path, classes: list[str], clips: int = 20) -> None:
    """The release layout: root/video/<class>_<NNN>.mp4, written in reverse index order.

    Clips are hard links to one empty file (far cheaper than new inodes on a busy disk).
    """
    (root / "video").mkdir(parents=True, exist_ok=True)
    empty = root / ".empty"
    empty.touch()
    for name in classes:
        for index in reversed(range(clips)):
            os.link(empty, root / "video" / f"{name}_{index:03d}.mp4")


def test_first_sixteen_clips_by_index_are_train_and_the_next_four_test(tmp_path: Path) -> None:
    _flat(tmp_path, ["baseball_swing", "abseiling"])
    manifest = haa500_manifest(str(tmp_path))
    assert manifest.class_names == ["abseiling", "baseball_swing"]
    train = manifest.split("train").video_ids
    test = manifest.split("test").video_ids
    assert len(train) == 32 and len(test) == 8
    assert [v for v in test if v.startswith("baseball_swing")] == [
        f"baseball_swing_{i:03d}" for i in range(16, 20)
    ]
    row = next(r for r in manifest.table.to_pylist() if r["video_id"] == "baseball_swing_003")
    assert row["label_name"] == "baseball_swing" and row["label"] == 1
    assert row["uri"] == str(tmp_path / "video" / "baseball_swing_003.mp4")


def test_indices_sort_numerically_not_as_text(tmp_path: Path) -> None:
    (tmp_path / "video").mkdir()
    for index in range(1, 21):  # 1..20 unpadded: as text "10" < "2"
        (tmp_path / "video" / f"jump_{index}.mp4").touch()
    manifest = haa500_manifest(str(tmp_path))
    assert sorted(manifest.split("test").video_ids) == ["jump_17", "jump_18", "jump_19", "jump_20"]


def test_class_folders_are_read_as_well(tmp_path: Path) -> None:
    for name in ("push_up", "sit_up"):
        (tmp_path / name).mkdir()
        for index in range(20):
            stem = f"{index:03d}" if name == "push_up" else f"{name}_{index:03d}"
            (tmp_path / name / f"{stem}.mp4").touch()
    manifest = haa500_manifest(str(tmp_path))
    assert manifest.class_names == ["push_up", "sit_up"]
    assert "push_up_019" in manifest.split("test").video_ids
    assert "sit_up_000" in manifest.split("train").video_ids


def test_haa100_takes_the_first_hundred_sorted_classes(tmp_path: Path) -> None:
    classes = [f"class_{i:03d}" for i in range(102)]
    _flat(tmp_path, classes)
    manifest = build_manifest(DatasetConfig(name="haa100", root=str(tmp_path), val_fraction=0))
    assert manifest.class_names == classes[:100]
    assert (len(manifest.split("train")), len(manifest.split("test"))) == (1600, 400)


def test_haa100_classes_can_come_from_a_file(tmp_path: Path) -> None:
    _flat(tmp_path, ["a", "b", "c"])
    classes_file = tmp_path / "haa100.txt"
    classes_file.write_text("# my subset\nc\n\na\n")
    manifest = haa500_manifest(str(tmp_path), subset="haa100", classes_file=str(classes_file))
    assert manifest.class_names == ["a", "c"]


def test_a_classes_file_naming_an_absent_class_is_refused(tmp_path: Path) -> None:
    _flat(tmp_path, ["a"])
    classes_file = tmp_path / "haa100.txt"
    classes_file.write_text("a\nzzz\n")
    with pytest.raises(ManifestError, match="names class.*with no clips: 'zzz'"):
        haa500_manifest(str(tmp_path), subset="haa100", classes_file=str(classes_file))


def test_haa100_without_a_hundred_classes_is_refused(tmp_path: Path) -> None:
    _flat(tmp_path, ["a", "b"])
    with pytest.raises(ManifestError, match="first 100 classes but only 2"):
        haa500_manifest(str(tmp_path), subset="haa100")


def test_a_class_without_twenty_clips_is_named(tmp_path: Path) -> None:
    _flat(tmp_path, ["full"])
    _flat(tmp_path, ["short"], clips=19)
    with pytest.raises(ManifestError, match=r"needs 20 clips per class.*'short: 19'"):
        haa500_manifest(str(tmp_path))


def test_a_clip_without_an_index_is_named(tmp_path: Path) -> None:
    _flat(tmp_path, ["a"])
    (tmp_path / "video" / "trailer.mp4").touch()
    with pytest.raises(ManifestError, match=r"without a clip index.*'trailer.mp4'"):
        haa500_manifest(str(tmp_path))


def test_a_wrong_or_empty_root_says_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"not a folder; expected video/<class>_<NNN>.mp4"):
        haa500_manifest(str(tmp_path / "missing"))
    with pytest.raises(ManifestError, match="no clips under"):
        haa500_manifest(str(tmp_path))
