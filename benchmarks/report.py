"""The HTML report at UCF-101 scale: 1,000 test videos, 200 motion concepts, 101 classes.

    python benchmarks/report.py [--videos 1000] [--concepts 200] [--pages 300]
        [--out benchmarks/results/report.json]

Builds a DanceModel of UCF-101's shape (101 classes; 200 motion, 300 object, 200 scene
concepts over 768-d features, sparse final layer) and a report input of 1,000 test
videos whose features are class means plus noise, and 200 motion concepts whose clips are
16-frame pose sequences (a standing figure whose arms and legs swing at per-concept
rates). Then, side by side in one process, on the same input:

- the first run into an empty folder (renders every animation);
- a second run into the same folder (animations found in the cache);
- the animation step alone, first and second time.

Targets (issue 12): the first run <= 60 s, index.html <= 2 MB, a second run's animation
step >= 10x faster than the first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from dance.progress import quiet
from dance.report import ReportInputs, cached_pose_animation, write_report_site
from dance.train import DanceModel

CLASSES, DIM = 101, 768
TYPES = {"motion": 200, "object": 300, "scene": 200}


def ucf_shaped_model(motion: int, seed: int = 0) -> DanceModel:
    """Random concept layers, a sparse final layer (about 30 non-zeros per class)."""
    rng = np.random.default_rng(seed)
    sizes = {**TYPES, "motion": motion}
    names = {t: [f"{t}_{k:03d}" for k in range(n)] for t, n in sizes.items()}
    total = sum(sizes.values())
    weight = rng.normal(size=(CLASSES, total)) * (rng.random((CLASSES, total)) < 30 / total)
    return DanceModel(
        kind="dance",
        concept_weights={t: rng.normal(size=(n, DIM)) / np.sqrt(DIM) for t, n in sizes.items()},
        mean=np.zeros(total), std=np.ones(total), final_weight=weight,
        final_bias=rng.normal(size=CLASSES) * 0.1, concept_names=names,
        class_names=[f"class_{c:03d}" for c in range(CLASSES)],
    )


def swinging_figure(rate: float, frames: int = 16) -> np.ndarray:
    """(frames, 17, 3) pixels of a standing figure whose wrists and ankles swing."""
    base = np.array([
        [50, 10], [48, 8], [52, 8], [46, 9], [54, 9], [42, 20], [58, 20], [38, 32], [62, 32],
        [36, 44], [64, 44], [45, 48], [55, 48], [44, 64], [56, 64], [43, 80], [57, 80],
    ], dtype=np.float32)
    phase = np.sin(np.linspace(0, 2 * np.pi * rate, frames))[:, None]
    pose = np.repeat(base[None], frames, axis=0)
    pose[:, [9, 10], 1] -= 10 * phase  # wrists
    pose[:, [15, 16], 0] += 4 * phase  # ankles
    return np.concatenate([pose, np.ones((frames, 17, 1), np.float32)], axis=2)


def report_inputs(videos: int, concepts: int, seed: int = 0) -> ReportInputs:
    """Test videos of every class, with a confusion matrix, and the motion concepts' clips."""
    rng = np.random.default_rng(seed)
    model = ucf_shaped_model(concepts, seed)
    labels = np.arange(videos) % CLASSES
    centres = rng.normal(size=(CLASSES, DIM))
    features = (centres[labels] + rng.normal(size=(videos, DIM))).astype(np.float32)
    predicted = model.logits(features).argmax(1).numpy()
    confusion = np.zeros((CLASSES, CLASSES), int)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = {n: {"accuracy": float((predicted[labels == c] == c).mean()),
                     "videos": int((labels == c).sum())} for c, n in enumerate(model.class_names)}
    return ReportInputs(
        model=model, video_ids=[f"video_{i:05d}" for i in range(videos)],
        splits=["test"] * videos, labels=labels, features=features,
        metrics={"splits": {"test": {"num_videos": videos,
                                     "top1": float((predicted == labels).mean()), "top5": 0.0,
                                     "confusion": confusion.tolist(), "per_class": per_class}}},
        motion=[{"name": f"motion_{k:03d}", "size": 10, "pose": swinging_figure(0.5 + k / 40)}
                for k in range(concepts)],
        language=[{"type": "object", "name": f"object_{k:03d}", "status": "kept", "reason": ""}
                  for k in range(TYPES["object"])],
    )


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    """Run the benchmark and write its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--concepts", type=int, default=200)
    parser.add_argument("--pages", type=int, default=300, help="video pages (dance report's default)")
    parser.add_argument("--out", default="benchmarks/results/report.json")
    args = parser.parse_args()
    inputs = report_inputs(args.videos, args.concepts)
    with tempfile.TemporaryDirectory() as tmp:
        site = os.path.join(tmp, "reports")
        first, summary = _timed(lambda: write_report_site(inputs, site, args.pages, log=quiet))
        second, _ = _timed(lambda: write_report_site(inputs, site, args.pages, log=quiet))
        all_pages, every = _timed(lambda: write_report_site(inputs, os.path.join(tmp, "all"),
                                                            args.videos, log=quiet))
        cache = os.path.join(tmp, "cache")
        poses = [c["pose"] for c in inputs.motion]
        render, _ = _timed(lambda: [cached_pose_animation(cache, p, (120, 120)) for p in poses])
        reuse, _ = _timed(lambda: [cached_pose_animation(cache, p, (120, 120)) for p in poses])
        index_bytes = os.path.getsize(os.path.join(site, "index.html"))
        total_bytes = sum(f.stat().st_size for f in Path(site).rglob("*") if f.is_file())
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "videos": args.videos, "motion_concepts": args.concepts, "classes": CLASSES,
        "video_pages": summary.video_pages, "pages": summary.pages,
        "first_run_s": round(first, 2), "second_run_s": round(second, 2),
        "second_run_speedup": round(first / second, 2),
        "all_video_pages_run_s": round(all_pages, 2), "all_video_pages": every.video_pages,
        "animations_first_s": round(render, 3), "animations_cached_s": round(reuse, 4),
        "animation_cache_speedup": round(render / reuse, 1),
        "index_bytes": index_bytes, "site_bytes": total_bytes,
        "targets": {"first_run_s": 60, "index_bytes": 2_000_000, "animation_cache_speedup": 10},
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
