"""Table adapter: a user's CSV or Parquet listing of videos to a manifest."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dance.config import DatasetConfig
from dance.datasets import build_manifest, table_manifest
from dance.manifest import MANIFEST_COLUMNS, ManifestError


def test_a_csv_without_labels_gets_labels_from_sorted_names_and_keeps_extra_columns(
    tmp_path: Path,
) -> None:
    (tmp_path / "videos.csv").write_text(
        "video_id,uri,label_name,split,fps\n"
        "0002,clips/b.mp4,wave,train,25\n"
        "0001,/abs/a.mp4,jump,test,30\n"
    )
    manifest = table_manifest(str(tmp_path / "videos.csv"))
    assert manifest.video_ids == ["0001", "0002"]  # text ids keep their zeros
    assert manifest.class_names == ["jump", "wave"]
    assert manifest.table.column_names == [*MANIFEST_COLUMNS, "fps"]
    assert manifest.table.column("uri").to_pylist() == [
        "/abs/a.mp4",
        str(tmp_path / "clips" / "b.mp4"),  # relative to the table's folder
    ]


def test_a_parquet_table_with_labels_is_checked_against_the_names(tmp_path: Path) -> None:
    table = pa.table(
        {
            "video_id": ["a", "b"],
            "uri": ["/a.mp4", "/b.mp4"],
            "label_name": ["x", "y"],
            "label": [1, 0],
            "split": ["train", "test"],
        }
    )
    pq.write_table(table, tmp_path / "videos.parquet")
    manifest = table_manifest(str(tmp_path / "videos.parquet"))
    assert manifest.class_names == ["y", "x"]
    pq.write_table(table.set_column(3, "label", pa.array([1, 1])), tmp_path / "bad.parquet")
    with pytest.raises(ManifestError, match=r"bad.parquet.*disagree"):
        table_manifest(str(tmp_path / "bad.parquet"))


def test_missing_required_columns_are_listed(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("video_id,path,class\na,/a.mp4,x\n")
    with pytest.raises(ManifestError, match=r"lacks column\(s\) uri, label_name"):
        table_manifest(str(tmp_path / "t.csv"))


def test_without_a_split_column_the_caller_must_name_the_split(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("video_id,uri,label_name\na,/a.mp4,x\n")
    with pytest.raises(ManifestError, match="no split column; add one .* or pass split='train'"):
        table_manifest(str(tmp_path / "t.csv"))
    assert table_manifest(str(tmp_path / "t.csv"), split="test").table.column(
        "split"
    ).to_pylist() == ["test"]


def test_a_given_split_filters_a_table_that_has_one(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(
        "video_id,uri,label_name,split\na,/a.mp4,x,train\nb,/b.mp4,y,test\n"
    )
    manifest = table_manifest(str(tmp_path / "t.csv"), split="test")
    assert manifest.video_ids == ["b"]


def test_build_manifest_reads_the_table_named_by_csv_and_carves_val(tmp_path: Path) -> None:
    rows = "".join(f"v{i},/v{i}.mp4,x,train\n" for i in range(20))
    (tmp_path / "t.csv").write_text("video_id,uri,label_name,split\n" + rows)
    manifest = build_manifest(DatasetConfig(name="table", csv=str(tmp_path / "t.csv")))
    assert (len(manifest.split("train")), len(manifest.split("val"))) == (18, 2)


def test_an_unknown_format_or_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="unknown format; name it .csv, .tsv or .parquet"):
        table_manifest(str(tmp_path / "t.json"))
    with pytest.raises(ManifestError, match="table not found"):
        table_manifest(str(tmp_path / "t.csv"))
