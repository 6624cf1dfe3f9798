"""Fine-tune the VideoMAE backbone with Ray Train and write a from_pretrained directory.

    python -m ray_jobs.finetune_backbone --config demo [--set finetune.epochs=5]

Steps: the manifest (``<workdir>/manifest.parquet``, built first if missing); the clip
cache (videos not cached yet are decoded by Ray tasks, one per cache part; a video that
fails is skipped with its reason); a ``TorchTrainer`` whose workers each load their shard
of the cache, train, validate, and report metrics and a checkpoint per evaluated epoch;
the test split measured with the best (val) weights; finally the best model exported to
``finetune.output`` with ``metrics.json``. A rerun resumes from the run's latest
checkpoint (``finetune.resume``), and a finished run is exported again without training.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from dance import storage
from dance.config import DanceConfig
from dance.datasets import manifest_content_sha256
from dance.finetune import (
    ClipCache,
    ClipSet,
    ClipSpec,
    Shard,
    build_classifier,
    clip_spec_for,
    evaluate_best,
    export_model,
    fit,
    load_clips,
    make_optimizer,
    processor_config_for,
    split_shard,
    steps_per_epoch,
)
from dance.manifest import SPLITS, Manifest
from dance.progress import Log, log_to_stderr, quiet
from dance.workdir import StagePlan, manifest_uri, model_reference
from ray_jobs._runtime import (
    ensure_ray,
    finetune_output_uri,
    job_main,
    load_or_prepare_manifest,
    with_absolute_paths,
)
from ray_jobs._training import (
    begin_training,
    build_clip_cache,
    done_record,
    finished_state,
    skipped_videos,
    torch_trainer,
    train_then_test,
    worker_context,
)

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class FinetuneReport:
    """What a fine-tuning run produced: where the model went and how good it is."""

    output: str
    test_acc: float
    num_test: int
    best_epoch: int
    best_val_acc: float
    chance: float
    skipped: dict[str, str]
    seconds: float

    def describe(self) -> str:
        """A short human-readable summary."""
        return (
            f"fine-tuned backbone -> {self.output}\n"
            f"test accuracy {self.test_acc:.3f} on {self.num_test} videos (chance "
            f"{self.chance:.3f}); best epoch {self.best_epoch} (val acc {self.best_val_acc:.3f}); "
            f"{len(self.skipped)} video(s) skipped; {self.seconds:.1f} s"
        )


def output_uri(cfg: DanceConfig) -> str:
    """Where the from_pretrained directory goes: finetune.output, else <workdir>/backbone."""
    return finetune_output_uri(cfg)


def state_uri(cfg: DanceConfig) -> str:
    """Where the clip cache and Ray Train checkpoints go: finetune.state_dir, else <workdir>/finetune."""
    return cfg.finetune.state_dir or storage.join(cfg.workdir, "finetune")


def build_cache(cfg: DanceConfig, manifest: Manifest, spec: ClipSpec, log: Log) -> ClipCache:
    """Decode the videos the cache lacks, one Ray task per part; return the updated cache."""
    return build_clip_cache(cfg, state_uri(cfg), manifest, spec, cfg.finetune.decode, log)


def _split_ids(manifest: Manifest, cache: ClipCache) -> dict[str, dict[str, int]]:
    """Per split: video_id -> label of the videos that decoded."""
    labels = dict(zip(manifest.video_ids, manifest.table.column("label").to_pylist(), strict=True))
    return {
        split: {vid: labels[vid] for vid in manifest.split(split).video_ids if vid in cache.parts}
        for split in SPLITS
    }


def _worker_clipset(cache: ClipCache, labels: dict[str, int], shard: Shard) -> ClipSet:
    """This worker's shard of one split, loaded from the cache."""
    ids = split_shard(list(labels), shard)
    if not ids:
        return ClipSet(
            [], torch.empty((0,), dtype=torch.uint8), torch.empty((0,), dtype=torch.int64)
        )
    return ClipSet(ids, load_clips(cache, ids), torch.tensor([labels[v] for v in ids]))


def train_worker(loop_config: dict) -> None:
    """Ray Train worker: load the shard, resume if a checkpoint exists, train, test, report."""
    import ray.train.torch

    cfg, shard, spec, cache = worker_context(loop_config, lambda c: c.finetune.workers)
    fc = cfg.finetune
    splits = loop_config["splits"]
    train, val, test = (_worker_clipset(cache, splits[s], shard) for s in SPLITS)
    torch.manual_seed(fc.seed)
    model = build_classifier(fc, loop_config["class_names"], cfg.backbone.num_frames)
    model = ray.train.torch.prepare_model(model)
    optimizer = make_optimizer(model, fc)
    train_then_test(
        model,
        optimizer,
        shard,
        fc.epochs,
        lambda state, on_epoch: fit(
            model, optimizer, train, val, spec, fc, state, loop_config["steps"], on_epoch, shard
        ),
        lambda state: evaluate_best(model, state, test, spec, fc.workers.batch_size),
    )


