"""The tcav stage: Video-TCAV on the fine-tuned backbone, from the concept clips.

    posthoc/concept_clips/ (dance concept-clips) + the backbone of the preprocess record
    (+ model/ with tcav.target: dance) + the manifest's tcav.split videos
      -> per layer, one Ray task: concept clips' activations, each class's gradients
         (cached in posthoc/tcav_cache/, keyed by clips, model, layer and pooling)
      -> Ray tasks over (concept group, layer, random run): relative CAVs and TCAV scores
      -> posthoc/tcav/tcav.json: one row per (class, layer, concept) with mean sign-count,
         magnitude, the random baseline, the t-test and Bonferroni-corrected p-value

A concept with fewer than 2 clips is skipped (listed with its reason), a video that
fails to decode is listed as failed; the rest goes on.

    python -m ray_jobs.tcav --config demo [--set key=value ...] [--force]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from dance import storage
from dance.config import DanceConfig
from dance.errors import InputError
from dance.manifest import Manifest
from dance.posthoc import read_concept_clips, tcav_run, tcav_table
from dance.preprocess import recorded_backbone
from dance.progress import Log, log_to_stderr
from dance.workdir import (
    StagePlan,
    begin_stage,
    current_record,
    manifest_uri,
    model_dir,
    model_reference,
    require_done,
    tcav_cache_dir,
    tcav_dir,
)
from ray_jobs._placement import task_options
from ray_jobs._runtime import ensure_ray, job_main, with_absolute_paths
from ray_jobs._tcav_tensors import CONCEPTS, ModelSpec, class_examples, layer_tensors

TCAV_FILE = "tcav.json"
MIN_CLIPS = 2  # a CAV is fitted on some clips and tested on others


def tcav_uri(workdir: str) -> str:
    """<workdir>/posthoc/tcav/tcav.json: the TCAV table."""
    return storage.join(tcav_dir(workdir), TCAV_FILE)


def tcav_plan(cfg: DanceConfig) -> StagePlan:
    """TCAV reads the concept clips, the preprocess record's backbone and, for dance, the model."""
    upstream = ("concept_clips", "preprocess") + (("train",) if cfg.tcav.target == "dance" else ())
    return StagePlan({}, upstream)


def _model_spec(cfg: DanceConfig) -> ModelSpec:
    """The backbone the preprocess job used (from its record) and the DANCE bundle if targeted."""
    reference = recorded_backbone(cfg.workdir, "TCAV explains the backbone that made the features")
    backbone, recorded = reference["id"], reference["sha256"]
    sha = model_reference(backbone)["sha256"]  # the files as they are now: the cache key's
    if recorded is not None and sha != recorded:
        raise InputError(
            f"the backbone {backbone} changed since `dance preprocess` used it (sha256 "
            f"{recorded[:12]} then, {str(sha)[:12]} now); TCAV explains the model that made "
            "the features: redo `dance preprocess --config <config> --force`, or restore it"
        )
    if cfg.tcav.target == "backbone":
        return ModelSpec(backbone, sha, "backbone")
    require_done(cfg.workdir, "train", "dance train --config <config>")
    bundle = model_dir(cfg.workdir)
    return ModelSpec(backbone, sha, "dance", bundle, model_reference(bundle)["sha256"])


def _usable_concepts(
    groups: Mapping[str, Mapping[str, list]], log: Log
) -> tuple[dict[str, dict[str, list]], list[dict[str, str]]]:
    """Groups without concepts of fewer than MIN_CLIPS clips, and the skipped ones' reasons."""
    usable: dict[str, dict[str, list]] = {}
    skipped = []
    for group, concepts in sorted(groups.items()):
        for concept, clips in sorted(concepts.items()):
            if len(clips) < MIN_CLIPS:
                reason = (f"{len(clips)} clip(s); at least {MIN_CLIPS} are needed to fit and "
                          "test a CAV (cut clips from more videos: concept_clips.split)")
                skipped.append({"group": group, "concept": concept, "reason": reason})
                log(f"tcav: skipped concept {concept!r} ({group}): {reason}")
            else:
                usable.setdefault(group, {})[concept] = clips
    return usable, skipped


def _equal_random_sets(random_sets: list[list], log: Log) -> list[list]:
    """The random sets cut to the size of the smallest (a video may fail while cut), >= 2."""
    usable = [s for s in random_sets if len(s) >= MIN_CLIPS]
    if len(usable) < 2:
        raise InputError(
            f"the concept clips hold {len(usable)} random set(s) of {MIN_CLIPS} clips or more; "
            "TCAV's baseline needs at least 2: raise concept_clips.random_sets and redo "
            "`dance concept-clips --config <config> --force`"
        )
    size = min(len(s) for s in usable)
    if len(usable) < len(random_sets) or any(len(s) > size for s in usable):
        log(f"tcav: {len(usable)} of {len(random_sets)} random sets used, {size} clips each "
            "(some clips could not be cut)")
    return [s[:size] for s in usable]


def _check_layers(cfg: DanceConfig, cam: Any) -> list[str]:
    """The configured layers (every block when none), each checked; InputError lists valid ones."""
    return [cam.check_layer(name) for name in cfg.tcav.layers] or cam.layer_names


