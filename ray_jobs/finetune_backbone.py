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
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import ray
import torch

from dance import storage
from dance.config import DanceConfig, StorageConfig
from dance.datasets import manifest_content_sha256
from dance.finetune import (
    CachePart,
    ClipCache,
    ClipSet,
    ClipSpec,
    Shard,
    TrainState,
    build_classifier,
    build_part,
    cache_directory,
    clip_spec_for,
    evaluate_best,
    export_model,
    fit,
    format_epoch,
    load_checkpoint,
    load_clips,
    make_optimizer,
    merge_parts,
    missing_videos,
    plan_parts,
    processor_config_for,
    read_cache,
    read_state,
    save_checkpoint,
    split_shard,
    steps_per_epoch,
)
from dance.manifest import SPLITS, Manifest
from dance.progress import Log, log_to_stderr
from dance.workdir import begin_stage, current_record, manifest_uri, model_reference
from ray_jobs._placement import cpu_threads, scaling_config, task_options
from ray_jobs._runtime import (
    ensure_ray,
    finetune_output_uri,
    job_main,
    load_or_prepare_manifest,
    with_absolute_paths,
)

if TYPE_CHECKING:
    from ray.train.torch import TorchTrainer

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
    directory = cache_directory(state_uri(cfg), spec)
    cache = read_cache(directory)
    todo = missing_videos(cache, manifest)
    if not todo:
        log(f"clip cache {directory}: all {len(manifest)} videos already there")
        return cache
    start = time.perf_counter()
    resources = cfg.finetune.decode
    parts = plan_parts(cache, todo, resources.batch_size)
    decode = ray.remote(_build_part_task).options(**task_options(resources))
    refs: list[ray.ObjectRef] = []
    for name, videos in parts:
        if len(refs) >= resources.pool_size:  # at most pool_size decode tasks at once
            ray.wait(refs, num_returns=len(refs) - resources.pool_size + 1)
        refs.append(decode.remote(cfg.storage, directory, name, videos, spec))
    cache = merge_parts(cache, ray.get(refs))
    log(
        f"clip cache {directory}: decoded {len(todo)} videos in {len(parts)} part(s) "
        f"({time.perf_counter() - start:.1f} s)"
    )
    return cache


def _build_part_task(
    storage_config: StorageConfig,
    directory: str,
    name: str,
    videos: list[tuple[str, str]],
    spec: ClipSpec,
) -> CachePart:
    """Ray task body: configure storage in this worker, then decode one cache part."""
    storage.configure(storage_config)
    return build_part(directory, name, videos, spec)


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
    import ray.train
    import ray.train.torch

    cfg = DanceConfig.model_validate(loop_config["dance"])
    storage.configure(cfg.storage)
    fc = cfg.finetune
    torch.set_num_threads(cpu_threads(fc.workers))
    context = ray.train.get_context()
    shard = Shard(context.get_world_rank(), context.get_world_size())
    spec: ClipSpec = loop_config["spec"]
    cache = read_cache(loop_config["cache_dir"])
    splits = loop_config["splits"]
    train, val, test = (_worker_clipset(cache, splits[s], shard) for s in SPLITS)
    torch.manual_seed(fc.seed)
    model = build_classifier(fc, loop_config["class_names"], cfg.backbone.num_frames)
    model = ray.train.torch.prepare_model(model)
    optimizer = make_optimizer(model, fc)
    state = TrainState()
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            state = load_checkpoint(directory, model, optimizer)
        if shard.rank == 0:
            print(f"resuming after epoch {state.epoch} of {fc.epochs}", flush=True)

    if state.epoch < fc.epochs:
        state.test = None  # more epochs (a longer run resumed): measure the test split again

    def report(metrics: dict, current: TrainState, evaluated: bool) -> None:
        if shard.rank == 0:
            print(format_epoch(metrics, fc.epochs), flush=True)
        _report(metrics, model, optimizer, current, with_checkpoint=evaluated, rank=shard.rank)

    state = fit(model, optimizer, train, val, spec, fc, state, loop_config["steps"], report, shard)
    if state.test is None:
        test_metrics = evaluate_best(model, state, test, spec, fc.workers.batch_size)
        _report(
            {"epoch": state.epoch, **test_metrics},
            model,
            optimizer,
            state,
            with_checkpoint=True,
            rank=shard.rank,
        )


