"""`dance run`: every stage in order on one config, skipping the ones already done.

    manifest -> finetune -> dual_encoder -> preprocess -> discover -> train -> evaluate
      -> sanity -> report

A stage is skipped when its stage record is finished and matches what the stage would
start with now: the same config keys, the same inputs (model and data hashes) and the
same upstream records (dance.workdir.current_record). A stage that runs changes its
record's identity, which makes every stage below it stale, so they run too. The whole
run holds the workdir's lock (dance.workdir.acquire_workdir_lock): a second run on the
same workdir refuses before any work, naming the running one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dance import storage
from dance.config import DanceConfig
from dance.datasets import manifest_plan, prepare_manifest
from dance.errors import InputError
from dance.progress import Log
from dance.workdir import StagePlan, current_record, lock_for_config, stage_outputs_exist
from ray_jobs._run_summary import RunReport, StageOutcome
from ray_jobs._runtime import with_absolute_paths
from ray_jobs.discover import discover_plan, run_discover
from ray_jobs.evaluate import evaluate_plan, run_evaluate
from ray_jobs.finetune_backbone import finetune_plan, run_finetune
from ray_jobs.preprocess import preprocess_plan, run_preprocess
from ray_jobs.report import report_plan, run_report
from ray_jobs.sanity import run_sanity, sanity_plan
from ray_jobs.train import run_train, train_plan
from ray_jobs.train_dual_encoder import dual_encoder_plan, run_train_dual_encoder


def _finetune_not_configured(cfg: DanceConfig) -> str | None:
    """Why fine-tuning is not part of this run, or None when it is."""
    from ray_jobs.finetune_backbone import output_uri

    if cfg.backbone.model != output_uri(cfg):  # both absolute: run_pipeline resolved them
        return f"backbone.model is {cfg.backbone.model!r}, used as is"
    return None


def _dual_not_configured(cfg: DanceConfig) -> str | None:
    """Why dual-encoder training is not part of this run, or None when it is."""
    from ray_jobs.train_dual_encoder import output_uri

    if cfg.dual_encoder.model != output_uri(cfg):  # both absolute: run_pipeline resolved them
        return f"dual_encoder.model is {cfg.dual_encoder.model!r}, used as is"
    return None


@dataclass(frozen=True)
class PipelineStage:
    """One stage of `dance run`: its job, its plan (for skip-if-done), when it applies."""

    name: str
    run: Callable[[DanceConfig, Log, bool], object]  # (config, log, force)
    plan: Callable[[DanceConfig], StagePlan]
    not_configured: Callable[[DanceConfig], str | None] = field(default=lambda cfg: None)


STAGES: tuple[PipelineStage, ...] = (
    PipelineStage("manifest", prepare_manifest, manifest_plan),
    PipelineStage("finetune", run_finetune, finetune_plan, _finetune_not_configured),
    PipelineStage("dual_encoder", run_train_dual_encoder, dual_encoder_plan,
                  _dual_not_configured),
    PipelineStage("preprocess", run_preprocess, preprocess_plan),
    PipelineStage("discover", run_discover, discover_plan),
    PipelineStage("train", run_train, train_plan),
    # with Table 1's rows: on the demo they take about 20 s and show DANCE beside its baselines
    PipelineStage("evaluate", lambda cfg, log, force: run_evaluate(cfg, log, force, table=True),
                  evaluate_plan),
    PipelineStage("sanity", run_sanity, sanity_plan),
    PipelineStage("report", run_report, report_plan),
)
STAGE_NAMES: tuple[str, ...] = tuple(stage.name for stage in STAGES)


@dataclass(frozen=True)
class Selection:
    """Which stages a run may skip and which it must redo (`--force`, `--from`, `--only`)."""

    force: frozenset[str] = frozenset()
    start: str | None = None  # --from: redo this stage and every one after it
    only: frozenset[str] = frozenset()  # --only: run just these (skipped when done)

    def check(self) -> None:
        """Raise InputError naming any unknown stage."""
        named = [*self.force, *self.only, *([self.start] if self.start else [])]
        unknown = sorted(set(named) - set(STAGE_NAMES))
        if unknown:
            raise InputError(
                f"unknown stage(s) {', '.join(unknown)}; the stages are {', '.join(STAGE_NAMES)}"
            )
        if self.only and self.start:
            raise InputError("pass --only or --from, not both")

    def wanted(self, name: str) -> bool:
        """True when the stage is part of this run at all."""
        return not self.only or name in self.only

    def forced(self, name: str) -> bool:
        """True when the stage must be redone even if its record says it is done."""
        if name in self.force:
            return True
        return self.start is not None and STAGE_NAMES.index(name) >= STAGE_NAMES.index(self.start)


def _done_for_this_config(cfg: DanceConfig, stage: PipelineStage) -> str | None:
    """When the stage's record is current for this config: the time it finished, else None."""
    try:
        plan = stage.plan(cfg)
    except (InputError, storage.ObjectNotFoundError, FileNotFoundError):
        return None  # an input the plan reads is not there yet: the stage must run
    record = current_record(cfg.workdir, stage.name, cfg.model_dump(mode="json"),
                            inputs=plan.inputs, upstream=plan.upstream)
    if record is None or not stage_outputs_exist(cfg.workdir, stage.name):
        return None
    return record.finished_at or "an earlier run"


def _quiet_ray_progress(verbose: bool) -> None:
    """Ray Data's progress bars only at the verbose level; the stages log one line each."""
    if verbose:
        return
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.enable_operator_progress_bars = False


def run_pipeline(
    cfg: DanceConfig,
    log: Log,
    selection: Selection = Selection(),
    verbose: bool = False,
    command: str = "dance run",
) -> RunReport:
    """Run every stage in order under the workdir's lock, skipping stages already done."""
    selection.check()
    cfg = with_absolute_paths(cfg)
    storage.configure(cfg.storage)
    _quiet_ray_progress(verbose)
    report = RunReport(workdir=cfg.workdir)
    with lock_for_config(cfg, command, log) as lock:
        for stage in STAGES:
            lock.check()
            report.stages.append(_run_stage(cfg, stage, selection, log))
    report.collect(cfg)
    return report


def _run_stage(
    cfg: DanceConfig, stage: PipelineStage, selection: Selection, log: Log
) -> StageOutcome:
    """Run, skip or leave out one stage; what happened to it."""
    if not selection.wanted(stage.name):
        return StageOutcome(stage.name, "left out", "not in --only")
    reason = stage.not_configured(cfg)
    if reason is not None:
        log(f"== {stage.name}: not part of this config ({reason}) ==")
        return StageOutcome(stage.name, "not configured", reason)
    force = selection.forced(stage.name)
    # From before the plan check: a plan may build the stage's inputs first (the dual
    # encoder's plan renders its captions corpus), and that is the stage's time too.
    started = time.perf_counter()
    if not force:
        finished = _done_for_this_config(cfg, stage)
        if finished is not None:
            log(f"== {stage.name}: done for this config ({finished}); skipped ==")
            return StageOutcome(stage.name, "skipped", f"done for this config at {finished}")
    log(f"== {stage.name}{' (forced)' if force else ''} ==")
    stage.run(cfg, log, force)
    return StageOutcome(stage.name, "ran", "forced" if force else "",
                        time.perf_counter() - started)


def parse_selection(
    force: Sequence[str] = (), start: str | None = None, only: Sequence[str] = ()
) -> Selection:
    """A Selection from command-line values (run_pipeline checks the stage names)."""
    return Selection(frozenset(force), start, frozenset(only))
