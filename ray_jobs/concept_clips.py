"""The concept-clips job: Video-TCAV's concept clips and random sets, on Ray Data.

    manifest (concept_clips.split) + the preprocess record (the backbone: L frames, S pixels)
      -> ConceptBoxStage   per video: open it, a seeded window of L frames, its boxes there
                           (DANCE-Synth's ground truth, or RT-DETR run on the window)
      -> driver            every video's possible concepts (person / object / scene), at
                           most clips_per_concept videos per concept (seeded); random sets
                           planned over the split's videos (plan_random_clips, seeded)
      -> ConceptClipStage  per chosen video: decode its frames once, cut the clips
      -> driver            writes clip parts as they stream in, then status.parquet and
                           the stage record (box source, detector, L, S, counts)

Outputs: <workdir>/posthoc/concept_clips/ (docs/posthoc.md); read them with
dance.posthoc.read_concept_clips. A video that cannot be read or shows no box is a failed
row of status.parquet with its reason; the others go on. A finished run with the same
config, inputs and preprocess record is skipped; any other run starts the outputs afresh.

    python -m ray_jobs.concept_clips --config demo [--set key=value ...] [--force]
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import pyarrow.compute as pc

from dance import storage
from dance.config import DanceConfig, StageResources
from dance.encoders import load_pretrained, resolve_model_source
from dance.errors import InputError
from dance.manifest import Manifest
from dance.posthoc import (
    VideoBoxes,
    boxes_to_json,
    choose_concept_cuts,
    cut_to_json,
    plan_random_clips,
    random_set_name,
    random_to_json,
    stable_seed,
    video_cuts,
    write_concept_clips_part,
    write_concept_status,
)
from dance.preprocess import recorded_backbone
from dance.progress import Log, log_to_stderr
from dance.synth import load_ground_truth
from dance.workdir import (
    StagePlan,
    begin_stage,
    concept_clips_dir,
    current_record,
    manifest_uri,
    model_reference,
)
from ray_jobs._placement import map_batches_args
from ray_jobs._runtime import aws_runtime_env, ensure_ray, job_main, with_absolute_paths
from ray_jobs.preprocess import cpu_scale

COMMAND = "dance concept-clips --config <config>"
GROUND_TRUTH_FILE = "ground_truth.parquet"


def box_source(cfg: DanceConfig) -> str:
    """'ground_truth' or 'detector': concept_clips.boxes, auto meaning ground truth on synth."""
    boxes = cfg.concept_clips.boxes
    if boxes == "auto":
        return "ground_truth" if cfg.dataset.name == "synth" else "detector"
    return boxes


def _ground_truth_root(cfg: DanceConfig) -> str:
    """The DANCE-Synth folder holding ground_truth.parquet (dataset.root), checked."""
    root = cfg.dataset.root
    if not root or not storage.exists(storage.join(root, GROUND_TRUTH_FILE)):
        raise InputError(
            f"concept_clips.boxes uses ground truth, but {root or 'dataset.root (unset)'} holds "
            f"no {GROUND_TRUTH_FILE}; set dataset.root to a DANCE-Synth folder, or "
            "concept_clips.boxes=detector"
        )
    return root


def concept_clips_plan(cfg: DanceConfig) -> StagePlan:
    """What the stage reads: the detector or the ground truth (hashed), and preprocess."""
    cfg = with_absolute_paths(cfg)
    if box_source(cfg) == "ground_truth":
        root = _ground_truth_root(cfg)
        inputs = {"ground_truth": model_reference(storage.join(root, GROUND_TRUTH_FILE))}
    else:  # a local folder made absolute: Ray workers do not share the driver's directory
        detector = cfg.concept_clips.detector
        local = os.path.exists(detector) and not storage.is_s3(detector)
        inputs = {"detector": model_reference(os.path.abspath(detector) if local else detector)}
    return StagePlan(inputs, ("preprocess",))


def clip_geometry(workdir: str) -> tuple[int, int, str]:
    """(L frames, S pixels, backbone) of the backbone named by the preprocess record."""
    backbone = recorded_backbone(
        workdir, "concept clips take the backbone's clip length and input size")["id"]
    from transformers import AutoConfig

    config = load_pretrained(AutoConfig.from_pretrained, resolve_model_source(backbone),
                             weights=False)  # fmt: skip
    return int(config.num_frames), int(config.image_size), backbone


def _truth_json(cfg: DanceConfig) -> dict[str, str]:
    """video_id -> its ground-truth VideoBoxes as JSON (person, the object, the scene)."""
    truth = load_ground_truth(_ground_truth_root(cfg))
    out = {}
    for video_id, gt in truth.items():
        person, obj = gt.boxes()
        out[video_id] = boxes_to_json(VideoBoxes(person, {gt.object: obj}, gt.scene))
    return out


def _stage(ds: Any, cls: type, resources: StageResources, scale: float, kwargs: dict,
           remote: dict) -> Any:  # fmt: skip
    """One actor-pool stage of the graph."""
    return ds.map_batches(cls, fn_constructor_kwargs=kwargs, batch_format="pyarrow",
                          **map_batches_args(resources, scale), **remote)  # fmt: skip


def _locate(cfg: DanceConfig, items: list[dict], length: int, detector: str | None,
            log: Log) -> list[dict]:  # fmt: skip
    """Pass 1: every item's window and boxes (ConceptBoxStage), one row per video."""
    import ray

    from actors.detector import ConceptBoxStage

    resources = cfg.concept_clips.resources
    if detector is None:
        resources = resources.model_copy(update={"num_gpus": 0.0})
    scale = cpu_scale(resources.pool_size * resources.num_cpus,
                      float(ray.cluster_resources().get("CPU", 0.0)))  # fmt: skip
    remote = aws_runtime_env(cfg, [item["uri"] for item in items])
    kwargs = {"detector": detector, "threshold": cfg.concept_clips.detector_threshold,
              "length": length, "seed": cfg.seed, "storage_config": cfg.storage}  # fmt: skip
    ds = ray.data.from_items(items, override_num_blocks=max(1, len(items)))
    ds = _stage(ds, ConceptBoxStage, resources, scale, kwargs, remote)
    rows = [r for b in ds.iter_batches(batch_size=None, batch_format="pyarrow")
            for r in b.to_pylist()]  # fmt: skip
    log(f"concept-clips: located boxes in {sum(r['status'] == 'ok' for r in rows)} of "
        f"{len(rows)} videos")
    return rows


