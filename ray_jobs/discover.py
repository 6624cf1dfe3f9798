"""The discover job: motion concepts, object/scene concepts and their labels -> <workdir>/concepts/.

    manifest.parquet + clips/ + the preprocess record (clip length L, dual encoder)
      -> ONE Ray task holding the clip matrix (discover.motion.resources): FINCH motion
         concepts, per-video multi-hot labels (Eq. 2), NMI figures   (dance.concepts)
      -> object/scene concepts and labels on the driver, by discover.language.source
      -> concepts/ (labels.parquet: every manifest video once), discover_summary.json,
         and the discover stage record

The library logic lives in dance.concepts; this module only places it on Ray.

    python -m ray_jobs.discover --config demo [--set key=value ...] [--force]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from dance import storage
from dance.cluster import estimate_finch_memory
from dance.concepts import (
    LANGUAGE_CACHE_DIR,
    MOTION_CLIP_COLUMNS,
    DiscoverSummary,
    LanguageOutputs,
    MotionOutputs,
    annotation_outputs,
    assemble_labels,
    concept_index,
    discover_summary,
    motion_outputs,
    pseudo_label_outputs,
    quality_headline,
    read_concept_annotations,
    resolve_answers_file,
    run_label_quality,
    write_concept_index,
    write_labels,
    write_language,
    write_motion,
)
from dance.config import DanceConfig
from dance.datasets import manifest_content_sha256
from dance.errors import StageError
from dance.manifest import Manifest
from dance.preprocess import dual_embeddings, ground_truth_uri, read_clips, read_videos
from dance.progress import Log, log_to_stderr
from dance.workdir import (
    StagePlan,
    StageRecord,
    begin_stage,
    concepts_dir,
    manifest_uri,
    model_reference,
    require_done,
    summary_uri,
)
from ray_jobs._placement import task_options
from ray_jobs._runtime import aws_runtime_env, ensure_ray, job_main, with_absolute_paths


def motion_task(
    cfg: DanceConfig, manifest_table: pa.Table, clip_length: int, truth_uri: str | None
) -> MotionOutputs:
    """Read the workdir's clips and discover motion concepts (runs inside one Ray task)."""
    storage.configure(cfg.storage)
    return motion_outputs(
        read_clips(cfg.workdir, columns=MOTION_CLIP_COLUMNS),
        manifest_table,
        cfg.discover.motion,
        normalization=cfg.pose.normalization,
        clip_length=clip_length,
        truth_uri=truth_uri,
        seed=cfg.seed,
    )


def _run_motion_task(
    cfg: DanceConfig, manifest_table: pa.Table, clip_length: int, truth_uri: str | None
) -> MotionOutputs:
    """motion_task in one Ray task placed by discover.motion.resources."""
    import ray

    options: dict[str, Any] = {
        **task_options(cfg.discover.motion.resources),
        "max_retries": 1,  # idempotent: it only reads clips/ and returns arrays
        **aws_runtime_env(cfg, []),
    }
    task = ray.remote(motion_task).options(**options)
    return ray.get(task.remote(cfg, manifest_table, clip_length, truth_uri))


def _read_videos(cfg: DanceConfig, manifest: Manifest) -> pa.Table:
    """videos/ rows of the manifest's videos; errors when preprocess has not covered them all."""
    videos = read_videos(cfg.workdir, columns=["video_id", "status", "dual"])
    present = set(videos["video_id"].to_pylist())
    missing = [v for v in manifest.video_ids if v not in present]
    if missing:
        raise StageError(
            f"{cfg.workdir}/videos lacks {len(missing)} manifest videos (first: {missing[:3]}); "
            "run `dance preprocess` again to finish them (it resumes)"
        )
    return videos


def _language(
    cfg: DanceConfig,
    manifest: Manifest,
    videos: pa.Table,
    ok: dict[str, bool],
    preprocessed: StageRecord,
    log: Log,
) -> LanguageOutputs:
    """Object and scene concepts and labels, by discover.language.source."""
    if cfg.discover.language.source == "annotations":
        table, uri = read_concept_annotations(cfg.dataset.root)
        return annotation_outputs(manifest, table, uri, ok)
    dual = preprocessed.facts.get("dual_encoder")
    if not dual:
        raise StageError(
            "the preprocess record names no dual encoder (preprocess.enable_dual was off), so "
            f"discover.language.source={cfg.discover.language.source} has no video embeddings; "
            "redo preprocess with preprocess.enable_dual=true and --force, or use "
            "discover.language.source=annotations"
        )
    log(f"discover: pseudo labels with the dual encoder preprocess used: {dual['id']}")
    return pseudo_label_outputs(
        cfg.discover,
        manifest,
        dual_embeddings(videos),
        dual["id"],
        dual["kind"],
        storage.join(concepts_dir(cfg.workdir), LANGUAGE_CACHE_DIR),
    )


