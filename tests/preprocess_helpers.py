"""Helpers of the preprocess job tests: configs, manifests and output tables keyed by video_id."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from dance.config import DanceConfig, load_config
from dance.manifest import Manifest, ManifestRecord


def job_config(
    tmp: Path, workdir: str, synth_root: Path, encoders: dict[str, str] | None, **sections: Any
) -> tuple[DanceConfig, Path]:
    """A small preprocess config (fractional CPUs, tiny parts) written as YAML; (cfg, path)."""
    raw: dict[str, Any] = {
        "name": "preprocess-test",
        "workdir": workdir,
        "dataset": {"name": "synth", "root": str(synth_root)},
        "ray": {"num_cpus": 2},
        "pose": {
            "backend": "annotations",
            "resources": {"pool_size": 1, "num_cpus": 0.25, "batch_size": 4},
        },
        "preprocess": {
            "decode": {"pool_size": 1, "num_cpus": 0.25, "batch_size": 1},
            "writer": {"batch_size": 3},
            "spill_dir": str(tmp / "spill"),
            "enable_backbone": encoders is not None,
            "enable_dual": encoders is not None,
            "tiny_model_fallback": False,
        },
    }
    if encoders is not None:
        small = {"pool_size": 1, "num_cpus": 0.25, "batch_size": 4}
        raw["backbone"] = {"model": encoders["backbone"], "resources": small}
        raw["dual_encoder"] = {"model": encoders["dual"], "resources": small}
    for key, value in sections.items():
        raw.setdefault(key, {}).update(value)
    path = tmp / f"config-{hashlib.sha1(workdir.encode()).hexdigest()[:12]}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_config(str(path)), path


def write_manifest(records: list[tuple[str, str]], uri: str) -> Manifest:
    """A manifest of (video_id, uri) pairs, one class, all train; written to `uri`."""
    manifest = Manifest.from_records(
        [ManifestRecord(video_id=v, uri=u, label_name="action", split="train") for v, u in records]
    )
    manifest.write(uri)
    return manifest


def rows_by_id(folder: str | Path, filesystem: Any = None) -> dict[str, dict[str, Any]]:
    """videos/ rows keyed by video_id (asserting each id appears once)."""
    table = pq.read_table(str(folder), filesystem=filesystem)
    rows = table.to_pylist()
    ids = [row["video_id"] for row in rows]
    assert len(ids) == len(set(ids)), f"duplicate video_ids in {folder}"
    return {row["video_id"]: row for row in rows}


def clips_by_id(folder: str | Path, filesystem: Any = None) -> dict[tuple[str, int], dict]:
    """clips/ rows keyed by (video_id, clip_index) (asserting each key appears once)."""
    rows = pq.read_table(str(folder), filesystem=filesystem).to_pylist()
    keys = [(row["video_id"], row["clip_index"]) for row in rows]
    assert len(keys) == len(set(keys)), f"duplicate clip keys in {folder}"
    return dict(zip(keys, rows, strict=True))


def same_values(a: Any, b: Any) -> bool:
    """Equality that treats NaN == NaN (pose rows hold NaN for frames without a person)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_values(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_values(a[k], b[k]) for k in a)
    return a == b