def _finetune_inputs(cfg: DanceConfig, manifest: Manifest) -> dict[str, dict[str, Any]]:
    """What fine-tuning reads besides config: the manifest's content and the initial model."""
    inputs = {
        "manifest": {
            "id": manifest_uri(cfg.workdir),
            "sha256": manifest_content_sha256(manifest),
        }
    }
    if cfg.finetune.init != "tiny":
        inputs["init"] = model_reference(cfg.finetune.init)
    return inputs


def finetune_plan(cfg: DanceConfig, log: Log = quiet) -> StagePlan:
    """Fine-tuning's inputs: the manifest's content and the initial model."""
    cfg = with_absolute_paths(cfg)
    return StagePlan(_finetune_inputs(cfg, load_or_prepare_manifest(cfg, log)))


def run_finetune(cfg: DanceConfig, log: Log = log_to_stderr, force: bool = False) -> FinetuneReport:
    """Fine-tune the backbone as cfg.finetune says and export it; return the report.

    Done already (a finished record for this config, manifest and initial model, and the
    exported model in place): returns the recorded report without work. `force` removes
    the output, the checkpoints and the clip cache and starts over.
    """
    start = time.perf_counter()
    cfg = with_absolute_paths(cfg)
    storage.configure(cfg.storage)
    fc = cfg.finetune
    manifest = load_or_prepare_manifest(cfg, log)
    inputs = _finetune_inputs(cfg, manifest)
    done = None if force else done_record(cfg, "finetune", inputs, output_uri(cfg))
    if done is not None:
        report = FinetuneReport(**done.facts["report"])
        log(f"finetune: done for this config on {done.finished_at}; reusing {report.output}")
        return report
    run = begin_training(
        cfg,
        "finetune",
        inputs,
        (output_uri(cfg), state_uri(cfg)),
        force,
        log,
        "dance finetune-backbone --config <config>",
    )
    spec = clip_spec_for(fc, cfg.backbone)
    processor_config = processor_config_for(fc)
    ensure_ray(cfg, log)
    cache = build_cache(cfg, manifest, spec, log)
    skipped = skipped_videos(cache, manifest, log)
    splits = _split_ids(manifest, cache)
    steps = steps_per_epoch(len(splits["train"]), fc.workers.pool_size, fc.workers.batch_size)
    log(
        f"fine-tuning {fc.init} on {len(splits['train'])} train / {len(splits['val'])} val / "
        f"{len(splits['test'])} test videos, {len(manifest.class_names)} classes, "
        f"{fc.epochs} epochs x {steps} steps, {fc.workers.pool_size} worker(s)"
    )
    loop_config = {
        "dance": cfg.model_dump(mode="json"),
        "spec": spec,
        "cache_dir": cache.directory,
        "class_names": manifest.class_names,
        "splits": splits,
        "steps": steps,
    }
    trainer = torch_trainer(
        train_worker,
        loop_config,
        fc.workers,
        state_uri(cfg),
        fc.run_name,
        fc.keep_checkpoints,
        fc.resume,
    )
    state = finished_state(trainer.fit(), "finetune.resume")
    model = build_classifier(fc, manifest.class_names, cfg.backbone.num_frames)
    model.load_state_dict(state.best_model)
    chance = 1.0 / len(manifest.class_names)
    metrics = {
        "class_names": manifest.class_names,
        "epochs": state.history,
        "best_epoch": state.best_epoch,
        "best_val_acc": state.best_val_acc,
        **state.test,
        "chance": chance,
        "skipped": skipped,
        "finetune": fc.model_dump(mode="json"),
        "backbone": cfg.backbone.model_dump(mode="json"),
    }
    output = export_model(output_uri(cfg), model, processor_config, metrics)
    report = FinetuneReport(
        output=output,
        test_acc=float(state.test["test_acc"]),
        num_test=int(state.test["num_test"]),
        best_epoch=int(state.best_epoch or 0),
        best_val_acc=float(state.best_val_acc),
        chance=chance,
        skipped=skipped,
        seconds=time.perf_counter() - start,
    )
    run.finish(
        facts={
            "report": asdict(report),
            "model": model_reference(output),
            "class_names": manifest.class_names,
        },
        counts={"videos_skipped": len(skipped), "epochs": len(state.history)},
    )
    log(report.describe())
    if math.isnan(report.test_acc):
        log("warning: the test split is empty; test accuracy is undefined")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ray_jobs.finetune_backbone --config PRESET_OR_YAML [--set key=value ...]`."""
    return job_main(run_finetune, "python -m ray_jobs.finetune_backbone", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
