"""What the Ray Train jobs share: the clip cache decoded by Ray tasks, the trainer, checkpoints.

`finetune_backbone` and `train_dual_encoder` both decode a manifest's clips once into a
cache (one Ray task per cache part), train with a `TorchTrainer` whose workers report a
checkpoint per evaluated epoch, resume from the latest one, and export from the last
checkpoint's best weights. The stage around it is skipped when its record is current.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import ray
import torch

from dance import storage
from dance.config import DanceConfig, StageResources, StorageConfig
from dance.finetune import (
    CachePart,
    ClipCache,
    ClipSpec,
    EpochCallback,
    Shard,
    TrainState,
    build_part,
    cache_directory,
    format_epoch,
    load_checkpoint,
    merge_parts,
    missing_videos,
    plan_parts,
    read_cache,
    read_state,
    save_checkpoint,
)
from dance.manifest import Manifest
from dance.progress import Log
from dance.workdir import StageRecord, StageRun, begin_stage, current_record
from ray_jobs._placement import cpu_threads, scaling_config, task_options

if TYPE_CHECKING:
    from ray.train import Result
    from ray.train.torch import TorchTrainer


def build_clip_cache(
    cfg: DanceConfig,
    state_dir: str,
    manifest: Manifest,
    spec: ClipSpec,
    resources: StageResources,
    log: Log,
) -> ClipCache:
    """Decode the videos the cache lacks, one Ray task per part; return the updated cache."""
    directory = cache_directory(state_dir, spec)
    cache = read_cache(directory)
    todo = missing_videos(cache, manifest)
    if not todo:
        log(f"clip cache {directory}: all {len(manifest)} videos already there")
        return cache
    start = time.perf_counter()
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


def skipped_videos(cache: ClipCache, manifest: Manifest, log: Log) -> dict[str, str]:
    """The manifest's videos that failed to decode (video_id -> reason), each logged."""
    wanted = set(manifest.video_ids)
    skipped = {vid: reason for vid, reason in cache.failed.items() if vid in wanted}
    for vid, reason in sorted(skipped.items()):
        log(f"skipped {vid}: {reason}")
    return skipped


def done_record(
    cfg: DanceConfig, stage: str, inputs: Mapping[str, Mapping[str, Any]], output: str
) -> StageRecord | None:
    """The stage's current finished record when its exported model is still in place."""
    done = current_record(cfg.workdir, stage, cfg.model_dump(mode="json"), inputs=inputs)
    return done if done is not None and storage.exists(output) else None


def begin_training(
    cfg: DanceConfig,
    stage: str,
    inputs: Mapping[str, Mapping[str, Any]],
    locations: tuple[str, str],
    force: bool,
    log: Log,
    command: str,
) -> StageRun:
    """Start the stage's record; `force` first removes its output and state directories."""
    if force:
        for uri in set(locations):
            storage.remove(uri)
    return begin_stage(
        cfg.workdir,
        stage,
        cfg.model_dump(mode="json"),
        inputs=inputs,
        force=force,
        log=log,
        command=command,
    )


# Ray Train v2 modules that log an INFO line per ray.train.report: the train context's
# logger is named after its file, the checkpoint upload's ("Checkpoint successfully
# created at ...") after its module.
PER_REPORT_LOGGERS = (
    "ray.train.v2._internal.execution.context",
    "ray.train.v2._internal.execution.storage",
)


def quiet_worker_logs() -> None:
    """In a Ray Train worker: drop Ray's INFO lines per report (rank 0 prints the progress)."""
    import logging
    from importlib.util import find_spec

    for module in PER_REPORT_LOGGERS:
        spec = find_spec(module)
        if spec is not None and spec.origin:
            for name in (module, spec.origin):
                logging.getLogger(name).setLevel(logging.WARNING)


def worker_shard() -> Shard:
    """This Ray Train worker's rank among the workers."""
    import ray.train

    context = ray.train.get_context()
    return Shard(context.get_world_rank(), context.get_world_size())


def worker_context(
    loop_config: dict, resources: Callable[[DanceConfig], StageResources]
) -> tuple[DanceConfig, Shard, ClipSpec, ClipCache]:
    """In a Ray Train worker: the config (storage configured, torch threads set to the
    worker's CPUs), its rank, the clip spec and the clip cache."""
    quiet_worker_logs()
    cfg = DanceConfig.model_validate(loop_config["dance"])
    storage.configure(cfg.storage)
    torch.set_num_threads(cpu_threads(resources(cfg)))
    return cfg, worker_shard(), loop_config["spec"], read_cache(loop_config["cache_dir"])


