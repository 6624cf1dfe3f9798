"""`dance demo` / `dance run`: every job that exists, in order, on one config."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dance import storage
from dance.config import DanceConfig
from dance.datasets import prepare_manifest
from dance.progress import Log
from ray_jobs._runtime import with_absolute_paths
from ray_jobs.discover import run_discover
from ray_jobs.evaluate import run_evaluate
from ray_jobs.finetune_backbone import run_finetune
from ray_jobs.preprocess import run_preprocess
from ray_jobs.report import run_report
from ray_jobs.sanity import run_sanity
from ray_jobs.train import run_train


def _finetune_if_configured(cfg: DanceConfig, log: Log) -> object:
    """Fine-tune the backbone when backbone.model is the fine-tuning output and is missing."""
    from ray_jobs.finetune_backbone import output_uri

    target = output_uri(cfg)
    if cfg.backbone.model != target:  # both absolute: run_pipeline resolved them
        log(f"backbone.model is {cfg.backbone.model!r}: using it as is, no fine-tuning")
        return None
    return run_finetune(cfg, log)


def _train_dual_if_configured(cfg: DanceConfig, log: Log) -> object:
    """Train the dual encoder when dual_encoder.model is the dual-encoder training output."""
    from ray_jobs.train_dual_encoder import output_uri, run_train_dual_encoder

    if cfg.dual_encoder.model != output_uri(cfg):  # both absolute: run_pipeline resolved them
        log(f"dual_encoder.model is {cfg.dual_encoder.model!r}: using it as is, no training")
        return None
    return run_train_dual_encoder(cfg, log)


# The jobs in order; later ones (post-hoc baselines) append themselves as they land.
STAGES: list[tuple[str, Callable[[DanceConfig, Log], object]]] = [
    ("manifest", prepare_manifest),
    ("finetune", _finetune_if_configured),
    ("dual_encoder", _train_dual_if_configured),
    ("preprocess", run_preprocess),
    ("discover", run_discover),
    ("train", run_train),
    # with Table 1's rows: on the demo they take about 20 s and show DANCE beside its baselines
    ("evaluate", lambda cfg, log: run_evaluate(cfg, log, table=True)),
    ("sanity", run_sanity),
    ("report", run_report),
]


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


def run_pipeline(cfg: DanceConfig, log: Log) -> RunReport:
    """Run every available stage in order on one config; each stage resumes its own work."""
    cfg = with_absolute_paths(cfg)
    storage.configure(cfg.storage)
    report = RunReport(workdir=cfg.workdir)
    for name, stage in STAGES:
        start = time.perf_counter()
        log(f"== {name} ==")
        stage(cfg, log)
        report.stages.append(StageTiming(name, time.perf_counter() - start))
    return report