def _score_runs(
    cfg: DanceConfig, tensors: Mapping[str, Mapping[str, torch.Tensor]],
    groups: Mapping[str, Mapping[str, list]], random_count: int, class_names: Sequence[str],
    log: Log,
) -> list[Any]:  # fmt: skip
    """Every (group, layer, run) cell as a Ray task; returns their RunScores."""
    import ray

    ensure_ray(cfg, log)
    task = ray.remote(tcav_run).options(**task_options(cfg.tcav.resources))
    futures = []
    for layer, named in tensors.items():
        rows = named[CONCEPTS]
        start, by_group = 0, {}
        for group, concepts in groups.items():
            by_group[group] = {}
            for concept, clips in concepts.items():
                # a copy: a pickled view would carry the whole tensor to every task
                by_group[group][concept] = rows[start : start + len(clips)].clone()
                start += len(clips)
        size = (rows.shape[0] - start) // random_count
        randoms = ray.put([rows[start + r * size : start + (r + 1) * size].clone()
                           for r in range(random_count)])
        gradients = ray.put({class_names[int(i)]: g for i, g in named.items() if i != CONCEPTS})
        for group, concepts in by_group.items():
            shared = ray.put(concepts)
            futures.extend(
                task.remote(group, layer, run, shared, randoms, gradients, cfg.seed,
                            cfg.tcav.cav_alpha)
                for run in range(random_count)
            )
    log(f"tcav: {len(futures)} runs (groups x layers x {random_count} random sets)")
    return ray.get(futures)


def run_tcav(cfg: DanceConfig, log: Log = log_to_stderr, force: bool = False) -> dict:
    """Video-TCAV of every concept group at every layer; write tcav.json and the record."""
    started = time.perf_counter()
    cfg = with_absolute_paths(cfg)
    storage.configure(cfg.storage)
    require_done(cfg.workdir, "concept_clips", "dance concept-clips --config <config>")
    plan = tcav_plan(cfg)
    done = current_record(cfg.workdir, "tcav", cfg.model_dump(mode="json"),
                          upstream=plan.upstream)
    if done is not None and not force and storage.exists(tcav_uri(cfg.workdir)):
        log(f"tcav: already done for this config: {tcav_uri(cfg.workdir)} (--force redoes it)")
        return storage.read_json(tcav_uri(cfg.workdir))
    spec = _model_spec(cfg)
    cam = spec.load()  # the class names, and the layers checked before any work
    layers = _check_layers(cfg, cam)
    run = begin_stage(
        cfg.workdir, "tcav", cfg.model_dump(mode="json"), upstream=plan.upstream,
        force=force, log=log, command="dance tcav --config <config>",
    )
    cam_classes = cam.class_names
    concept_clips = read_concept_clips(cfg.workdir)
    groups, skipped = _usable_concepts(concept_clips.groups(), log)
    random_sets = _equal_random_sets(concept_clips.random_sets(), log)
    if not groups:
        raise InputError(
            "no concept has 2 clips or more; cut more concept clips (`dance concept-clips`, "
            "concept_clips.split / clips_per_concept)"
        )
    manifest = Manifest.read(manifest_uri(cfg.workdir))
    examples, failed = class_examples(cfg, manifest, spec.backbone, cam_classes, log)
    if not examples:
        raise InputError(
            f"no {cfg.tcav.split} video belongs to a class of the explained model (its classes: "
            f"{', '.join(cam_classes[:10])}{' ...' if len(cam_classes) > 10 else ''}; the "
            f"manifest's: {', '.join(manifest.class_names[:10])}); explain a head trained on "
            "this dataset (`dance finetune-backbone`) or DANCE's logit (tcav.target=dance)"
        )
    missing = [name for name in cam_classes if name not in examples]
    if missing:
        log(f"tcav: no {cfg.tcav.split} video to score for {len(missing)} class(es): "
            + ", ".join(missing[:10]))
    index = {name: i for i, name in enumerate(cam_classes)}
    ordered = [clip for concepts in groups.values() for clips in concepts.values()
               for clip in clips] + [clip for s in random_sets for clip in s]
    tensors = layer_tensors(cfg, spec, layers, ordered,
                            {index[name]: clips for name, clips in examples.items()},
                            tcav_cache_dir(cfg.workdir), log)
    cells = _score_runs(cfg, tensors, groups, len(random_sets), cam_classes, log)
    rows, hypotheses = tcav_table(cells, concept_clips.kinds(), cfg.tcav.alpha)
    result = {
        "target": spec.target, "backbone": spec.backbone, "pooling": cfg.tcav.pooling,
        "layers": layers, "runs": len(random_sets), "alpha": cfg.tcav.alpha,
        "hypotheses": hypotheses, "split": cfg.tcav.split,
        "examples": {name: len(clips) for name, clips in sorted(examples.items())},
        "concepts": {g: {c: len(clips) for c, clips in cs.items()} for g, cs in groups.items()},
        "skipped_concepts": skipped,
        "failed_videos": [{"video_id": v, "error": e} for v, e in sorted(failed.items())],
        "results": rows, "seconds": round(time.perf_counter() - started, 3),
    }
    storage.write_json(result, tcav_uri(cfg.workdir))
    significant = sum(row["significant"] for row in rows)
    log(f"tcav: {significant} of {hypotheses} (class, layer, concept) scores significant at "
        f"alpha {cfg.tcav.alpha} (Bonferroni); table in {tcav_uri(cfg.workdir)}")
    run.finish(
        facts={"target": spec.target, "backbone": {"id": spec.backbone, "sha256": spec.backbone_sha256},
               "layers": layers, "runs": len(random_sets), "hypotheses": hypotheses,
               "significant": significant},
        counts={"classes": len(examples), "failed_videos": len(failed),
                "skipped_concepts": len(skipped)},
    )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ray_jobs.tcav --config PRESET_OR_YAML [--set key=value ...] [--force]`."""
    return job_main(run_tcav, "python -m ray_jobs.tcav", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