def discover_plan(cfg: DanceConfig) -> StagePlan:
    """Discover's inputs (the manifest's content, annotations or answers) and upstream."""
    manifest = Manifest.read(manifest_uri(cfg.workdir))
    inputs = {
        "manifest": {"id": manifest_uri(cfg.workdir), "sha256": manifest_content_sha256(manifest)}
    }
    if cfg.discover.language.source == "annotations" and cfg.dataset.root:
        inputs["annotations"] = model_reference(
            storage.join(cfg.dataset.root, "concept_annotations.parquet")
        )
    if cfg.discover.language.source == "answers":
        answers_file = str(cfg.discover.language.answers_file)
        inputs["answers"] = model_reference(resolve_answers_file(answers_file))
    return StagePlan(inputs, ("preprocess",))


def run_discover(
    cfg: DanceConfig, log: Log = log_to_stderr, force: bool = False
) -> DiscoverSummary:
    """Discover motion, object and scene concepts and write <workdir>/concepts/ (rerun-safe)."""
    cfg = with_absolute_paths(cfg)
    storage.configure(cfg.storage)
    started = time.perf_counter()
    manifest = Manifest.read(manifest_uri(cfg.workdir))
    preprocessed = require_done(cfg.workdir, "preprocess", "dance preprocess --config <config>")
    plan = discover_plan(cfg)
    run = begin_stage(
        cfg.workdir,
        "discover",
        cfg.model_dump(mode="json"),
        inputs=plan.inputs,
        upstream=plan.upstream,
        force=force,
        log=log,
        command="dance discover --config <config>",
    )
    videos = _read_videos(cfg, manifest)
    ok = {
        v: s == "ok"
        for v, s in zip(videos["video_id"].to_pylist(), videos["status"].to_pylist(), strict=True)
    }
    clip_length = int(preprocessed.facts["clip_length"])
    ensure_ray(cfg, log)
    log(f"discover: motion concepts of {len(manifest)} videos (L={clip_length}) in one Ray task")
    kept = int(preprocessed.counts.get("clips_kept", 0))
    if kept >= 2:  # FINCH checks this again on the task's node, against its free memory
        peak = estimate_finch_memory(
            kept,
            clip_length * preprocessed.facts.get("num_joints", 17) * 2,
            np.float32,
            cfg.discover.motion.neighbors,
        )
        log(f"discover: FINCH on at most {kept} clips expects a peak of {peak.describe()}")
    table = manifest.table.select(["video_id", "label", "split"])
    motion = _run_motion_task(cfg, table, clip_length, ground_truth_uri(cfg))
    log(
        f"discover: {motion.num_concepts} motion concepts; object/scene concepts "
        f"(source={cfg.discover.language.source})"
    )
    language = _language(cfg, manifest, videos, ok, preprocessed, log)
    quality = run_label_quality(cfg.discover, cfg.dataset.root, manifest, language)
    labels = assemble_labels(manifest, motion, language)
    out = concepts_dir(cfg.workdir)
    write_motion(out, motion)
    write_language(out, language.objects, language.scenes, language.report)
    write_labels(out, labels)
    template = cfg.discover.pseudo_labels.template
    write_concept_index(
        out, concept_index(motion, language, cfg.discover.language.source, template)
    )
    summary = discover_summary(
        labels,
        ok,
        motion,
        language,
        cfg.discover.language.source,
        time.perf_counter() - started,
        label_quality=quality,
    )
    storage.write_json(summary.to_dict(), summary_uri(cfg.workdir, "discover"))
    run.finish(
        facts={
            "clip_length": clip_length,
            "motion_feature_dim": motion.summary["feature_dim"],
            "concepts": {
                "motion": motion.num_concepts,
                "objects": len(language.objects),
                "scenes": len(language.scenes),
            },
            "motion_partition_level": motion.bank.partition_level,
            "label_mode": language.label_mode,
            "dual_encoder": preprocessed.facts.get("dual_encoder")
            if language.label_mode == "pseudo_labels"
            else None,
            # mean pseudo-label ROC-AUC per type and split; None without ground truth
            "label_quality": quality_headline(quality) if quality else None,
        },
        counts={
            "videos": summary.videos,
            "videos_motion_known": summary.videos_motion_known,
            "videos_language_known": summary.videos_language_known,
            "clips_clustered": summary.clips_clustered,
        },
    )
    log(summary.describe())
    log(f"concepts written to {out}")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ray_jobs.discover --config PRESET_OR_YAML [--set key=value ...] [--force]`."""
    return job_main(run_discover, "python -m ray_jobs.discover", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
