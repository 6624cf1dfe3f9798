"""Folder adapter: class folders (with or without split folders) to a manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from dance.config import DatasetConfig
from dance.datasets import build_manifest, folder_manifest
from dance.manifest import ManifestError


def _videos(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).touch()


def test_class_folders_give_labels_and_ids_prefixed_by_class(tmp_path: Path) -> None:
    _videos(tmp_path / "wave", [f"{i:03d}.mp4" for i in range(10)])
    _videos(tmp_path / "jump", [f"{i:03d}.avi" for i in range(5)] + ["notes.txt"])
    manifest = folder_manifest(str(tmp_path))
    assert manifest.class_names == ["jump", "wave"]
    assert len(manifest) == 15
    assert "wave__007" in manifest.video_ids and "jump__000" in manifest.video_ids
    # round(0.2 * 10) = 2 and round(0.2 * 5) = 1 test videos per class.
    test_labels = manifest.split("test").table.column("label_name").to_pylist()
    assert sorted(test_labels) == ["jump", "wave", "wave"]


def test_the_test_pick_is_seeded_and_stable(tmp_path: Path) -> None:
    _videos(tmp_path / "wave", [f"{i:03d}.mp4" for i in range(40)])
    first = folder_manifest(str(tmp_path), seed=1)
    again = folder_manifest(str(tmp_path), seed=1)
    other = folder_manifest(str(tmp_path), seed=2)
    assert first.table.equals(again.table)
    assert first.split("test").video_ids != other.split("test").video_ids


def test_split_folders_give_the_split(tmp_path: Path) -> None:
    _videos(tmp_path / "train" / "wave", ["a.mp4", "b.mp4"])
    _videos(tmp_path / "val" / "wave", ["c.mp4"])
    _videos(tmp_path / "test" / "jump", ["d.mp4"])
    manifest = build_manifest(DatasetConfig(name="folder", root=str(tmp_path)))
    splits = dict(zip(manifest.video_ids, manifest.table.column("split").to_pylist(), strict=True))
    assert splits == {"wave__a": "train", "wave__b": "train", "wave__c": "val", "jump__d": "test"}
    assert manifest.class_names == ["jump", "wave"]


def test_the_same_video_in_two_split_folders_is_refused(tmp_path: Path) -> None:
    _videos(tmp_path / "train" / "wave", ["a.mp4"])
    _videos(tmp_path / "test" / "wave", ["a.mp4"])
    with pytest.raises(ManifestError, match=r"several split folders.*wave__a in train\+test"):
        folder_manifest(str(tmp_path))


def test_a_train_folder_without_a_test_folder_is_refused(tmp_path: Path) -> None:
    _videos(tmp_path / "train" / "wave", ["a.mp4"])
    with pytest.raises(ManifestError, match="needs both train/ and test/"):
        folder_manifest(str(tmp_path))


def test_an_empty_class_folder_is_named(tmp_path: Path) -> None:
    _videos(tmp_path / "wave", ["a.mp4"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ManifestError, match=r"with no .mp4/.* files: 'empty'"):
        folder_manifest(str(tmp_path))


def test_extensions_choose_which_files_count(tmp_path: Path) -> None:
    _videos(tmp_path / "wave", ["a.MP4", "b.gif"])
    assert folder_manifest(str(tmp_path), extensions=["gif"], test_fraction=0).video_ids == [
        "wave__b"
    ]


def test_a_wrong_or_empty_root_says_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"not a folder; expected <class>/<video>"):
        folder_manifest(str(tmp_path / "missing"))
    with pytest.raises(ManifestError, match="no class folders"):
        folder_manifest(str(tmp_path))
