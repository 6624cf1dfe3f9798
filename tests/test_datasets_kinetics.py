"""Kinetics adapter: CSV rows to clip names, split mapping, and missing-clip handling."""

from __future__ import annotations

from pathlib import Path

import pytest

from dance import storage
from dance.config import DatasetConfig
from dance.datasets import build_manifest, kinetics_manifest
from dance.manifest import ManifestError

HEADER = "label,youtube_id,time_start,time_end,split\n"


def _csv(path: Path, rows: list[str], header: str = HEADER) -> str:
    path.write_text(header + "".join(f"{row}\n" for row in rows))
    return str(path)


def _clip(root: Path, relative: str) -> None:
    (root / relative).parent.mkdir(parents=True, exist_ok=True)
    (root / relative).touch()


def test_clip_names_follow_the_downloader_and_validate_becomes_test(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    _clip(videos, "abseiling/abc_000010_000020.mp4")
    _clip(videos, "air_drumming/xyz_000003_000013.mp4")  # spaces as underscores
    _clip(videos, "q-1_000000_000010.mp4")  # flat layout
    csv = _csv(
        tmp_path / "k.csv",
        [
            "abseiling,abc,10,20,train",
            "air drumming,xyz,3,13,validate",
            '"passing American football (in game)",q-1,0,10,val',
        ],
    )
    manifest = kinetics_manifest(csv, str(videos))
    rows = {row["video_id"]: row for row in manifest.table.to_pylist()}
    assert manifest.class_names == [
        "abseiling",
        "air drumming",
        "passing American football (in game)",
    ]
    assert rows["abc_000010_000020"]["split"] == "train"
    assert rows["xyz_000003_000013"]["split"] == "test"
    assert rows["q-1_000000_000010"]["split"] == "test"
    assert rows["xyz_000003_000013"]["uri"] == str(videos / "air_drumming/xyz_000003_000013.mp4")
    assert rows["q-1_000000_000010"]["label"] == 2


def test_missing_clips_are_one_error_with_the_count_unless_skipped(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    _clip(videos, "a/have_000000_000010.mp4")
    rows = ["a,have,0,10,train"] + [f"a,gone{i},0,10,train" for i in range(12)]
    csv = _csv(tmp_path / "k.csv", rows)
    with pytest.raises(ManifestError, match=r"12 video\(s\) listed.*and 2 more \(12 in all\)"):
        kinetics_manifest(csv, str(videos))
    assert kinetics_manifest(csv, str(videos), skip_missing=True).video_ids == [
        "have_000000_000010"
    ]


def test_split_keeps_one_kinetics_split_and_labels_stay_shared(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    _clip(videos, "b/one_000000_000010.mp4")
    _clip(videos, "a/two_000001_000011.mp4")
    csv = _csv(tmp_path / "k.csv", ["b,one,0,10,train", "a,two,1,11,validate"])
    manifest = kinetics_manifest(csv, str(videos), split="val")
    assert manifest.video_ids == ["two_000001_000011"]
    assert manifest.class_names == ["a", "b"]


def test_several_csvs_make_one_manifest(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    _clip(videos, "a/one_000000_000010.mp4")
    _clip(videos, "a/two_000000_000010.mp4")
    train = _csv(tmp_path / "train.csv", ["a,one,0,10,train"])
    validate = _csv(tmp_path / "validate.csv", ["a,two,0,10,validate"])
    manifest = kinetics_manifest([train, validate], str(videos))
    assert [len(manifest.split(s)) for s in ("train", "test")] == [1, 1]


def test_a_csv_without_a_split_column_needs_the_split_named(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    _clip(videos, "a/one_000000_000010.mp4")
    csv = _csv(tmp_path / "k.csv", ["a,one,0,10"], header="label,youtube_id,time_start,time_end\n")
    with pytest.raises(ManifestError, match="has no split column; pass split='train'"):
        kinetics_manifest(csv, str(videos))
    assert kinetics_manifest(csv, str(videos), split="train").video_ids == ["one_000000_000010"]


def test_an_unlabeled_csv_is_refused_naming_the_column(tmp_path: Path) -> None:
    header = "youtube_id,time_start,time_end,split\n"
    csv = _csv(tmp_path / "test.csv", ["one,0,10,test"], header=header)
    with pytest.raises(ManifestError, match=r"lacks column\(s\) label"):
        kinetics_manifest(csv, str(tmp_path))


def test_build_manifest_reads_csv_and_videos_root_from_the_config(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    for i in range(10):
        _clip(videos, f"a/v{i}_000000_000010.mp4")
    csv = _csv(tmp_path / "k.csv", [f"a,v{i},0,10,train" for i in range(10)])
    manifest = build_manifest(DatasetConfig(name="kinetics", csv=csv, root=str(videos)))
    assert (len(manifest.split("train")), len(manifest.split("val"))) == (9, 1)


def test_a_wrong_videos_root_or_csv_is_named(tmp_path: Path) -> None:
    csv = _csv(tmp_path / "k.csv", ["a,one,0,10,train"])
    with pytest.raises(ManifestError, match=r"Kinetics videos_root: root .*nowhere.* is not a folder"):
        kinetics_manifest(csv, str(tmp_path / "nowhere"))
    with pytest.raises(ManifestError, match="Kinetics CSV not found"):
        kinetics_manifest(str(tmp_path / "none.csv"), str(tmp_path))


@pytest.mark.s3
def test_csv_and_clips_on_s3_are_found_by_listing_the_prefix(s3_bucket: str) -> None:
    storage.write_bytes(f"{s3_bucket}/k/train.csv", (HEADER + "a,one,0,10,train\n").encode())
    storage.write_bytes(f"{s3_bucket}/k/videos/a/one_000000_000010.mp4", b"")
    manifest = kinetics_manifest(f"{s3_bucket}/k/train.csv", f"{s3_bucket}/k/videos")
    assert manifest.table.column("uri").to_pylist() == [
        f"{s3_bucket}/k/videos/a/one_000000_000010.mp4"
    ]
