"""The evaluate job: the trained bundle on every decoded video -> <workdir>/reports/.

    model/ (DanceModel) + videos/ (backbone features) + the manifest (labels, splits)
      -> per split (train, val, test, and the shifted test set where preprocess stored one):
         top-1, top-5, per-class accuracy, confusion matrix
      -> reports/metrics.json, reports/predictions.parquet (one row per decoded video),
         and the evaluate stage record

A linear map over stored features needs no cluster: it runs on the driver, batched.

    python -m ray_jobs.evaluate --config demo [--set key=value ...] [--force]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dance import storage
from dance.concepts import read_concept_bundle
from dance.config import DanceConfig
from dance.manifest import SPLITS, Manifest
from dance.preprocess import read_videos
from dance.progress import Log, log_to_stderr
from dance.train import (
    DanceModel,
    feature_matrix,
    join_on_video_id,
    most_confused,
    split_metrics,
)
from dance.workdir import (
    StagePlan,
    begin_stage,
    concepts_dir,
    manifest_uri,
    reports_dir,
    require_done,
    shifted_workdir,
    videos_dir,
)
from ray_jobs._runtime import job_main, with_absolute_paths
from ray_jobs.train import output_uri

METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.parquet"
SHIFTED = "shifted"  # the split name of the shifted test set's videos
BATCH_ROWS = 4096  # features scored per batch: bounded memory on large datasets


def _decoded(workdir: str, manifest: Manifest) -> tuple[pa.Table, int]:
    """(video_id, features, label, split) of a workdir's decoded videos, and the failed count."""
    videos = read_videos(workdir, columns=["video_id", "status", "backbone"])
    ok = videos.filter(pc.equal(videos["status"], "ok"))
    table = join_on_video_id(
        ok.select(["video_id", "backbone"]).rename_columns(["video_id", "features"]),
        manifest.table.select(["video_id", "label", "split"]),
    )
    return table.sort_by("video_id"), videos.num_rows - ok.num_rows


def load_decoded(cfg: DanceConfig, manifest: Manifest) -> tuple[pa.Table, int]:
    """(video_id, features, label, split) of every decoded video, and the failed count.

    The shifted test set's videos, where preprocess stored them, come last with split
    `shifted`.
    """
    table, failed = _decoded(cfg.workdir, manifest)
    shifted = shifted_workdir(cfg.workdir)
    if not storage.exists(manifest_uri(shifted)) or not storage.exists(videos_dir(shifted)):
        return table, failed
    extra, extra_failed = _decoded(shifted, Manifest.read(manifest_uri(shifted)))
    extra = extra.set_column(
        extra.schema.get_field_index("split"), "split",
        pa.array([SHIFTED] * extra.num_rows, pa.string()),
    )
    return pa.concat_tables([table, extra.cast(table.schema)]), failed + extra_failed


def evaluated_splits(table: pa.Table) -> tuple[str, ...]:
    """train, val, test, and shifted where the table has shifted videos."""
    return (*SPLITS, SHIFTED) if SHIFTED in set(table["split"].to_pylist()) else SPLITS


def _without_person(cfg: DanceConfig, table: pa.Table) -> dict[str, int]:
    """Per split: decoded videos with no kept pose clip (they are evaluated all the same)."""
    try:
        labels = read_concept_bundle(concepts_dir(cfg.workdir)).labels
    except (FileNotFoundError, storage.StorageError):
        return {}
    unknown = set(labels.filter(pc.invert(labels["motion_known"]))["video_id"].to_pylist())
    counts = dict.fromkeys(evaluated_splits(table), 0)
    for video_id, split in zip(table["video_id"].to_pylist(), table["split"].to_pylist(),
                               strict=True):
        counts[split] += video_id in unknown
    return counts


def evaluate_model(
    model: DanceModel, table: pa.Table, top_k: int = 5
) -> tuple[dict[str, Any], pa.Table]:
    """Metrics per split and the per-video predictions table of a decoded-video table."""
    parts, logits = [], []
    for start in range(0, table.num_rows, BATCH_ROWS):
        batch = table.slice(start, BATCH_ROWS)
        features = feature_matrix(batch)
        parts.append(model.predictions_table(
            batch["video_id"].to_pylist(), features, batch["label"].to_numpy()
        ))
        logits.append(model.logits(features).numpy())
    all_logits = np.concatenate(logits) if logits else np.zeros((0, model.num_classes))
    predictions = pa.concat_tables(parts) if parts else model.predictions_table([], [], [])
    predictions = predictions.append_column("split", table["split"])
    splits = np.asarray(table["split"].to_pylist(), dtype=object)
    labels = table["label"].to_numpy()
    metrics = {}
    for split in evaluated_splits(table):
        rows = splits == split
        result = split_metrics(labels[rows], all_logits[rows], model.class_names, top_k)
        result["most_confused"] = most_confused(result["confusion"], model.class_names)[:10]
        metrics[split] = result
    return metrics, predictions


def evaluate_plan(cfg: DanceConfig) -> StagePlan:
    """Evaluate reads the trained bundle: its upstream is train."""
    return StagePlan({}, ("train",))


def run_evaluate(
    cfg: DanceConfig, log: Log = log_to_stderr, force: bool = False, table: bool = False
) -> dict:
    """Evaluate the trained bundle on every decoded video; write reports/ and the record.

    With `table`, also build the Table 1 rows side by side (ray_jobs.table).
    """
    started = time.perf_counter()
    cfg = with_absolute_paths(cfg)
    storage.configure(cfg.storage)
    require_done(cfg.workdir, "train", "dance train --config <config>")
    run = begin_stage(
        cfg.workdir, "evaluate", cfg.model_dump(mode="json"),
        upstream=evaluate_plan(cfg).upstream, force=force,
        log=log, command="dance evaluate --config <config>",
    )
    manifest = Manifest.read(manifest_uri(cfg.workdir))
    model = DanceModel.from_pretrained(output_uri(cfg))
    decoded, failed = load_decoded(cfg, manifest)
    metrics, predictions = evaluate_model(model, decoded)
    report = {
        "model": output_uri(cfg),
        "kind": model.kind,
        "concepts": {t: len(n) for t, n in model.concept_names_by_type.items()},
        "splits": metrics,
        "videos_failed_in_preprocessing": failed,
        "videos_without_person": _without_person(cfg, decoded),
        "class_names": model.class_names,
        "seconds": round(time.perf_counter() - started, 3),
    }
    out = reports_dir(cfg.workdir)
    storage.write_parquet(predictions, storage.join(out, PREDICTIONS_FILE))
    storage.write_json(report, storage.join(out, METRICS_FILE))
    headline = {s: metrics[s]["top1"] for s in metrics}
    run.finish(facts={"top1": headline}, counts={s: metrics[s]["num_videos"] for s in metrics})
    for split in ("val", "test", SHIFTED):
        if split not in metrics:
            continue
        m = metrics[split]
        if m["num_videos"]:
            log(f"{split}: top-1 {m['top1']:.3f}, top-5 {m['top5']:.3f} on {m['num_videos']} videos")
    log(f"metrics and per-video predictions written to {out}")
    if table:
        from ray_jobs.table import run_table

        report["table"] = run_table(cfg, log)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ray_jobs.evaluate --config PRESET_OR_YAML [--set key=value ...] [--force]`."""
    return job_main(run_evaluate, "python -m ray_jobs.evaluate", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
