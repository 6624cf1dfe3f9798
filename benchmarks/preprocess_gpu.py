"""Preprocess's model stages at the ucf101 preset's sizes on a GPU: seconds per video, measured.

    python benchmarks/preprocess_gpu.py [--videos 16] [--frames 160] [--device cuda]
        [--modes default,tf32,bf16] [--out benchmarks/results/preprocess_gpu.json]

docs/ucf101.md estimates preprocess's GPU time from counted FLOPs at an assumed rate.
This measures it through the code the preprocess actors run, on one machine, side by
side in one process, per "video" of UCF-101's frame size (240x320):

- pose_detect: `ViTPoseEstimator.detect` (RT-DETR R50, 640x640) on the video's N x L =
  160 key-clip frames, `--detector-batch` frames per pass (the actor's default is 8);
- pose_crops: `crop_persons` + `estimate_crops` (ViTPose-B, 256x192) on one person box
  per frame, the preset's batch of 64 crops (the upper bound the estimate assumes);
- backbone: `VideoBackbone.embed` (VideoMAE-B, 16 frames at 224), batches of 16 clips;
- dual: `DualEncoder.embed_videos` (X-CLIP B/16, 8 frames at 224), batches of 16 clips.

The models are the preset's architectures from transformers' configs with random weights
(the same shapes and work as the pretrained ones; nothing is downloaded), written with
save_pretrained and loaded through dance's own from_pretrained paths. Frames are seeded
noise; with random weights the detector's boxes mean nothing, which is why the crops use
fixed boxes. Each stage is warmed up once, then timed over `--videos` videos with the
device synchronised; on a GPU each stage's peak allocated memory (all four models stay
loaded, so it includes their weights).

Modes, each a way to run the same code: `default` (torch's defaults: float32 matrix
products, TF32 convolutions in cuDNN), `tf32` (TF32 matrix products too), `bf16` (torch
autocast to bfloat16). Against `default` each reports the relative error of every
model's raw outputs on one batch (each image's ten best person scores of the detector,
the pose heatmaps) and the
lowest cosine between the two runs' backbone and dual-encoder features.

`--breakdown` also times the steps of one detector pass at 8 and 32 frames (resize,
the copy to the device done two ways, forward, scores back), milliseconds per frame.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dance.dual import build_tokenizer
from dance.encoders import DualEncoder, VideoBackbone
from dance.pose import ViTPoseEstimator

HEIGHT, WIDTH = 240, 320  # UCF-101's frames
BATCH = {"crops": 64, "clips": 16}  # the ucf101 preset's pose and encoder batch sizes
SEED = 0


def build_models(folder: Path) -> dict[str, str]:
    """The preset's four architectures, random weights, saved with save_pretrained."""
    from transformers import (
        RTDetrConfig,
        RTDetrForObjectDetection,
        VideoMAEConfig,
        VideoMAEModel,
        VitPoseConfig,
        VitPoseForPoseEstimation,
        XCLIPConfig,
        XCLIPModel,
    )

    torch.manual_seed(SEED)
    labels = {0: "person", **{i: f"object_{i}" for i in range(1, 80)}}
    builds: dict[str, Callable[[], torch.nn.Module]] = {
        "detector": lambda: RTDetrForObjectDetection(
            RTDetrConfig(id2label=labels, label2id={v: k for k, v in labels.items()})
        ),
        "pose": lambda: VitPoseForPoseEstimation(VitPoseConfig(num_labels=17)),
        "backbone": lambda: VideoMAEModel(VideoMAEConfig()),
        "dual": lambda: XCLIPModel(XCLIPConfig(vision_config={"patch_size": 16, "num_frames": 8})),
    }
    paths = {}
    for name, build in builds.items():
        paths[name] = str(folder / name)
        build().eval().save_pretrained(paths[name])
    build_tokenizer(["a", "video", "of"], 32).save_pretrained(paths["dual"])
    return paths