def resume_state(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, shard: Shard, epochs: int
) -> TrainState:
    """The state of the run's latest checkpoint, loaded into model and optimiser (else fresh)."""
    import ray.train

    state = TrainState()
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            state = load_checkpoint(directory, model, optimizer)
        if shard.rank == 0:
            print(f"resuming after epoch {state.epoch} of {epochs}", flush=True)
    if state.epoch < epochs:
        state.test = None  # more epochs (a longer run resumed): measure the test split again
    return state


def report(
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


def epoch_reporter(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, shard: Shard, epochs: int
) -> EpochCallback:
    """The per-epoch callback: rank 0 prints a line; a checkpoint after each evaluated epoch."""

    def on_epoch(metrics: dict, current: TrainState, evaluated: bool) -> None:
        if shard.rank == 0:
            print(format_epoch(metrics, epochs), flush=True)
        report(metrics, model, optimizer, current, with_checkpoint=evaluated, rank=shard.rank)

    return on_epoch


def train_then_test(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    shard: Shard,
    epochs: int,
    train: Callable[[TrainState, EpochCallback], TrainState],
    test: Callable[[TrainState], object],
) -> None:
    """A worker's run: resume, train to `epochs`, then measure the test split once and report it.

    train(state, on_epoch) trains from the resumed state; test(state) stores the best
    weights' test metrics in state.test. A resumed run whose test was measured reports nothing.
    """
    state = train(
        resume_state(model, optimizer, shard, epochs),
        epoch_reporter(model, optimizer, shard, epochs),
    )
    if state.test is None:
        test(state)
        metrics = {"epoch": state.epoch, **(state.test or {})}
        report(metrics, model, optimizer, state, with_checkpoint=True, rank=shard.rank)


# Ray Train settings the jobs change, read by fit() from the driver's environment and passed
# on to the controller and workers; a value the user set wins.
# - The controller polls its workers every RAY_TRAIN_HEALTH_CHECK_INTERVAL_S (2 s by
#   default), and a worker's ray.train.report waits for the poll that takes its previous
#   report (a result queue of one). Measured on 2 CPUs: 2.0 s per report and 28.6 s for a
#   one-worker fit of 8 reports; 0.26 s and 11.8 s at 0.25 s.
# - Ray Train's print patch sends a worker's print() through its logger too, so the driver
#   showed every progress line twice.
POLL_INTERVAL_ENV = "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"
POLL_INTERVAL_S = "0.25"
PRINT_PATCH_ENV = "RAY_TRAIN_ENABLE_PRINT_PATCH"
TRAIN_ENV_DEFAULTS = {POLL_INTERVAL_ENV: POLL_INTERVAL_S, PRINT_PATCH_ENV: "0"}


def torch_trainer(
    worker: Callable[[dict], None],
    loop_config: dict,
    resources: StageResources,
    state_dir: str,
    run_name: str,
    keep_checkpoints: int,
    resume: bool,
    datasets: dict[str, Any] | None = None,
    max_failures: int = 0,
) -> TorchTrainer:
    """The TorchTrainer: workers, CPUs/GPUs each, checkpoints under <state_dir>/ray_train.

    Without `resume` the run's previous checkpoints are removed first. `datasets` reach
    every worker whole (each takes its own rows); `max_failures` worker-group failures
    are recovered from the latest checkpoint.
    """
    from ray.train import CheckpointConfig, DataConfig, FailureConfig, RunConfig
    from ray.train.torch import TorchTrainer

    for name, value in TRAIN_ENV_DEFAULTS.items():
        os.environ.setdefault(name, value)
    ray_train = storage.join(state_dir, "ray_train")
    if not resume:
        storage.remove(storage.join(ray_train, run_name))
    if storage.is_s3(ray_train):
        filesystem, path = storage.filesystem_for(ray_train)
        run_storage = {"storage_path": path, "storage_filesystem": filesystem}
    else:
        run_storage = {"storage_path": os.path.abspath(ray_train.removeprefix("file://"))}
    return TorchTrainer(
        worker,
        train_loop_config=loop_config,
        scaling_config=scaling_config(resources),
        run_config=RunConfig(
            name=run_name,
            checkpoint_config=CheckpointConfig(num_to_keep=keep_checkpoints),
            failure_config=FailureConfig(max_failures=max_failures),
            **run_storage,
        ),
        datasets=datasets,
        # not split by Ray Data: its equal split may drop rows; workers shard by video_id
        dataset_config=DataConfig(datasets_to_split=[]) if datasets else None,
    )


def finished_state(result: Result, resume_key: str) -> TrainState:
    """The last checkpoint's state (best weights, test metrics) of a finished Ray Train run."""
    if result.checkpoint is None:
        raise RuntimeError(f"Ray Train finished without a checkpoint: {result.error}")
    with result.checkpoint.as_directory() as directory:
        state = read_state(directory)
    if state.test is None or state.best_model is None:
        raise RuntimeError(
            f"the last checkpoint has no test result; rerun ({resume_key}=true finishes it)"
        )
    return state
