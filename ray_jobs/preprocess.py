"""The preprocess job: manifest -> videos/ and clips/ parts, on Ray Data, streaming, resumable.

Graph (one Ray Data pipeline; every stage an actor pool sized from config):

    from_items(video_id, uri)                       only videos not yet in videos/
      -> DecodeStage        decode once: keyframes, key-clip frames, encoder frames
      -> PoseStage          pose across videos -> clip rows, filters
      -> BackboneStage      VideoMAE features       (preprocess.enable_backbone)
      -> DualEncoderStage   video embeddings        (preprocess.enable_dual)
      -> PartWriter         clips part, then videos part (the commit), per block
    driver iterates the writer's small report rows, then summarises all outputs.

A shifted test set (<workdir>/shifted/manifest.parquet, where the dataset has one) then
goes through the same graph without pose into <workdir>/shifted/videos/.

    python -m ray_jobs.preprocess --config demo [--set key=value ...]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from dance import storage
from dance.config import DanceConfig, StageResources
from dance.manifest import Manifest
from dance.preprocess import (
    DecodePlan,
    EncoderModels,
    GroundTruthKeypoints,
    PreprocessSummary,
    annotation_reader,
    done_video_ids,
    ground_truth_uri,
    preprocess_facts,
    preprocess_inputs,
    read_videos,
    remove_orphan_clip_parts,
    remove_stale_temp_files,
    resolve_encoder_models,
    summarize_outputs,
    sweep_stale_spills,
)
from dance.progress import Log, log_to_stderr, quiet
from dance.workdir import StagePlan, begin_stage, manifest_uri, shifted_workdir, summary_uri
from ray_jobs._placement import map_batches_args
from ray_jobs._runtime import aws_runtime_env, ensure_ray, job_main, with_absolute_paths


def _stage_plan(cfg: DanceConfig, models: EncoderModels) -> list[tuple[str, StageResources]]:
    """The actor stages this run builds, with their configured resources."""
    stages = [("preprocess.decode", cfg.preprocess.decode), ("pose.resources", cfg.pose.resources)]
    if models.backbone:
        stages.append(("backbone.resources", cfg.backbone.resources))
    if models.dual:
        stages.append(("dual_encoder.resources", cfg.dual_encoder.resources))
    stages.append(("preprocess.writer", cfg.preprocess.writer))
    return stages


def cpu_scale(demand: float, available: float) -> float:
    """Factor applied to every actor's num_cpus so all pools fit in `available` CPUs (<= 1).

    Every actor pool must start for the stream to flow: pools asking for more CPUs than
    the cluster has leave Ray Data waiting forever (docs/environment.md), so they are scaled
    to 90 % of the CPUs, keeping their ratios.
    """
    if demand <= 0 or available <= 0 or demand <= 0.9 * available:
        return 1.0
    return 0.9 * available / demand


def build_dataset(
    cfg: DanceConfig,
    items: list[dict[str, str]],
    plan: DecodePlan,
    models: EncoderModels,
    log: Log,
    features_only: bool = False,
) -> Any:
    """The Ray Data pipeline from (video_id, uri) items to the writer's report rows.

    `features_only` (a shifted test set) skips the pose model: videos get encoder
    outputs and no clips.
    """
    import ray

    from actors.backbone import BackboneStage
    from actors.decode import DecodeStage
    from actors.dual import DualEncoderStage
    from actors.pose import PoseStage
    from actors.writer import PartWriter

    stages = _stage_plan(cfg, models)
    demand = sum(r.pool_size * r.num_cpus for _, r in stages)
    available = float(ray.cluster_resources().get("CPU", 0.0))
    scale = cpu_scale(demand, available)
    if scale < 1.0:
        log(
            f"WARNING: the actor pools ask for {demand:g} CPUs but Ray has {available:g}; "
            f"scaling every stage's num_cpus by {scale:.2f} so all pools can start "
            f"(set {', '.join(k + '.num_cpus' for k, _ in stages)} to silence this)"
        )
    remote = aws_runtime_env(cfg, [item["uri"] for item in items])

    def stage(ds: Any, cls: type, resources: StageResources, kwargs: dict[str, Any]) -> Any:
        return ds.map_batches(
            cls,
            fn_constructor_kwargs=kwargs,
            batch_format="pyarrow",
            **map_batches_args(resources, scale),
            **remote,
        )

    ds = ray.data.from_items(items, override_num_blocks=max(1, len(items)))
    ds = stage(
        ds, DecodeStage, cfg.preprocess.decode, {"plan": plan, "storage_config": cfg.storage}
    )
    ds = stage(ds, PoseStage, cfg.pose.resources, {"cfg": cfg, "features_only": features_only})
    if models.backbone:
        kwargs = {"model": models.backbone, "storage_config": cfg.storage}
        ds = stage(ds, BackboneStage, cfg.backbone.resources, kwargs)
    if models.dual:
        kwargs = {"model": models.dual, "kind": cfg.dual_encoder.kind, "storage_config": cfg.storage}
        ds = stage(ds, DualEncoderStage, cfg.dual_encoder.resources, kwargs)
    writer_kwargs = {"workdir": cfg.workdir, "storage_config": cfg.storage}
    return stage(ds, PartWriter, cfg.preprocess.writer, writer_kwargs)


def decode_plan(cfg: DanceConfig, models: EncoderModels) -> DecodePlan:
    """What the decode stage must produce for this config."""
    return DecodePlan(
        keyframes=cfg.keyframes,
        clips=cfg.clips,
        backbone=cfg.backbone,
        dual=cfg.dual_encoder,
        chunk_frames=cfg.preprocess.decode_chunk_frames,
        min_frames=cfg.preprocess.min_frames,
        frame_max_side=cfg.preprocess.frame_max_side,
        spill_dir=cfg.preprocess.spill_dir,
        pose_frames=cfg.pose.backend != "annotations",
        backbone_side=models.backbone_side,
        dual_side=models.dual_side,
    )


def _check_outputs(workdir: str, manifest_ids: Sequence[str], log: Log) -> None:
    """Every manifest video_id exactly once in videos/; raise naming the offenders if not."""
    ids = read_videos(workdir, columns=["video_id"]).column("video_id").to_pylist()
    seen: dict[str, int] = {}
    for video_id in ids:
        seen[video_id] = seen.get(video_id, 0) + 1
    duplicated = sorted(v for v, n in seen.items() if n > 1)
    missing = sorted(set(manifest_ids) - set(seen))
    if duplicated or missing:
        raise RuntimeError(
            f"preprocess outputs in {workdir} are inconsistent: duplicated {duplicated[:10]}, "
            f"missing {missing[:10]}; redo them with `dance preprocess --force`"
        )
    extra = set(seen) - set(manifest_ids)
    if extra:
        log(f"note: {len(extra)} video(s) in videos/ are not in the manifest (an older manifest?)")


def _todo(manifest: Manifest, done: set[str]) -> list[dict[str, str]]:
    """(video_id, uri) of the manifest's videos not yet in videos/."""
    table = manifest.table
    return [
        {"video_id": video_id, "uri": uri}
        for video_id, uri in zip(
            table.column("video_id").to_pylist(), table.column("uri").to_pylist(), strict=True
        )
        if video_id not in done
    ]