@contextlib.contextmanager
def precision(mode: str, device: str) -> Iterator[None]:
    """Run the block in `mode`: default, tf32 or bf16 (torch settings restored after)."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    try:
        if mode == "tf32":
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        if mode == "bf16":
            with torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16):
                yield
        else:
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def synchronise(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(run: Callable[[], Any], device: str, repeats: int) -> float:
    """Seconds per call of `run` after one warm-up call, the device synchronised."""
    run()
    synchronise(device)
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    synchronise(device)
    return (time.perf_counter() - start) / repeats


def relative_error(value: torch.Tensor, reference: torch.Tensor) -> float:
    """||value - reference|| / ||reference|| in float64."""
    value, reference = value.double(), reference.double()
    return float((value - reference).norm() / reference.norm().clamp_min(1e-30))


def raw_outputs(paths: dict[str, str], device: str, mode: str) -> dict[str, torch.Tensor]:
    """The detector's best person scores and the pose model's heatmaps on one seeded batch."""
    from transformers import RTDetrForObjectDetection, VitPoseForPoseEstimation

    generator = torch.Generator().manual_seed(SEED)
    images = torch.rand(4, 3, 640, 640, generator=generator).to(device)
    crops = torch.randn(16, 3, 256, 192, generator=generator).to(device)
    detector = RTDetrForObjectDetection.from_pretrained(paths["detector"]).to(device).eval()
    pose = VitPoseForPoseEstimation.from_pretrained(paths["pose"]).to(device).eval()
    with torch.inference_mode(), precision(mode, device):
        found = detector(pixel_values=images)
        heatmaps = pose(pixel_values=crops).heatmaps
    # RT-DETR picks its queries by score, so a tiny change reorders them: compare each
    # image's best person scores, sorted, not the outputs query by query.
    person = found.logits.float()[..., 0].sigmoid()
    return {
        "detector_top10_person_scores": person.topk(10, dim=-1).values.cpu(),
        "pose_heatmaps": heatmaps.float().cpu(),
    }


def stage_runs(paths: dict[str, str], device: str, args: argparse.Namespace
               ) -> dict[str, tuple[Callable[[], Any], int]]:
    """Each stage's call on one batch, and how many videos that batch holds."""
    rng = np.random.default_rng(SEED)
    frames = rng.integers(0, 256, (args.frames, HEIGHT, WIDTH, 3), dtype=np.uint8)
    clips = rng.integers(0, 256, (BATCH["clips"], 16, HEIGHT, WIDTH, 3), dtype=np.uint8)
    estimator = ViTPoseEstimator(
        paths["pose"], paths["detector"], batch_size=BATCH["crops"],
        detector_batch_size=args.detector_batch, device=device,
    )
    boxes = np.tile(np.array([[100.0, 40.0, 220.0, 230.0]]), (args.frames, 1))
    backbone = VideoBackbone.from_pretrained(paths["backbone"], device=device)
    dual = DualEncoder.from_pretrained(paths["dual"], kind="xclip", device=device)
    return {
        "pose_detect": (lambda: estimator.detect(frames), 1),
        "pose_crops": (lambda: estimator.estimate_crops(estimator.crop_persons(frames, boxes)[0]), 1),
        "backbone": (lambda: backbone.embed(clips), BATCH["clips"]),
        "dual": (lambda: dual.embed_videos(clips[:, ::2]), BATCH["clips"]),
    }


