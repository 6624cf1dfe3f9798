"""Preparing a run's data: DANCE-Synth when configured, then the manifest with its val split."""

from __future__ import annotations

from collections.abc import Callable

from dance import storage
from dance.config import DanceConfig
from dance.datasets import build_manifest
from dance.manifest import Manifest

Log = Callable[[str], None]


def manifest_uri(cfg: DanceConfig) -> str:
    """Where the run's manifest (with its val split) lives: <workdir>/manifest.parquet."""
    return storage.join(cfg.workdir, "manifest.parquet")


def ensure_synth_dataset(cfg: DanceConfig, log: Log) -> None:
    """Render DANCE-Synth into dataset.root unless the same config already rendered it there."""
    if cfg.synth is None:
        return
    from dance.synth import generate_dataset, synth_dataset_matches

    root = cfg.dataset.root
    if synth_dataset_matches(cfg.synth, root):
        log(f"DANCE-Synth already at {root} (same config and seed): reusing it")
        return
    log(f"rendering DANCE-Synth ({cfg.synth.preset}) into {root} ...")
    summary = generate_dataset(cfg.synth, root)
    log(summary.describe())


def prepare_manifest(cfg: DanceConfig, log: Log) -> Manifest:
    """Build the dataset's manifest, carve the val split and write it to the workdir."""
    ensure_synth_dataset(cfg, log)
    manifest = build_manifest(cfg.dataset)
    manifest.write(manifest_uri(cfg))
    log(manifest.summary())
    log(f"manifest: {len(manifest)} videos -> {manifest_uri(cfg)}")
    return manifest
