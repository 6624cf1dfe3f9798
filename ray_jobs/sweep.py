"""`dance train --sweep`: the final layer's lambda path on Ray tasks, and the pick.

    model/ (concept layers + standardisation, fixed) + videos/ features + the manifest
      -> standardised concept activations of the train and validation videos (driver)
      -> train.sweep_lams cut into train.sweep_tasks contiguous segments, one Ray task
         each, every solve warm-started from the previous lambda of its segment
      -> the path (lambda, non-zeros, train/val accuracy, objective) as a table, the pick
         (best validation accuracy within train.sweep_max_nonzeros_per_class)
      -> reports/lambda_path.json and the picked model as a bundle in sweep/model
"""

from __future__ import annotations

import numpy as np
import torch

from dance import storage
from dance.config import DanceConfig
from dance.manifest import Manifest
from dance.progress import Log
from dance.train import (
    DanceModel,
    PathPoint,
    feature_matrix,
    format_path,
    lambda_path,
    path_segments,
    pick_lambda,
    validation_split,
)
from dance.workdir import manifest_uri, reports_dir
from ray_jobs._placement import task_options
from ray_jobs._runtime import ensure_ray, with_absolute_paths
from ray_jobs.evaluate import load_decoded
from ray_jobs.train import output_uri

PATH_FILE = "lambda_path.json"


def sweep_output_uri(cfg: DanceConfig) -> str:
    """The picked model's bundle: <workdir>/sweep/model."""
    return storage.join(cfg.workdir, "sweep", "model")


def _segment_task(
    arrays: dict[str, np.ndarray], num_classes: int, lams: list[float], alpha: float,
    tol: float, max_iter: int, slices: dict[str, tuple[int, int]],
) -> list[PathPoint]:
    """One segment of the path (runs inside a Ray task, one thread)."""
    torch.set_num_threads(1)
    tensors = {k: torch.tensor(v) for k, v in arrays.items()}  # Ray hands read-only arrays
    return lambda_path(
        tensors["train_x"], tensors["train_y"], tensors["val_x"], tensors["val_y"],
        num_classes, lams, alpha, tol=tol, max_iter=max_iter,
        type_slices={k: slice(a, b) for k, (a, b) in slices.items()},
    )


def run_sweep(cfg: DanceConfig, log: Log) -> PathPoint:
    """Solve the lambda path on the trained model's concepts; write the path and the pick."""
    import ray

    cfg = with_absolute_paths(cfg)
    storage.configure(cfg.storage)
    model = DanceModel.from_pretrained(output_uri(cfg))
    manifest = Manifest.read(manifest_uri(cfg.workdir))
    decoded, _ = load_decoded(cfg, manifest)
    splits = np.asarray(decoded["split"].to_pylist(), dtype=object)
    standardized = model.standardized(feature_matrix(decoded)).double().numpy()
    labels = decoded["label"].to_numpy().astype(np.int64)
    val = validation_split(cfg.train.paper_protocol)
    arrays = {
        "train_x": standardized[splits == "train"], "train_y": labels[splits == "train"],
        "val_x": standardized[splits == val], "val_y": labels[splits == val],
    }
    slices = {k: (s.start, s.stop) for k, s in model.type_slices.items() if s.stop > s.start}
    segments = path_segments(cfg.train.sweep_lams, cfg.train.sweep_tasks)
    log(
        f"sweep: {len(cfg.train.sweep_lams)} lambdas in {len(segments)} Ray task(s) on "
        f"{standardized.shape[1]} concepts, {int((splits == 'train').sum())} train videos"
    )
    ensure_ray(cfg, log)
    shared = ray.put(arrays)
    task = ray.remote(_segment_task).options(**task_options(cfg.train.resources))
    futures = [
        task.remote(shared, model.num_classes, lams, cfg.train.alpha, cfg.train.proximal_tol,
                    cfg.train.proximal_max_iter, slices)
        for lams in segments
    ]
    points = [point for segment in ray.get(futures) for point in segment]
    picked = pick_lambda(points, cfg.train.sweep_max_nonzeros_per_class)
    log(format_path(points, picked))
    storage.write_json(
        {
            "model": output_uri(cfg),
            "validation_split": val,
            "max_nonzeros_per_class": cfg.train.sweep_max_nonzeros_per_class,
            "picked": picked.lam,
            "path": [p.to_json() for p in sorted(points, key=lambda p: -p.lam)],
        },
        storage.join(reports_dir(cfg.workdir), PATH_FILE),
    )
    chosen = DanceModel(
        kind=model.kind,
        concept_weights={t: layer.weight for t, layer in model.concepts.items()},
        mean=model.standardize.mean,
        std=model.standardize.std,
        final_weight=picked.W.float(),
        final_bias=picked.b.float(),
        concept_names=model.concept_names_by_type if model.kind != "linear_probe" else {},
        class_names=model.class_names,
        concept_sources=model.concept_sources,
        metadata={**model.metadata, "sweep": {"lam": picked.lam, "parent": output_uri(cfg)}},
    )
    chosen.save_pretrained(sweep_output_uri(cfg))
    log(f"picked lambda {picked.lam:g} (val accuracy {picked.val_acc:.3f}, {picked.nonzeros} "
        f"non-zero weights); its model: {sweep_output_uri(cfg)}")
    return picked