def preprocess_features_only(
    cfg: DanceConfig,
    workdir: str,
    models: EncoderModels,
    log: Log,
    what: str,
    reverse_time: bool = False,
) -> dict[str, int]:
    """Encoder features of the videos of `workdir`'s manifest into `workdir`/videos/.

    The same decode and encoder stages as the main run, without pose (these videos are
    only scored: a shifted test set, or the test videos played backwards with
    `reverse_time`); resumable like the main run. `what` names the set in the log.
    """
    manifest = Manifest.read(manifest_uri(workdir))
    for leftover in remove_stale_temp_files(workdir) + remove_orphan_clip_parts(workdir):
        log(f"resume: removed {leftover} (left by an interrupted run)")
    items = _todo(manifest, done_video_ids(workdir))
    log(f"preprocess: {what}: {len(manifest)} videos, {len(items)} to do "
        f"(features only, no pose)")
    if items:
        ensure_ray(cfg, log)
        plan = replace(decode_plan(cfg, models), pose_frames=False, reverse_time=reverse_time)
        target = cfg.model_copy(update={"workdir": workdir})
        dataset = build_dataset(target, items, plan, models, log, features_only=True)
        for _ in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
            pass
    _check_outputs(workdir, manifest.video_ids, log)
    statuses = read_videos(workdir, columns=["status"]).column("status").to_pylist()
    ok = statuses.count("ok")
    log(f"preprocess: {what}: {ok} of {len(statuses)} videos ok -> {workdir}")
    return {"videos": len(statuses), "videos_ok": ok}