def measure(paths: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """Seconds per video per stage and mode, and each mode's agreement with `default`."""
    runs = stage_runs(paths, args.device, args)
    results: dict[str, Any] = {}
    features: dict[str, dict[str, np.ndarray]] = {}
    reference = raw_outputs(paths, args.device, "default")
    cuda = torch.device(args.device).type == "cuda"
    for mode in args.modes:
        per_video, peak_gib = {}, {}
        for stage, (run, videos) in runs.items():
            repeats = max(1, round(args.videos / videos))
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            with precision(mode, args.device):
                per_video[stage] = timed(run, args.device, repeats) / videos
                if stage in ("backbone", "dual"):
                    features.setdefault(mode, {})[stage] = run()
            if cuda:
                peak_gib[stage] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
            print(f"{mode:8s} {stage:12s} {per_video[stage]:.4f} s per video", flush=True)
        entry: dict[str, Any] = {
            "seconds_per_video": per_video,
            "pose_seconds_per_video": per_video["pose_detect"] + per_video["pose_crops"],
            "peak_gpu_gib": peak_gib or None,
        }
        if mode != "default":
            outputs = raw_outputs(paths, args.device, mode)
            entry["relative_error_vs_default"] = {
                name: relative_error(outputs[name], reference[name]) for name in reference
            }
            entry["min_feature_cosine_vs_default"] = {
                stage: float(np.min(np.sum(
                    _unit(features[mode][stage]) * _unit(features["default"][stage]), axis=1
                )))
                for stage in ("backbone", "dual")
            }
        results[mode] = entry
    return results


def detector_breakdown(paths: dict[str, str], device: str) -> dict[str, Any]:
    """Milliseconds per frame of one detector pass's steps, as ViTPoseEstimator.detect takes
    them, at 8 and 32 frames: the CPU resize, the copy (float32 cast on the CPU first, or
    uint8 cast on the device), the forward pass and the copy of the scores back."""
    from transformers import RTDetrForObjectDetection

    detector = RTDetrForObjectDetection.from_pretrained(paths["detector"]).to(device).eval()
    rng = np.random.default_rng(SEED)
    out: dict[str, Any] = {}
    for frames in (8, 32):
        video = rng.integers(0, 256, (frames, HEIGHT, WIDTH, 3), dtype=np.uint8)
        with torch.inference_mode():
            steps = _pass_steps(detector, video, device)
            out[f"{frames}_frames"] = {
                name: round(timed(step, device, 5) * 1000 / frames, 3) for name, step in steps.items()
            }
        print(f"detector pass of {frames} frames, ms per frame: {out[f'{frames}_frames']}", flush=True)
    return out


def _pass_steps(detector: torch.nn.Module, video: np.ndarray, device: str
                ) -> dict[str, Callable[[], Any]]:
    """Each step of a detector pass over `video`, as a call on that step's own input."""
    import cv2

    def resize() -> np.ndarray:
        return np.stack([cv2.resize(f, (640, 640), interpolation=cv2.INTER_LINEAR) for f in video])

    resized = resize()
    pixels = torch.from_numpy(resized).to(device).float().permute(0, 3, 1, 2) / 255
    found = detector(pixel_values=pixels)
    return {
        "resize_cpu": resize,
        "copy_cast_on_cpu": lambda: torch.from_numpy(resized).to(device, torch.float32),
        "copy_uint8_cast_on_device": lambda: torch.from_numpy(resized).to(device).float(),
        "forward": lambda: detector(pixel_values=pixels),
        "scores_to_cpu": lambda: found.logits.float().sigmoid()[..., 0].cpu().numpy(),
    }


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = rows.astype(np.float64)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=16)
    parser.add_argument("--frames", type=int, default=160, help="pose frames per video (N x L)")
    parser.add_argument("--detector-batch", type=int, default=8)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--modes", default="default,tf32,bf16")
    parser.add_argument("--breakdown", action="store_true", help="time a detector pass's steps")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/preprocess_gpu.json"))
    args = parser.parse_args(argv)
    args.modes = [m for m in args.modes.split(",") if m]
    unknown = set(args.modes) - {"default", "tf32", "bf16"}
    if unknown or "default" not in args.modes:
        parser.error(f"--modes takes default (required), tf32, bf16; got {args.modes}")
    args.modes = ["default", *[m for m in args.modes if m != "default"]]
    torch.manual_seed(SEED)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        paths = build_models(Path(folder))
        build_s = time.perf_counter() - start
        results = measure(paths, args)
        breakdown = detector_breakdown(paths, args.device) if args.breakdown else None
    report = {
        "machine": {
            "python": platform.python_version(), "torch": torch.__version__,
            "cpus": os.cpu_count(), "device": args.device,
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        },
        "settings": {"videos": args.videos, "frames_per_video": args.frames,
                     "frame_size": [HEIGHT, WIDTH], "detector_batch": args.detector_batch,
                     "batches": BATCH},
        "model_build_s": round(build_s, 1),
        "modes": results,
        "detector_breakdown_ms_per_frame": breakdown,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