def _random_plans(cfg: DanceConfig, located: list[dict], length: int) -> dict[str, list[dict]]:
    """video_id -> its planned random clips (set name, place in the set, start, box)."""
    ok = sorted((r for r in located if r["status"] == "ok"), key=lambda r: r["video_id"])
    settings = cfg.concept_clips
    if not any(r["num_frames"] >= length for r in ok):
        raise InputError(
            f"no readable {settings.split} video has {length} frames (the backbone's clip "
            "length), so no random set can be cut; use a split with longer videos"
        )
    plans = plan_random_clips(
        [(r["num_frames"], r["height"], r["width"]) for r in ok], [r["label"] for r in ok],
        (), settings.random_sets * settings.random_set_size, length,
        stable_seed(cfg.seed, "random"),
    )
    out: dict[str, list[dict]] = {}
    for i, plan in enumerate(plans):
        name = random_set_name(i // settings.random_set_size)
        out.setdefault(ok[plan.video]["video_id"], []).append(
            random_to_json(plan, name, i % settings.random_set_size))
    return out


def _cut_items(cfg: DanceConfig, located: list[dict], length: int) -> list[dict]:
    """Pass 2's items: each video with its chosen cuts and its random clips."""
    ok = {r["video_id"]: r for r in located if r["status"] == "ok"}
    cuts = choose_concept_cuts({v: video_cuts(r, cfg.seed) for v, r in ok.items()},
                               cfg.concept_clips.clips_per_concept, cfg.seed)  # fmt: skip
    randoms = _random_plans(cfg, located, length)
    items = []
    for video_id in sorted(set(cuts) | set(randoms)):
        row, chosen = ok[video_id], cuts.get(video_id, [])
        items.append({
            "video_id": video_id, "label": row["label"], "uri": row["uri"],
            "window": row["window"] if chosen else [],
            "cuts": json.dumps([cut_to_json(c) for c in chosen]),
            "randoms": json.dumps(randoms.get(video_id, [])),
        })  # fmt: skip
    return items


def _cut(cfg: DanceConfig, items: list[dict], length: int, size: int, out_dir: str,
         log: Log) -> tuple[dict[str, int], dict[str, str], dict[str, int]]:  # fmt: skip
    """Pass 2: cut and write every clip; (clips per video, failures, clips per group)."""
    import ray

    from actors.concept_clips import ConceptClipStage

    resources = cfg.concept_clips.resources.model_copy(update={"num_gpus": 0.0})
    scale = cpu_scale(resources.pool_size * resources.num_cpus,
                      float(ray.cluster_resources().get("CPU", 0.0)))  # fmt: skip
    remote = aws_runtime_env(cfg, [item["uri"] for item in items])
    kwargs = {"size": size, "length": length, "storage_config": cfg.storage}
    ds = ray.data.from_items(items, override_num_blocks=max(1, len(items)))
    ds = _stage(ds, ConceptClipStage, resources, scale, kwargs, remote)
    per_video: dict[str, int] = {}
    failed: dict[str, str] = {}
    per_group: dict[str, int] = {}
    part = 0
    for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
        rows = batch.to_pylist()
        for row in rows:
            if row["status"] != "ok":
                failed[row["video_id"]] = row["error"]
                continue
            per_video[row["video_id"]] = per_video.get(row["video_id"], 0) + 1
            per_group[row["group"]] = per_group.get(row["group"], 0) + 1
        clips = batch.filter(pc.equal(batch["status"], "ok"))
        if clips.num_rows:
            write_concept_clips_part(out_dir, clips.drop_columns(["status", "error"]), part)
            part += 1
    log(f"concept-clips: wrote {sum(per_video.values())} clips in {part} part(s) to {out_dir}")
    return per_video, failed, per_group


def _items(cfg: DanceConfig, manifest: Manifest, truth: dict[str, str] | None
           ) -> tuple[list[dict], list[dict]]:  # fmt: skip
    """Pass 1's items of the split's videos, and failed rows of videos without ground truth."""
    table = manifest.table
    items, failed = [], []
    for row in table.select(["video_id", "uri", "label_name", "split"]).to_pylist():
        if row["split"] != cfg.concept_clips.split:
            continue
        base = {"video_id": row["video_id"], "label": row["label_name"]}
        if truth is not None and row["video_id"] not in truth:
            failed.append({**base, "status": "failed", "error": "no_ground_truth: the video "
                           f"is not in {GROUND_TRUTH_FILE}; render the dataset again"})
            continue
        items.append({**base, "uri": row["uri"],
                      "truth": None if truth is None else truth[row["video_id"]]})
    return items, failed


def run_concept_clips(cfg: DanceConfig, log: Log = log_to_stderr, force: bool = False) -> dict:
    """Cut the concept clips of concept_clips.split into <workdir>/posthoc/concept_clips/."""
    started = time.perf_counter()
    cfg = with_absolute_paths(cfg)
    storage.configure(cfg.storage)
    plan = concept_clips_plan(cfg)
    config_json = cfg.model_dump(mode="json")
    done = current_record(cfg.workdir, "concept_clips", config_json, inputs=plan.inputs,
                          upstream=plan.upstream)  # fmt: skip
    if done is not None and not force:
        log(f"concept-clips: already done for this config in {concept_clips_dir(cfg.workdir)} "
            "(--force redoes it)")
        return {"skipped": True, **done.counts}
    length, size, backbone = clip_geometry(cfg.workdir)
    source = box_source(cfg)
    run = begin_stage(cfg.workdir, "concept_clips", config_json, inputs=plan.inputs,
                      upstream=plan.upstream, force=force, log=log, command=COMMAND)  # fmt: skip
    out_dir = concept_clips_dir(cfg.workdir)
    storage.remove(out_dir)  # a run starts afresh: no part of an older run stays
    manifest = Manifest.read(manifest_uri(cfg.workdir))
    truth = _truth_json(cfg) if source == "ground_truth" else None
    detector = None if source == "ground_truth" else plan.inputs["detector"]["id"]
    items, failed_rows = _items(cfg, manifest, truth)
    if not items:
        raise InputError(f"the manifest has no {cfg.concept_clips.split} video to cut concept "
                         "clips from; choose another concept_clips.split")
    log(f"concept-clips: {len(items)} {cfg.concept_clips.split} videos, boxes from {source}, "
        f"clips of {length} frames at {size}x{size}")
    ensure_ray(cfg, log)
    located = _locate(cfg, items, length, detector, log)
    cut_items = _cut_items(cfg, located, length)
    per_video, failed, per_group = _cut(cfg, cut_items, length, size, out_dir, log)
    status = list(failed_rows)
    for row in located:
        error = row["error"] if row["status"] != "ok" else failed.get(row["video_id"])
        clips = per_video.get(row["video_id"], 0)
        state = "failed" if error else ("ok" if clips else "unused")
        status.append({"video_id": row["video_id"], "label": row["label"], "status": state,
                       "error": error, "clips": clips})  # fmt: skip
    write_concept_status(out_dir, status)
    counts = {
        "videos": len(status), "videos_failed": sum(r["status"] == "failed" for r in status),
        "videos_used": sum(r["status"] == "ok" for r in status),
        "clips": sum(v for g, v in per_group.items() if g != "random"),
        "random_clips": per_group.get("random", 0), "clips_by_group": per_group,
    }  # fmt: skip
    run.finish(facts={
        "box_source": source, "detector": plan.inputs.get("detector"),
        "ground_truth": plan.inputs.get("ground_truth"), "backbone": backbone,
        "length": length, "size": size, "split": cfg.concept_clips.split,
        "random_sets": cfg.concept_clips.random_sets,
        "random_set_size": cfg.concept_clips.random_set_size,
    }, counts=counts)  # fmt: skip
    for video_id, reason in sorted((r["video_id"], r["error"]) for r in status if r["error"]):
        log(f"failed: {video_id}: {reason}")
    log(f"concept-clips: {counts['clips']} concept clips and {counts['random_clips']} random "
        f"clips from {counts['videos_used']} videos ({counts['videos_failed']} failed) in "
        f"{time.perf_counter() - started:.1f} s -> {out_dir}")
    return {"skipped": False, **counts}


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ray_jobs.concept_clips --config PRESET_OR_YAML [--set key=value ...] [--force]`."""
    return job_main(run_concept_clips, "python -m ray_jobs.concept_clips", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
