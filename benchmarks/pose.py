"""Benchmark: does batching pay off in the vitpose pose backend on CPU?

Measures, in one run and with the same tiny random checkpoints (built here, no
download), ViTPose crops/s at batch 1 vs batch 32 through `estimate_crops`, and
RT-DETR frames/s at batch 1 vs 8 through `detect`. Each setting gets a warm-up pass,
then several timed repeats; the median is reported. Within one measurement torch runs
on the same number of threads for batch 1 and batch N (torch.set_num_threads), so only
the batch size differs; the whole set is repeated for each thread count in --threads
(default 1 and 2, the machine's cores).

    .venv/bin/python benchmarks/pose.py [--threads 1,2] [--repeats 5]

Two pose models are measured side by side: the tiny test model (64 x 48 input), where
a forward pass is cheap and batching removes the per-call overhead (the acceptance
figure: crops/s at batch 32 >= 3x batch 1), and the same tiny transformer at ViTPose's
full 256 x 192 input, where on a CPU thread the per-pixel work (patch embedding, heatmap
upsampling) grows linearly with crops and batching gains little; batching pays there on
a GPU.

Writes benchmarks/results/pose.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from dance.pose import ViTPoseEstimator, build_tiny_rtdetr, build_tiny_vitpose

# The pose models measured; the acceptance figure is the tiny test model's.
POSE_MODELS = {
    "tiny_64x48": {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "image_size": (64, 48)},
    "tiny_256x192": {"hidden_size": 64, "num_layers": 2, "num_heads": 4, "image_size": (256, 192)},
}
ACCEPTANCE_MODEL = "tiny_64x48"
DETECTOR_MODEL = {"image_size": 320, "d_model": 32, "num_queries": 50}
ACCEPTANCE_SPEEDUP = 3.0


def time_rate(work: Callable[[], object], items: int, repeats: int) -> dict[str, object]:
    """Items/s of `work`: medians of `repeats` timed runs after one warm-up, by wall clock
    and by this process's CPU time (the latter is less disturbed by other load)."""
    work()
    wall, cpu = [], []
    for _ in range(repeats):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        work()
        wall.append(items / (time.perf_counter() - start_wall))
        cpu.append(items / max(time.process_time() - start_cpu, 1e-9))
    return {
        "per_s": round(statistics.median(wall), 2),
        "per_cpu_s": round(statistics.median(cpu), 2),
        "runs_per_s": [round(rate, 2) for rate in wall],
    }


def measure(
    estimator: ViTPoseEstimator, crops: np.ndarray, frames: np.ndarray, repeats: int
) -> dict[str, object]:
    """Pose crops/s at batch 1 vs 32 and detector frames/s at batch 1 vs 8, current threads."""
    pose = {
        f"batch_{batch}": time_rate(
            lambda b=batch: estimator.estimate_crops(crops, batch_size=b), len(crops), repeats
        )
        for batch in (1, 32)
    }
    detector = {}
    for batch in (1, 8):
        estimator.detector_batch_size = batch
        detector[f"batch_{batch}"] = time_rate(
            lambda: estimator.detect(frames), len(frames), repeats
        )
    speedup = pose["batch_32"]["per_s"] / pose["batch_1"]["per_s"]  # type: ignore[operator]
    cpu_speedup = pose["batch_32"]["per_cpu_s"] / pose["batch_1"]["per_cpu_s"]  # type: ignore[operator]
    det_speedup = detector["batch_8"]["per_s"] / detector["batch_1"]["per_s"]  # type: ignore[operator]
    return {
        "pose_model_crops": {
            **pose,
            "speedup_32_vs_1": round(speedup, 2),
            "cpu_time_speedup_32_vs_1": round(cpu_speedup, 2),
        },
        "detector_frames": {**detector, "speedup_8_vs_1": round(det_speedup, 2)},
        "acceptance_passed": bool(speedup >= ACCEPTANCE_SPEEDUP),
        "load_average_1m_after": round(os.getloadavg()[0], 2),
    }


def run(threads: list[int], repeats: int, num_crops: int, num_frames: int, seed: int) -> dict:
    """Build the tiny models, measure each at each thread count, return the result record."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, size=(num_frames, 240, 320, 3), dtype=np.uint8)
    results: dict[str, dict] = {}
    for model_name, model in POSE_MODELS.items():
        with tempfile.TemporaryDirectory() as tmp:
            estimator = ViTPoseEstimator(
                build_tiny_vitpose(Path(tmp) / "pose", seed=seed, **model),
                build_tiny_rtdetr(Path(tmp) / "det", seed=seed, **DETECTOR_MODEL),
                detector_threshold=0.0,
            )
        width, height = estimator.input_size
        crops = rng.integers(0, 256, size=(num_crops, height, width, 3), dtype=np.uint8)
        for count in threads:
            torch.set_num_threads(count)
            results[f"{model_name}/threads_{count}"] = measure(estimator, crops, frames, repeats)
    accepted = [
        value["pose_model_crops"]["speedup_32_vs_1"]
        for key, value in results.items()
        if key.startswith(ACCEPTANCE_MODEL + "/")
    ]
    return {
        "benchmark": "pose batching (vitpose backend, CPU, tiny random models)",
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
        },
        "settings": {
            "repeats": repeats,
            "statistic": "median over repeats after one warm-up; per_s by wall clock, "
            "per_cpu_s by process CPU time",
            "seed": seed,
            "pose_models": {
                name: {**model, "image_size": list(model["image_size"])}  # type: ignore[arg-type]
                for name, model in POSE_MODELS.items()
            },
            "detector_model": DETECTOR_MODEL,
            "num_crops": num_crops,
            "num_frames": num_frames,
            "frame_size": [240, 320],
        },
        "results": results,
        "acceptance": f"{ACCEPTANCE_MODEL}: pose crops/s at batch 32 >= {ACCEPTANCE_SPEEDUP}x "
        "batch 1",
        "acceptance_passed": bool(accepted) and min(accepted) >= ACCEPTANCE_SPEEDUP,
    }


def main() -> None:
    """Parse arguments, run, write the JSON, print a summary."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", default="1", help="comma-separated torch thread counts")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per setting")
    parser.add_argument("--crops", type=int, default=64, help="crops per timed run")
    parser.add_argument("--frames", type=int, default=16, help="frames per timed detector run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "pose.json"
    )
    args = parser.parse_args()
    try:
        threads = [int(part) for part in args.threads.split(",")]
    except ValueError:
        parser.error(f"--threads must be comma-separated integers, got {args.threads!r}")
    for name, value in (
        ("threads", min(threads)),
        ("repeats", args.repeats),
        ("crops", args.crops),
        ("frames", args.frames),
    ):
        if value < 1:
            parser.error(f"--{name} must be >= 1")
    record = run(threads, args.repeats, args.crops, args.frames, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record["results"], indent=2))


if __name__ == "__main__":
    main()
