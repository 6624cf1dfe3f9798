"""KTH adapter: file names to actions, the person split, KTH-5, subsequences."""

from __future__ import annotations

from pathlib import Path

import pytest

from dance.config import DatasetConfig
from dance.datasets import KTH5_ACTIONS, KTH_ACTIONS, build_manifest, kth_manifest
from dance.manifest import ManifestError


def _full_kth(root: Path, in_action_folders: bool = True) -> None:
    """All 25 persons x 6 actions x 4 scenarios, less the one file the release lacks."""
    for action in KTH_ACTIONS:
        folder = root / action if in_action_folders else root
        folder.mkdir(parents=True, exist_ok=True)
        for person in range(1, 26):
            for scenario in range(1, 5):
                if (person, action, scenario) == (13, "handclapping", 3):
                    continue
                (folder / f"person{person:02d}_{action}_d{scenario}_uncomp.avi").touch()


def test_the_person_split_gives_sixteen_train_and_nine_test_persons(tmp_path: Path) -> None:
    _full_kth(tmp_path)
    manifest = kth_manifest(str(tmp_path))
    assert manifest.class_names == sorted(KTH_ACTIONS)
    assert (len(manifest.split("train")), len(manifest.split("test"))) == (16 * 24 - 1, 9 * 24)
    splits = dict(zip(manifest.video_ids, manifest.table.column("split").to_pylist(), strict=True))
    assert splits["person01_boxing_d1_uncomp"] == "train"  # a validation person of the paper
    assert splits["person22_boxing_d1_uncomp"] == "test"
    assert splits["person02_walking_d4_uncomp"] == "test"


def test_kth5_keeps_five_actions_and_their_files(tmp_path: Path) -> None:
    _full_kth(tmp_path, in_action_folders=False)
    manifest = build_manifest(
        DatasetConfig(name="kth", root=str(tmp_path), actions=list(KTH5_ACTIONS), val_fraction=0)
    )
    assert manifest.class_names == sorted(KTH5_ACTIONS)
    assert (len(manifest.split("train")), len(manifest.split("test"))) == (16 * 20 - 1, 9 * 20)
    rows = {r["video_id"]: r for r in manifest.table.to_pylist()}
    row = rows["person05_running_d2_uncomp"]
    assert row["label_name"] == "running" and row["label"] == 3
    assert row["uri"] == str(tmp_path / "person05_running_d2_uncomp.avi")


def test_subsequences_give_one_row_per_frame_range(tmp_path: Path) -> None:
    (tmp_path / "person01_boxing_d1_uncomp.avi").touch()
    (tmp_path / "person22_walking_d2_uncomp.avi").touch()
    (tmp_path / "00sequences.txt").write_text(
        "Sequences of KTH\n\n"
        "person01_boxing_d1\t\tframes\t1-95, 96-185, 186-245, 246-360\n"
        "person22_walking_d2\t\tframes\t1-50\n"
    )
    manifest = kth_manifest(str(tmp_path), subsequences=True)
    rows = {row["video_id"]: row for row in manifest.table.to_pylist()}
    assert len(rows) == 5
    assert (rows["person01_boxing_d1_uncomp_s2"]["start_frame"],
            rows["person01_boxing_d1_uncomp_s2"]["end_frame"]) == (95, 185)
    assert rows["person22_walking_d2_uncomp_s1"]["split"] == "test"
    assert rows["person01_boxing_d1_uncomp_s4"]["uri"] == str(
        tmp_path / "person01_boxing_d1_uncomp.avi"
    )


def test_an_unknown_action_in_the_filter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"unknown KTH action\(s\) \['swimming'\]"):
        kth_manifest(str(tmp_path), actions=["walking", "swimming"])


def test_a_file_outside_the_kth_pattern_is_named(tmp_path: Path) -> None:
    (tmp_path / "person01_boxing_d1_uncomp.avi").touch()
    (tmp_path / "holiday.avi").touch()
    with pytest.raises(ManifestError, match=r"not in the KTH pattern.*'holiday.avi'"):
        kth_manifest(str(tmp_path))


def test_a_person_outside_the_split_is_refused(tmp_path: Path) -> None:
    (tmp_path / "person26_boxing_d1_uncomp.avi").touch()
    with pytest.raises(ManifestError, match=r"person\(s\) \['26'\]"):
        kth_manifest(str(tmp_path))


def test_a_wrong_or_empty_root_says_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="not a folder; expected personNN_<action>"):
        kth_manifest(str(tmp_path / "missing"))
    with pytest.raises(ManifestError, match="no videos of walking"):
        kth_manifest(str(tmp_path))
