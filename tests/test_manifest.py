"""The manifest: validation, label assignment, val carving, relative uris, atomic writes."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dance import storage
from dance.manifest import (
    MANIFEST_COLUMNS,
    Manifest,
    ManifestError,
    ManifestRecord,
)


def _records(counts: dict[str, int], split: str = "train") -> list[ManifestRecord]:
    """``counts[class]`` records per class with ids '<class>_<i>' and uris '/v/<id>.mp4'."""
    return [
        ManifestRecord(f"{name}_{i:02d}", f"/v/{name}_{i:02d}.mp4", name, split)
        for name, count in counts.items()
        for i in range(count)
    ]


def _table(**columns: list) -> pa.Table:
    base = {
        "video_id": ["a", "b"],
        "uri": ["/v/a.mp4", "/v/b.mp4"],
        "label": pa.array([0, 1], pa.int64()),
        "label_name": ["cat", "dog"],
        "split": ["train", "test"],
    }
    base.update(columns)
    return pa.table(base)


# -- construction and validation ------------------------------------------------------------


def test_from_records_labels_index_the_sorted_class_names_and_rows_sort_by_video_id() -> None:
    manifest = Manifest.from_records(
        [
            ManifestRecord("z1", "/v/z1.mp4", "zebra", "train"),
            ManifestRecord("a1", "/v/a1.mp4", "ant", "test"),
            ManifestRecord("m1", "/v/m1.mp4", "zebra", "train"),
        ]
    )
    assert manifest.class_names == ["ant", "zebra"]
    assert manifest.video_ids == ["a1", "m1", "z1"]
    assert manifest.table.column("label").to_pylist() == [0, 1, 1]
    assert manifest.table.column_names == list(MANIFEST_COLUMNS)
    assert manifest.table.schema.field("label").type == pa.int32()
    assert len(manifest) == 3


def test_from_records_follows_a_given_class_order() -> None:
    manifest = Manifest.from_records(_records({"b": 1, "a": 1}), class_names=["b", "a", "c"])
    assert manifest.class_names == ["b", "a", "c"]
    labels = manifest.table.column("label").to_pylist()
    assert dict(zip(manifest.video_ids, labels, strict=True)) == {"a_00": 1, "b_00": 0}


def test_from_records_refuses_an_empty_manifest() -> None:
    with pytest.raises(ManifestError, match="empty"):
        Manifest.from_records([])


def test_duplicate_video_ids_are_listed() -> None:
    records = _records({"a": 2}) + [ManifestRecord("a_01", "/elsewhere.mp4", "a", "test")]
    with pytest.raises(ManifestError, match=r"unique.*'a_01'"):
        Manifest.from_records(records)


def test_unknown_split_names_the_video() -> None:
    with pytest.raises(ManifestError, match=r"split must be one of train, val, test.*x: valid"):
        Manifest.from_records([ManifestRecord("x", "/x.mp4", "a", "valid")])


def test_label_name_outside_the_class_names_is_named() -> None:
    with pytest.raises(ManifestError, match=r"not among the 1 class names: 'b'"):
        Manifest.from_records(_records({"a": 1, "b": 1}), class_names=["a"])


def test_extra_columns_follow_their_records_and_sit_after_the_manifest_columns() -> None:
    records = [
        ManifestRecord("b", "/b.mp4", "x", "train"),
        ManifestRecord("a", "/a.mp4", "x", "train"),
    ]
    manifest = Manifest.from_records(records, extra={"start_frame": [20, 10]})
    assert manifest.table.column_names == [*MANIFEST_COLUMNS, "start_frame"]
    assert manifest.table.column("start_frame").to_pylist() == [10, 20]


def test_extra_column_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ManifestError, match="extra column 'fps' has 1 values for 2 records"):
        Manifest.from_records(_records({"a": 2}), extra={"fps": [25.0]})


def test_from_table_derives_class_names_from_label_pairs_and_casts_label() -> None:
    manifest = Manifest.from_table(_table())
    assert manifest.class_names == ["cat", "dog"]
    assert manifest.table.schema.field("label").type == pa.int32()


def test_from_table_names_a_missing_column() -> None:
    with pytest.raises(ManifestError, match="missing column.*split"):
        Manifest.from_table(_table().drop_columns(["split"]))


def test_from_table_rejects_a_label_that_disagrees_with_its_name() -> None:
    table = _table(
        video_id=["a", "b", "c"],
        uri=["/a", "/b", "/c"],
        label=[0, 1, 1],
        label_name=["cat", "dog", "cat"],
        split=["train", "train", "test"],
    )
    with pytest.raises(ManifestError, match=r"label and label_name disagree.*c: label 1"):
        Manifest.from_table(table)


def test_from_table_rejects_label_gaps_when_no_class_list_is_stored() -> None:
    with pytest.raises(ManifestError, match=r"0..C-1 without gaps.*missing label\(s\) 1"):
        Manifest.from_table(_table(label=[0, 2]))


def test_from_table_rejects_numeric_video_ids() -> None:
    with pytest.raises(ManifestError, match="'video_id' must hold strings, got int64"):
        Manifest.from_table(_table(video_id=[1, 2]))


def test_from_table_names_null_values() -> None:
    with pytest.raises(ManifestError, match=r"'uri' has 1 null value.*'b'"):
        Manifest.from_table(_table(uri=["/a.mp4", None]))


# -- splits ---------------------------------------------------------------------------------


def test_split_keeps_the_class_list_even_when_a_class_is_absent() -> None:
    manifest = Manifest.from_records(_records({"a": 2}) + _records({"b": 1}, split="test"))
    test = manifest.split("test")
    assert test.video_ids == ["b_00"]
    assert test.class_names == ["a", "b"]
    assert test.table.column("label").to_pylist() == [1]
    assert len(manifest.split("val")) == 0


def test_split_refuses_an_unknown_name() -> None:
    manifest = Manifest.from_records(_records({"a": 1}))
    with pytest.raises(ManifestError, match="unknown split 'validation'"):
        manifest.split("validation")


def test_validation_split_is_stratified_per_class() -> None:
    manifest = Manifest.from_records(
        _records({"big": 40, "mid": 5, "pair": 2, "single": 1})
        + [ManifestRecord("t", "/t.mp4", "big", "test")]
    )
    carved = manifest.with_validation_split(0.1, seed=0)
    val = carved.split("val")
    per_class = {
        name: val.table.column("label_name").to_pylist().count(name) for name in carved.class_names
    }
    # round(4.0)=4; round(0.5)->0 but >= 1 with >= 2 videos; a pair gives 1; a single gives 0.
    assert per_class == {"big": 4, "mid": 1, "pair": 1, "single": 0}
    assert carved.split("test").video_ids == ["t"]
    assert len(carved) == len(manifest)


def test_validation_split_is_the_same_whatever_the_input_row_order() -> None:
    records = _records({"a": 30, "b": 17})
    shuffled = records[:]
    random.Random(3).shuffle(shuffled)
    first = Manifest.from_records(records).with_validation_split(0.2, seed=5)
    second = Manifest.from_records(shuffled).with_validation_split(0.2, seed=5)
    assert first.split("val").video_ids == second.split("val").video_ids
    assert first.table.equals(second.table)


def test_validation_split_depends_on_the_seed() -> None:
    manifest = Manifest.from_records(_records({"a": 50}))
    picks = {
        tuple(manifest.with_validation_split(0.2, seed=seed).split("val").video_ids)
        for seed in (0, 1)
    }
    assert len(picks) == 2


def test_validation_split_with_fraction_zero_changes_nothing() -> None:
    manifest = Manifest.from_records(_records({"a": 5}))
    assert manifest.with_validation_split(0.0).table.equals(manifest.table)


def test_validation_split_refuses_to_carve_a_second_val_split() -> None:
    manifest = Manifest.from_records(_records({"a": 5}) + _records({"b": 2}, split="val"))
    with pytest.raises(ManifestError, match=r"already has 2 val videos.*fraction=0"):
        manifest.with_validation_split(0.1)


def test_validation_split_refuses_a_fraction_outside_zero_to_one() -> None:
    manifest = Manifest.from_records(_records({"a": 5}))
    with pytest.raises(ManifestError, match=r"fraction must be in \[0, 1\)"):
        manifest.with_validation_split(1.0)


# -- reading and writing --------------------------------------------------------------------


def test_write_then_read_gives_the_same_manifest_and_leaves_no_temporary_file(
    tmp_path: Path,
) -> None:
    manifest = Manifest.from_records(
        _records({"a": 3, "b": 2}), class_names=["a", "b", "unused"], extra={"fps": [25.0] * 5}
    )
    uri = str(tmp_path / "manifest.parquet")
    manifest.write(uri)
    again = Manifest.read(uri)
    assert again.table.equals(manifest.table)
    assert again.class_names == ["a", "b", "unused"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.parquet"]


def test_relative_uris_resolve_against_the_manifest_folder_so_a_dataset_can_move(
    tmp_path: Path,
) -> None:
    dataset = tmp_path / "dataset"
    (dataset / "videos").mkdir(parents=True)
    records = [
        ManifestRecord("a", str(dataset / "videos" / "a.mp4"), "x", "train"),
        ManifestRecord("b", "s3://bucket/b.mp4", "x", "train"),
        ManifestRecord("c", "/elsewhere/c.mp4", "x", "test"),
    ]
    Manifest.from_records(records).write(
        str(dataset / "manifest.parquet"), relative_to=str(dataset)
    )
    raw = pq.read_table(dataset / "manifest.parquet").column("uri").to_pylist()
    assert raw == ["videos/a.mp4", "s3://bucket/b.mp4", "/elsewhere/c.mp4"]

    moved = tmp_path / "moved"
    shutil.move(str(dataset), str(moved))
    read = Manifest.read(str(moved / "manifest.parquet"))
    assert read.table.column("uri").to_pylist() == [
        str(moved / "videos" / "a.mp4"),
        "s3://bucket/b.mp4",
        "/elsewhere/c.mp4",
    ]


def test_relative_uris_may_climb_out_of_the_manifest_folder(tmp_path: Path) -> None:
    video = tmp_path / "videos" / "a.mp4"
    uri = str(tmp_path / "manifests" / "m.parquet")
    Manifest.from_records([ManifestRecord("a", str(video), "x", "train")]).write(
        uri, relative_to=str(tmp_path)
    )
    assert pq.read_table(uri).column("uri").to_pylist() == ["../videos/a.mp4"]
    assert Manifest.read(uri).table.column("uri").to_pylist() == [str(video)]


def test_reading_a_missing_manifest_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"no manifest at .*nothing\.parquet"):
        Manifest.read(str(tmp_path / "nothing.parquet"))


def test_reading_an_invalid_manifest_names_the_file(tmp_path: Path) -> None:
    pq.write_table(_table().drop_columns(["label_name"]), tmp_path / "bad.parquet")
    with pytest.raises(ManifestError, match=r"bad\.parquet.*missing column.*label_name"):
        Manifest.read(str(tmp_path / "bad.parquet"))


# -- summary --------------------------------------------------------------------------------


def test_summary_counts_each_class_per_split_with_a_totals_line() -> None:
    manifest = Manifest.from_records(
        _records({"run": 3, "walk": 1})
        + [ManifestRecord("v", "/v.mp4", "walk", "val")]
        + [ManifestRecord("t", "/t.mp4", "run", "test")]
    )
    assert manifest.summary().splitlines() == [
        "class    train      val     test    total",
        "-----------------------------------------",
        "run          3        0        1        4",
        "walk         1        1        0        2",
        "-----------------------------------------",
        "total        4        1        1        6",
    ]



@pytest.mark.s3
def test_a_manifest_on_s3_keeps_relative_uris_portable(s3_bucket: str) -> None:
    dataset = f"{s3_bucket}/datasets/toy"
    records = [ManifestRecord("a", f"{dataset}/videos/a.mp4", "x", "train")]
    Manifest.from_records(records).write(f"{dataset}/manifest.parquet", relative_to=dataset)
    raw = storage.read_parquet(f"{dataset}/manifest.parquet")
    assert raw.column("uri").to_pylist() == ["videos/a.mp4"]
    read = Manifest.read(f"{dataset}/manifest.parquet")
    assert read.table.column("uri").to_pylist() == [f"{dataset}/videos/a.mp4"]