def preprocess_shifted(cfg: DanceConfig, models: EncoderModels, log: Log) -> dict[str, int]:
    """Backbone and dual features of the shifted test set, if the manifest stage wrote one."""
    workdir = shifted_workdir(cfg.workdir)
    if not storage.exists(manifest_uri(workdir)):
        return {}
    counts = preprocess_features_only(cfg, workdir, models, log, "shifted test set")
    return {"shifted_videos": counts["videos"], "shifted_videos_ok": counts["videos_ok"]}


def preprocess_plan(cfg: DanceConfig, log: Log = quiet) -> StagePlan:
    """Preprocess's inputs: the models it loads (tiny stand-ins built here where allowed)."""
    cfg = with_absolute_paths(cfg)
    return StagePlan(preprocess_inputs(cfg, resolve_encoder_models(cfg, log)))


def run_preprocess(
    cfg: DanceConfig, log: Log = log_to_stderr, force: bool = False
) -> PreprocessSummary:
    """Preprocess every manifest video not yet done; summarise all outputs; write the summary.

    Refuses, before any work, to resume outputs whose stage record was made by another
    config or other models (`force` removes them and starts over).
    """
    cfg = with_absolute_paths(cfg)
    storage.configure(cfg.storage)
    started = time.perf_counter()
    manifest = Manifest.read(manifest_uri(cfg.workdir))
    workdir = cfg.workdir
    models = resolve_encoder_models(cfg, log)
    inputs = preprocess_inputs(cfg, models)
    run = begin_stage(
        workdir,
        "preprocess",
        cfg.model_dump(mode="json"),
        inputs=inputs,
        force=force,
        log=log,
        command="dance preprocess --config <config>",
    )
    for leftover in remove_stale_temp_files(workdir) + remove_orphan_clip_parts(workdir):
        log(f"resume: removed {leftover} (left by an interrupted run)")
    swept = sweep_stale_spills(cfg.preprocess.spill_dir)
    if swept:
        log(f"resume: removed {swept} frame spill file(s) of dead workers")
    items = _todo(manifest, done_video_ids(workdir))
    log(
        f"preprocess: {len(manifest)} videos in the manifest, {len(items)} to do, "
        f"{len(manifest) - len(items)} already done"
    )
    reports: list[dict[str, Any]] = []
    if items:
        if cfg.pose.backend == "annotations":
            annotation_reader(cfg)  # fail before starting Ray when annotations are missing
        ensure_ray(cfg, log)
        dataset = build_dataset(cfg, items, decode_plan(cfg, models), models, log)
        for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
            reports.extend(batch.to_pylist())
    truth_uri = ground_truth_uri(cfg)
    truth = GroundTruthKeypoints(truth_uri) if truth_uri else None
    summary = summarize_outputs(workdir, cfg.clips.clip_length, truth)
    summary.processed_this_run = len(reports)
    summary.skipped_as_done = len(manifest) - len(items)
    summary.frames_this_run = sum(int(r["num_frames"] or 0) for r in reports)
    summary.seconds = time.perf_counter() - started
    _check_outputs(workdir, manifest.video_ids, log)
    shifted = preprocess_shifted(cfg, models, log)
    storage.write_json(summary.to_dict(), summary_uri(workdir, "preprocess"))
    run.finish(
        facts=preprocess_facts(cfg, models, inputs),
        counts={
            "videos": summary.videos,
            "videos_ok": summary.videos_ok,
            "clips": summary.clips,
            "clips_kept": summary.clips_kept,
            "processed_this_run": summary.processed_this_run,
            **shifted,
        },
    )
    log(summary.describe())
    log(f"summary written to {summary_uri(workdir, 'preprocess')}")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ray_jobs.preprocess --config PRESET_OR_YAML [--set key=value ...] [--force]`."""
    return job_main(run_preprocess, "python -m ray_jobs.preprocess", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
