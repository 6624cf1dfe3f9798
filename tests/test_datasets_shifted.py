"""The shifted test set: found beside DANCE-Synth or named by dataset.shifted_manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from dance.config import DatasetConfig
from dance.datasets import SHIFTED_MANIFEST_FILE, build_shifted_manifest
from dance.errors import InputError
from dance.manifest import Manifest, ManifestRecord

CLASSES = ["clap", "jump"]


def _write(path: Path, classes: list[str], split: str = "test") -> None:
    records = [ManifestRecord(f"{name}_{i}_shifted", f"v/{name}_{i}.mp4", name, split)
               for name in classes for i in range(2)]
    Manifest.from_records(records, class_names=classes).write(str(path))


def test_synth_finds_its_shifted_manifest_beside_its_videos(tmp_path: Path):
    _write(tmp_path / SHIFTED_MANIFEST_FILE, CLASSES)
    shifted = build_shifted_manifest(DatasetConfig(name="synth", root=str(tmp_path)), CLASSES)
    assert shifted is not None and len(shifted) == 4
    assert shifted.table["uri"][0].as_py() == str(tmp_path / "v" / "clap_0.mp4")


def test_a_dataset_without_a_shifted_set_has_none(tmp_path: Path):
    assert build_shifted_manifest(DatasetConfig(name="synth", root=str(tmp_path)), CLASSES) is None


def test_every_video_of_a_named_shifted_manifest_is_a_test_video(tmp_path: Path):
    _write(tmp_path / "scuba.parquet", CLASSES, split="train")
    config = DatasetConfig(name="table", csv="x.csv", shifted_manifest=str(tmp_path / "scuba.parquet"))
    shifted = build_shifted_manifest(config, CLASSES)
    assert shifted is not None and set(shifted.table["split"].to_pylist()) == {"test"}


def test_a_shifted_set_of_other_classes_is_refused_naming_both(tmp_path: Path):
    _write(tmp_path / "scuba.parquet", ["clap", "wave"])
    config = DatasetConfig(name="table", csv="x.csv", shifted_manifest=str(tmp_path / "scuba.parquet"))
    with pytest.raises(InputError, match="wave.*same classes"):
        build_shifted_manifest(config, CLASSES)
