"""DatasetConfig validation and build_manifest's dispatch and val carving."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from dance.config import DatasetConfig
from dance.datasets import build_manifest
from dance.manifest import Manifest, ManifestRecord


def _records(n: int, split: str = "train") -> list[ManifestRecord]:
    return [ManifestRecord(f"{split}{i}", f"/v/{split}{i}.mp4", "x", split) for i in range(n)]


def test_each_dataset_names_the_keys_it_needs() -> None:
    with pytest.raises(ValidationError, match=r"dataset.name=ucf101 needs dataset.root"):
        DatasetConfig(name="ucf101")
    with pytest.raises(ValidationError, match=r"needs dataset.csv and dataset.root"):
        DatasetConfig(name="kinetics")
    with pytest.raises(ValidationError, match=r"name=table needs dataset.csv"):
        DatasetConfig(name="table", root="/data")


def test_a_ready_manifest_stands_in_for_the_root() -> None:
    assert DatasetConfig(name="ucf101", manifest="/m.parquet").root is None


def test_keys_for_another_dataset_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"dataset.actions applies to name kth"):
        DatasetConfig(name="ucf101", root="/d", actions=["walking"])


def test_out_of_range_values_and_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError, match="split_index"):
        DatasetConfig(name="ucf101", root="/d", split_index=4)
    with pytest.raises(ValidationError, match="val_fraction"):
        DatasetConfig(name="ucf101", root="/d", val_fraction=1.0)
    with pytest.raises(ValidationError, match="extra_forbidden"):
        DatasetConfig(name="ucf101", root="/d", roots="/d")


def test_synth_reads_the_manifest_beside_its_videos_and_carves_val(tmp_path: Path) -> None:
    Manifest.from_records(_records(10) + _records(3, "test")).write(
        str(tmp_path / "manifest.parquet"), relative_to=str(tmp_path)
    )
    manifest = build_manifest(DatasetConfig(name="synth", root=str(tmp_path), seed=3))
    assert [len(manifest.split(s)) for s in ("train", "val", "test")] == [9, 1, 3]


def test_an_existing_val_split_is_kept_as_it_is(tmp_path: Path) -> None:
    uri = str(tmp_path / "m.parquet")
    Manifest.from_records(_records(10) + _records(4, "val")).write(uri)
    manifest = build_manifest(DatasetConfig(name="folder", manifest=uri))
    assert [len(manifest.split(s)) for s in ("train", "val")] == [10, 4]
