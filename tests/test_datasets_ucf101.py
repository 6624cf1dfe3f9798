"""UCF-101 adapter: official split files to a manifest, on fake layouts of empty files."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from dance.config import DatasetConfig
from dance.datasets import build_manifest, ucf101_manifest
from dance.manifest import ManifestError


def _write_layout(
    root: Path,
    train: dict[str, list[str]],
    test: dict[str, list[str]],
    class_names: list[str] | None = None,
    lists_dir: str = "ucfTrainTestlist",
    videos_dir: str = "UCF-101",
    split: int = 1,
) -> None:
    """classInd + train/test lists (CRLF, as released) and an empty .avi per listed clip.

    The clips are hard links to one empty file: creating 13320 new inodes takes up to half a
    minute on a busy disk, linking well under a second, and the adapter only needs the names.
    """
    class_names = class_names or sorted({*train, *test})
    lists = root / lists_dir
    lists.mkdir(parents=True, exist_ok=True)
    (lists / "classInd.txt").write_text(
        "".join(f"{i} {name}\r\n" for i, name in enumerate(class_names, 1))
    )
    label = {name: i for i, name in enumerate(class_names, 1)}
    (lists / f"trainlist0{split}.txt").write_text(
        "".join(f"{c}/{f} {label[c]}\r\n" for c, files in train.items() for f in files)
    )
    (lists / f"testlist0{split}.txt").write_text(
        "".join(f"{c}/{f}\r\n" for c, files in test.items() for f in files)
    )
    empty = root / ".empty"
    empty.touch()
    for listing in (train, test):
        for class_name, files in listing.items():
            folder = root / videos_dir / class_name
            folder.mkdir(parents=True, exist_ok=True)
            for name in files:
                os.link(empty, folder / name)


def _clips(class_name: str, groups: range, clips: int = 2) -> list[str]:
    return [f"v_{class_name}_g{g:02d}_c{c:02d}.avi" for g in groups for c in range(1, clips + 1)]


def test_full_size_split_one_has_the_official_counts_and_needs_no_decoding(
    tmp_path: Path,
) -> None:
    # 9537 = 101 * 94 + 43 and 3783 = 101 * 37 + 46: spread the remainders over the classes.
    class_names = [f"Action{i:03d}" for i in range(100)] + ["HandstandPushups"]
    train, test = {}, {}
    for index, name in enumerate(class_names):
        stem = "HandStandPushups" if name == "HandstandPushups" else name
        n_train = 94 + (index < 43)
        n_test = 37 + (index < 46)
        train[name] = [f"v_{stem}_g{8 + i // 6:02d}_c{1 + i % 6:02d}.avi" for i in range(n_train)]
        test[name] = [f"v_{stem}_g{1 + i // 6:02d}_c{1 + i % 6:02d}.avi" for i in range(n_test)]
    _write_layout(tmp_path, train, test, class_names)

    started = time.perf_counter()
    manifest = build_manifest(DatasetConfig(name="ucf101", root=str(tmp_path)))
    elapsed = time.perf_counter() - started

    assert len(manifest.class_names) == 101
    assert len(manifest.split("train")) + len(manifest.split("val")) == 9537
    assert len(manifest.split("test")) == 3783
    assert len(manifest.split("val")) > 0
    assert "v_HandStandPushups_g08_c01" in manifest.video_ids
    assert elapsed < 10, f"indexing 13320 clips took {elapsed:.1f} s"


def test_labels_come_from_class_ind_zero_based_and_video_ids_are_file_stems(
    tmp_path: Path,
) -> None:
    _write_layout(
        tmp_path,
        train={"Basketball": _clips("Basketball", range(8, 10))},
        test={"ApplyEyeMakeup": _clips("ApplyEyeMakeup", range(1, 2))},
        class_names=["Basketball", "ApplyEyeMakeup"],
    )
    manifest = ucf101_manifest(str(tmp_path))
    rows = {row["video_id"]: row for row in manifest.table.to_pylist()}
    assert manifest.class_names == ["Basketball", "ApplyEyeMakeup"]
    assert rows["v_Basketball_g08_c01"]["label"] == 0
    assert rows["v_Basketball_g08_c01"]["split"] == "train"
    assert rows["v_ApplyEyeMakeup_g01_c02"]["label"] == 1
    assert rows["v_ApplyEyeMakeup_g01_c02"]["split"] == "test"
    assert rows["v_ApplyEyeMakeup_g01_c02"]["uri"] == str(
        tmp_path / "UCF-101" / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g01_c02.avi"
    )
    assert len(manifest) == 6


def test_split_files_and_class_folders_may_sit_directly_in_the_root(tmp_path: Path) -> None:
    _write_layout(
        tmp_path,
        train={"Drumming": _clips("Drumming", range(8, 9))},
        test={"Drumming": _clips("Drumming", range(1, 2))},
        lists_dir=".",
        videos_dir=".",
    )
    manifest = ucf101_manifest(str(tmp_path))
    assert [len(manifest.split(s)) for s in ("train", "test")] == [2, 2]


def test_split_two_reads_the_second_list_files(tmp_path: Path) -> None:
    _write_layout(
        tmp_path,
        train={"Rowing": _clips("Rowing", range(1, 4))},
        test={"Rowing": _clips("Rowing", range(4, 5))},
        split=2,
    )
    assert len(ucf101_manifest(str(tmp_path), split=2).split("train")) == 6
    with pytest.raises(ManifestError, match="trainlist01.txt"):
        ucf101_manifest(str(tmp_path), split=1)


def test_class_folder_case_mismatches_are_matched_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write_layout(
        tmp_path,
        train={"HandstandPushups": ["v_HandStandPushups_g08_c01.avi"]},
        test={"HandstandPushups": ["v_HandStandPushups_g01_c01.avi"]},
    )
    train_list = tmp_path / "ucfTrainTestlist" / "trainlist01.txt"
    train_list.write_text("HandStandPushups/v_HandStandPushups_g08_c01.avi 1\r\n")
    with caplog.at_level(logging.WARNING, logger="dance.datasets"):
        manifest = ucf101_manifest(str(tmp_path))
    assert manifest.class_names == ["HandstandPushups"]
    assert len(manifest.split("train")) == 1
    assert "HandStandPushups -> HandstandPushups" in caplog.text


def test_a_split_number_other_than_one_to_three_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="split must be 1, 2 or 3"):
        ucf101_manifest(str(tmp_path), split=4)


def test_a_wrong_root_names_the_path_and_what_belongs_there(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"not a folder; expected ucfTrainTestlist/"):
        ucf101_manifest(str(tmp_path / "nope"))
    with pytest.raises(ManifestError, match="no classInd.txt in"):
        ucf101_manifest(str(tmp_path))


def test_an_unknown_class_in_a_split_file_is_named(tmp_path: Path) -> None:
    _write_layout(tmp_path, {"Rowing": _clips("Rowing", range(8, 9))}, {})
    test_list = tmp_path / "ucfTrainTestlist" / "testlist01.txt"
    test_list.write_text("Surfing/v_Surfing_g01_c01.avi\n")
    with pytest.raises(ManifestError, match=r"testlist01.txt: class folder\(s\) not in classInd"):
        ucf101_manifest(str(tmp_path))


def test_missing_videos_are_listed_with_their_count(tmp_path: Path) -> None:
    _write_layout(
        tmp_path,
        {"Rowing": _clips("Rowing", range(8, 10))},
        {"Rowing": _clips("Rowing", range(1, 2))},
    )
    (tmp_path / "UCF-101" / "Rowing" / "v_Rowing_g09_c02.avi").unlink()
    with pytest.raises(ManifestError, match=r"1 video\(s\) listed but not found.*g09_c02"):
        ucf101_manifest(str(tmp_path))


def test_a_train_label_disagreeing_with_class_ind_is_refused(tmp_path: Path) -> None:
    _write_layout(
        tmp_path,
        {"Rowing": _clips("Rowing", range(8, 9)), "Surfing": _clips("Surfing", range(8, 9))},
        {"Rowing": _clips("Rowing", range(1, 2))},
    )
    train_list = tmp_path / "ucfTrainTestlist" / "trainlist01.txt"
    train_list.write_text("Rowing/v_Rowing_g08_c01.avi 2\n")
    with pytest.raises(ManifestError, match="label.*disagree with classInd"):
        ucf101_manifest(str(tmp_path))
