"""The stages `dance demo` and `dance run` chain, as plain functions on a DanceConfig."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

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


@dataclass
class StageTiming:
    """How long one stage of a run took."""

    name: str
    seconds: float


@dataclass
class RunReport:
    """What a chained run did: its stages with timings, and where outputs went."""

    workdir: str
    stages: list[StageTiming] = field(default_factory=list)

    def describe(self) -> str:
        """A short human-readable summary of the run."""
        lines = [f"  {s.name:<12} {s.seconds:7.1f} s" for s in self.stages]
        return "\n".join(["stages:", *lines, f"outputs written to {self.workdir}"])


# The stages that exist so far, in order; later jobs (preprocess, discover, train,
# evaluate) append themselves here as they land.
STAGES: list[tuple[str, Callable[[DanceConfig, Log], object]]] = [
    ("manifest", prepare_manifest),
]


def run_pipeline(cfg: DanceConfig, log: Log) -> RunReport:
    """Run every available stage in order on one config."""
    storage.configure(cfg.storage)
    report = RunReport(workdir=storage_abspath(cfg.workdir))
    for name, stage in STAGES:
        start = time.perf_counter()
        log(f"== {name} ==")
        stage(cfg, log)
        report.stages.append(StageTiming(name, time.perf_counter() - start))
    return report


def storage_abspath(uri: str) -> str:
    """An absolute form of a local path (s3:// URIs unchanged), for messages."""
    if storage.is_s3(uri):
        return uri
    from pathlib import Path

    return str(Path(uri).resolve())
