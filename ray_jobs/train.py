"""The train job: concept layers, cuts and the sparse final layer on Ray Train -> <workdir>/model.

    videos/ (backbone features) + concepts/labels.parquet, joined by video_id (driver)
      -> a Ray Dataset handed to every Ray Train worker; each keeps only its rows
         (a stable hash of video_id), so no worker holds the whole table
      -> TorchTrainer, train.resources.pool_size workers (gloo on CPU, NCCL on GPU):
         dance.train.fit_model in lockstep, every sum all-reduced; a checkpoint at each
         validation and each finished phase; a failed worker group restarts from it
      -> the model bundle (DanceModel.save_pretrained) and the train stage record

The library logic lives in dance.train; this module only places it on Ray.

    python -m ray_jobs.train --config demo [--set key=value ...] [--force]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import torch
from safetensors.torch import load_file, save_file

from dance import storage
from dance.concepts import read_concept_bundle
from dance.config import DanceConfig
from dance.datasets import manifest_content_sha256
from dance.manifest import Manifest
from dance.preprocess import read_videos
from dance.progress import Log, log_to_stderr
from dance.train import (
    DanceModel,
    TrainProgress,
    TrainReport,
    bundle_from_progress,
    check_validation_rows,
    fit_model,
    join_training_table,
    local_or_distributed,
    probe_labels,
    training_arrays,
    worker_rows,
)
from dance.workdir import (
    StagePlan,
    begin_stage,
    concepts_dir,
    current_record,
    manifest_uri,
    model_dir,
    require_done,
    training_state_dir,
)
from ray_jobs._placement import cpu_threads
from ray_jobs._runtime import ensure_ray, job_main, with_absolute_paths
from ray_jobs._training import quiet_worker_logs, torch_trainer

PROGRESS_TENSORS = "progress.safetensors"
PROGRESS_JSON = "progress.json"


def output_uri(cfg: DanceConfig) -> str:
    """The model bundle: train.output, else <workdir>/model."""
    return cfg.train.output or model_dir(cfg.workdir)


def state_uri(cfg: DanceConfig) -> str:
    """Ray Train checkpoints: train.state_dir, else <workdir>/training."""
    return cfg.train.state_dir or training_state_dir(cfg.workdir)


def save_progress(directory: str, progress: TrainProgress) -> None:
    """Write a checkpoint: the progress tensors (safetensors) and its JSON."""
    tensors, meta = progress.to_tensors()
    save_file(tensors, str(Path(directory) / PROGRESS_TENSORS))
    (Path(directory) / PROGRESS_JSON).write_text(json.dumps(meta))


def load_progress(directory: str) -> TrainProgress:
    """Read a checkpoint `save_progress` wrote (no pickle)."""
    tensors = load_file(str(Path(directory) / PROGRESS_TENSORS))
    meta = json.loads((Path(directory) / PROGRESS_JSON).read_text())
    return TrainProgress.from_tensors(tensors, meta)


def _shard_table(rank: int, world_size: int, batch_rows: int) -> pa.Table:
    """This worker's rows of the job's dataset (streamed; other workers' rows are skipped)."""
    import ray.train

    parts = []
    for batch in ray.train.get_dataset_shard("rows").iter_batches(
        batch_size=batch_rows, batch_format="pyarrow"
    ):
        mine = worker_rows(batch["video_id"].to_pylist(), rank, world_size)
        if mine.any():
            parts.append(batch.filter(pa.array(mine)))
    if not parts:
        raise RuntimeError(f"worker {rank} of {world_size} received no rows")
    return pa.concat_tables(parts).sort_by("video_id")


def train_worker(loop_config: dict) -> None:
    """Ray Train worker: take its rows, resume from the latest checkpoint, fit, report."""
    import ray.train
    import ray.train.torch

    quiet_worker_logs()
    cfg = DanceConfig.model_validate(loop_config["dance"])
    storage.configure(cfg.storage)
    torch.set_num_threads(cpu_threads(cfg.train.resources))
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    table = _shard_table(rank, world, cfg.train.resources.batch_size)
    arrays = training_arrays(table, loop_config["concept_counts"])
    progress = None
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            progress = load_progress(directory)
        if rank == 0:
            print(f"train: resuming from {progress.describe()}", flush=True)

    def on_checkpoint(current: TrainProgress) -> None:
        metrics = current.metrics()
        if rank != 0:
            ray.train.report(metrics)
            return
        print(f"train: {current.describe()}", flush=True)
        with tempfile.TemporaryDirectory(prefix="dance-train-") as directory:
            save_progress(directory, current)
            ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(directory))

    fit_model(
        arrays,
        loop_config["names"],
        len(loop_config["class_names"]),
        cfg.train,
        cfg.seed,
        collective=local_or_distributed(),
        progress=progress,
        on_checkpoint=on_checkpoint,
        # The worker's GPU when train.resources gives it one: NCCL all-reduces CUDA tensors.
        device=ray.train.torch.get_device(),
    )


