"""Benchmark: DANCE-Synth generation speed and BlazePose accuracy against the true 2D pose.

    python benchmarks/synth_pose_accuracy.py --preset demo \
        --out benchmarks/results/synth_pose_accuracy.json

Generates the preset (timed), runs mediapipe BlazePose on evenly spaced frames of every video
(original and shifted), and scores the COCO-17 keypoints against the ground truth, normalised
by the person's height (vertical extent of the visible GT joints in that frame). Baselines on
the same frames: the dataset's mean pose (in pixels), and the mean pose placed in each frame's
TRUE person box (an oracle-box prior). Ratios < 1 mean BlazePose beats the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import decord
import numpy as np
import pyarrow.parquet as pq

from dance.config import SynthConfig
from dance.pose import COCO17_JOINTS, BlazePoseEstimator
from dance.synth import (
    generate_dataset,
    load_ground_truth,
    normalised_joint_errors,
    person_height,
)

PCK_THRESHOLD = 0.1  # of the person height


def _parse() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="demo", choices=["tiny", "demo", "bench"])
    parser.add_argument("--out", default="benchmarks/results/synth_pose_accuracy.json")
    parser.add_argument("--frames-per-video", type=int, default=4)
    parser.add_argument("--workers", type=int, default=None, help="default: the preset's")
    parser.add_argument("--data-dir", default=None, help="keep the dataset here (default: temp)")
    return parser.parse_args()


def _box_mean_pose(gts: np.ndarray) -> np.ndarray:
    """Mean pose (17, 2) in box coordinates: joints scaled into [0, 1] by each frame's GT box."""
    lo = gts[:, :, :2].min(axis=1, keepdims=True)
    hi = gts[:, :, :2].max(axis=1, keepdims=True)
    return ((gts[:, :, :2] - lo) / np.maximum(hi - lo, 1e-6)).mean(axis=0)


def _scores(errors: list[np.ndarray]) -> dict[str, object]:
    """Mean / median normalised error, PCK and per-joint mean error of (17,) error rows."""
    stack = np.stack(errors)
    per_frame = np.nanmean(stack, axis=1)
    return {
        "frames_scored": int(stack.shape[0]),
        "mean_error": round(float(np.mean(per_frame)), 4),
        "median_error": round(float(np.median(per_frame)), 4),
        f"pck@{PCK_THRESHOLD}": round(float(np.nanmean(stack < PCK_THRESHOLD)), 4),
        "per_joint_mean_error": {
            name: round(float(np.nanmean(stack[:, j])), 4) for j, name in enumerate(COCO17_JOINTS)
        },
    }


def main() -> int:
    """Run the benchmark and write its JSON."""
    args = _parse()
    overrides = {} if args.workers is None else {"workers": args.workers}
    config = SynthConfig.preset_config(args.preset, **overrides)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or tmp
        summary = generate_dataset(config, data_dir)
        print(f"generated {summary.num_videos + summary.num_shifted} videos in "
              f"{summary.seconds:.1f} s", file=sys.stderr)  # fmt: skip
        truth = load_ground_truth(data_dir)
        labels = {}
        for name in ("manifest", "manifest_shifted"):
            path = Path(data_dir) / f"{name}.parquet"
            if path.exists():
                for row in pq.read_table(path).to_pylist():
                    labels[row["video_id"]] = row["label_name"]
        sampled: list[tuple[str, int, np.ndarray, np.ndarray | None]] = []
        start = time.perf_counter()
        with BlazePoseEstimator() as estimator:
            for video_id, gt in sorted(truth.items()):
                folder = "videos_shifted" if gt.shifted else "videos"
                path = Path(data_dir) / folder / f"{video_id}.{config.container}"
                reader = decord.VideoReader(str(path))
                picks = np.linspace(0, len(reader) - 1, args.frames_per_video).round().astype(int)
                frames = reader.get_batch(list(picks)).asnumpy()
                for index, frame in zip(picks, frames):
                    sampled.append(
                        (video_id, int(index), gt.keypoints[index], estimator.estimate(frame))
                    )
        pose_seconds = time.perf_counter() - start

    gts = np.stack([gt for _, _, gt, _ in sampled])
    global_mean = gts[:, :, :2].mean(axis=0)
    box_mean = _box_mean_pose(gts)
    found = [s for s in sampled if s[3] is not None]
    blaze_err = [normalised_joint_errors(pred, gt) for _, _, gt, pred in found]
    global_err = [normalised_joint_errors(global_mean, gt) for _, _, gt, _ in found]
    box_err = []
    for _, _, gt, _ in found:
        lo, hi = gt[:, :2].min(axis=0), gt[:, :2].max(axis=0)
        box_err.append(normalised_joint_errors(lo + box_mean * (hi - lo), gt))
    blaze, glob_, box = _scores(blaze_err), _scores(global_err), _scores(box_err)

    per_class: dict[str, dict[str, float]] = {}
    for name in sorted(set(labels.values())):
        rows = [s for s in sampled if labels[s[0]] == name]
        hits = [s for s in rows if s[3] is not None]
        errs = [float(np.nanmean(normalised_joint_errors(s[3], s[2]))) for s in hits]
        per_class[name] = {
            "detection_rate": round(len(hits) / len(rows), 4),
            "mean_error": round(float(np.mean(errs)), 4) if errs else None,
        }
    heights = [person_height(gt) for _, _, gt, _ in sampled]
    result = {
        "benchmark": "synth_pose_accuracy",
        "preset": args.preset,
        "config": config.model_dump(mode="json"),
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "load_average_1min_before": round(load_before, 2),
            "note": "shared 2-core machine; cpu_seconds is free of other load, seconds is not",
        },
        "generation": {
            "videos": summary.num_videos,
            "shifted_videos": summary.num_shifted,
            "frames_per_video": config.num_frames,
            "seconds": round(summary.seconds, 2),
            "videos_per_second": round(summary.videos_per_second, 2),
            "cpu_seconds": round(summary.cpu_seconds, 2),
            "cpu_ms_per_frame": round(
                1000
                * summary.cpu_seconds
                / ((summary.num_videos + summary.num_shifted) * config.num_frames),
                3,
            ),
        },
        "pose": {
            "estimator": "mediapipe BlazePose (model_complexity=1, static_image_mode)",
            "frames_sampled": len(sampled),
            "frames_per_video": args.frames_per_video,
            "seconds": round(pose_seconds, 2),
            "detection_rate": round(len(found) / len(sampled), 4),
            "person_height_px_median": round(float(np.median(heights)), 1),
            "error_unit": "distance / person height (vertical extent of visible GT joints)",
            "blazepose": blaze,
            "baseline_mean_pose_global": glob_,
            "baseline_mean_pose_in_true_box": box,
            "ratio_mean_error_vs_global_mean_pose": round(
                blaze["mean_error"] / glob_["mean_error"], 4
            ),
            "ratio_mean_error_vs_mean_pose_in_true_box": round(
                blaze["mean_error"] / box["mean_error"], 4
            ),
            "per_class": per_class,
        },
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_suffix(out.suffix + ".tmp")
    tmp_out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    os.replace(tmp_out, out)
    print(json.dumps({k: result["pose"][k] for k in ("detection_rate", "frames_sampled")}
                     | {"mean_error": blaze["mean_error"], "generation_s": summary.seconds}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