def _report(
    metrics: dict,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: TrainState,
    with_checkpoint: bool,
    rank: int,
) -> None:
    """ray.train.report the metrics; rank 0 attaches a checkpoint when asked."""
    import ray.train

    clean = {k: v for k, v in metrics.items() if v is not None}
    if not with_checkpoint or rank != 0:
        ray.train.report(clean)
        return
    with tempfile.TemporaryDirectory(prefix="dance-ckpt-") as directory:
        save_checkpoint(directory, model, optimizer, state)
        ray.train.report(clean, checkpoint=ray.train.Checkpoint.from_directory(directory))


def _trainer(cfg: DanceConfig, loop_config: dict) -> TorchTrainer:
    """The TorchTrainer: workers, CPUs/GPUs each, checkpoints under <state_dir>/ray_train."""
    from ray.train import CheckpointConfig, RunConfig
    from ray.train.torch import TorchTrainer

    fc = cfg.finetune
    ray_train = storage.join(state_uri(cfg), "ray_train")
    if storage.is_s3(ray_train):
        filesystem, path = storage.filesystem_for(ray_train)
        run_storage = {"storage_path": path, "storage_filesystem": filesystem}
    else:
        run_storage = {"storage_path": os.path.abspath(ray_train.removeprefix("file://"))}
    return TorchTrainer(
        train_worker,
        train_loop_config=loop_config,
        scaling_config=scaling_config(fc.workers),
        run_config=RunConfig(
            name=fc.run_name,
            checkpoint_config=CheckpointConfig(num_to_keep=fc.keep_checkpoints),
            **run_storage,
        ),
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


def run_finetune(
    cfg: DanceConfig, log: Log = log_to_stderr, force: bool = False
) -> FinetuneReport:
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
    config = cfg.model_dump(mode="json")
    inputs = _finetune_inputs(cfg, manifest)
    done = None if force else current_record(cfg.workdir, "finetune", config, inputs=inputs)
    if done is not None and storage.exists(output_uri(cfg)):
        report = FinetuneReport(**done.facts["report"])
        log(f"finetune: done for this config on {done.finished_at}; reusing {report.output}")
        return report
    if force:
        for uri in {output_uri(cfg), state_uri(cfg)}:
            storage.remove(uri)
    run = begin_stage(
        cfg.workdir,
        "finetune",
        config,
        inputs=inputs,
        force=force,
        log=log,
        command="dance finetune-backbone --config <config>",
    )
    spec = clip_spec_for(fc, cfg.backbone)
    processor_config = processor_config_for(fc)
    ensure_ray(cfg, log)
    cache = build_cache(cfg, manifest, spec, log)
    skipped = {
        vid: reason for vid, reason in cache.failed.items() if vid in set(manifest.video_ids)
    }
    for vid, reason in sorted(skipped.items()):
        log(f"skipped {vid}: {reason}")
    splits = _split_ids(manifest, cache)
    steps = steps_per_epoch(len(splits["train"]), fc.workers.pool_size, fc.workers.batch_size)
    log(
        f"fine-tuning {fc.init} on {len(splits['train'])} train / {len(splits['val'])} val / "
        f"{len(splits['test'])} test videos, {len(manifest.class_names)} classes, "
        f"{fc.epochs} epochs x {steps} steps, {fc.workers.pool_size} worker(s)"
    )
    if not fc.resume:
        storage.remove(storage.join(state_uri(cfg), "ray_train", fc.run_name))
    loop_config = {
        "dance": cfg.model_dump(mode="json"),
        "spec": spec,
        "cache_dir": cache.directory,
        "class_names": manifest.class_names,
        "splits": splits,
        "steps": steps,
    }
    result = _trainer(cfg, loop_config).fit()
    if result.checkpoint is None:
        raise RuntimeError(f"Ray Train finished without a checkpoint: {result.error}")
    with result.checkpoint.as_directory() as directory:
        state = read_state(directory)
    if state.test is None or state.best_model is None:
        raise RuntimeError(
            "the last checkpoint has no test result; rerun (finetune.resume=true finishes it)"
        )
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