def _labels(
    cfg: DanceConfig, manifest: Manifest
) -> tuple[pa.Table, dict[str, list[str]], dict[str, Any]]:
    """The labels table, concept names and concepts.json the variant trains on."""
    if cfg.train.variant == "linear_probe":
        return probe_labels(manifest), {"motion": [], "objects": [], "scenes": []}, {}
    bundle = read_concept_bundle(concepts_dir(cfg.workdir))
    return bundle.labels, bundle.names, bundle.index


def train_plan(cfg: DanceConfig) -> StagePlan:
    """Train's inputs (the manifest's content) and upstream stages (discover for DANCE)."""
    manifest = Manifest.read(manifest_uri(cfg.workdir))
    inputs = {
        "manifest": {"id": manifest_uri(cfg.workdir), "sha256": manifest_content_sha256(manifest)}
    }
    upstream = ("preprocess",) if cfg.train.variant == "linear_probe" else ("preprocess", "discover")
    return StagePlan(inputs, upstream)


def run_train(cfg: DanceConfig, log: Log = log_to_stderr, force: bool = False) -> TrainReport:
    """Train the model cfg.train describes and write the bundle; return the report.

    Done already (a finished record for this config and upstream stages, and the bundle in
    place): returns the recorded report without work. `force` removes the bundle and the
    checkpoints and starts over.
    """
    started = time.perf_counter()
    cfg = with_absolute_paths(cfg)
    storage.configure(cfg.storage)
    require_done(cfg.workdir, "preprocess", "dance preprocess --config <config>")
    manifest = Manifest.read(manifest_uri(cfg.workdir))
    if cfg.train.variant == "dance":
        require_done(cfg.workdir, "discover", "dance discover --config <config>")
    labels, names, index = _labels(cfg, manifest)
    plan = train_plan(cfg)
    config_json = cfg.model_dump(mode="json")
    done = None if force else current_record(
        cfg.workdir, "train", config_json, inputs=plan.inputs, upstream=plan.upstream
    )
    if done is not None and storage.exists(output_uri(cfg)):
        report = TrainReport.from_facts(done.facts)
        log(f"train: done for this config on {done.finished_at}; reusing {report.output}")
        return report
    if force or not cfg.train.resume:
        storage.remove(state_uri(cfg))
    run = begin_stage(
        cfg.workdir, "train", config_json, inputs=plan.inputs, upstream=plan.upstream, force=force,
        log=log, command="dance train --config <config>",
    )
    table, counts = join_training_table(
        read_videos(cfg.workdir, columns=["video_id", "status", "backbone"]),
        labels,
        manifest.class_names,
    )
    check_validation_rows(table, cfg.train.paper_protocol)
    concept_counts = {kind: len(values) for kind, values in names.items()}
    resources = cfg.train.resources
    log(
        f"train: {cfg.train.variant} on {table.num_rows} videos ({counts.failed} failed in "
        f"preprocessing), concepts {concept_counts}, {resources.pool_size} Ray Train worker(s)"
    )
    ensure_ray(cfg, log)
    import ray.data

    # the rank-0 checkpoint lines are the job's progress; workers inherit this context
    ray.data.DataContext.get_current().enable_progress_bars = False

    trainer = torch_trainer(
        train_worker,
        {
            "dance": config_json,
            "names": names,
            "concept_counts": concept_counts,
            "class_names": manifest.class_names,
        },
        resources,
        state_uri(cfg),
        cfg.train.run_name,
        cfg.train.keep_checkpoints,
        resume=True,
        datasets={"rows": ray.data.from_arrow(table)},
        max_failures=cfg.train.max_failures,
    )
    result = trainer.fit()
    if result.checkpoint is None:
        raise RuntimeError(f"Ray Train finished without a checkpoint: {result.error}")
    with result.checkpoint.as_directory() as directory:
        progress = load_progress(directory)
    model: DanceModel = bundle_from_progress(
        progress, cfg, manifest.class_names, index, run.record.upstream
    )
    output = output_uri(cfg)
    model.save_pretrained(output)
    report = TrainReport.build(
        progress, output, table, counts, time.perf_counter() - started, cfg.train.variant
    )
    run.finish(facts=report.to_facts(), counts=report.counts())
    log(report.describe())
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ray_jobs.train --config PRESET_OR_YAML [--set key=value ...] [--force]`."""
    return job_main(run_train, "python -m ray_jobs.train", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
