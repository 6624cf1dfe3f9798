"""`dance gradcam`: Video Grad-CAM / HiResCAM overlays of new videos, from a trained bundle.

    model/ (DanceModel; metadata["config"] is the config it was trained with)
      -> that config's decode plan and the backbone the preprocess job used (as predict)
      -> per video: decode_video -> the backbone's frames -> VideoCam.explain
      -> the map on the sampled frames at the video's own resolution
      -> OUT/<sha256>.gif (overlay), OUT/<sha256>.npy ((T, H, W) float32), OUT/gradcam.json

Runs in this process, one video at a time (a backward pass per video). Output names are
a hash of the input as given, never the file name: names are data. A video that cannot
be decoded is reported and the others go on.

    python -m ray_jobs.gradcam --model DIR VIDEO... --out DIR [--method hirescam]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from dance import storage
from dance.encoders import VideoBackbone, backbone_frame_indices
from dance.errors import DanceError, InputError
from dance.posthoc import METHODS, TARGETS, VideoCam, gif_bytes, npy_bytes, overlay_heat
from dance.preprocess import unpack
from dance.progress import Log, log_to_stderr
from dance.video import open_video
from ray_jobs.predict import Predictor, display_ids

SUMMARY_FILE = "gradcam.json"

__all__ = ["SUMMARY_FILE", "GradcamResult", "main", "output_name", "report", "run_gradcam"]


@dataclass(frozen=True)
class GradcamResult:
    """One input video's maps and where they were written, or why it failed."""

    file: str  # the input as given
    status: str  # ok | failed
    error: str | None = None  # "reason_code: detail" when failed
    facts: dict[str, Any] = field(default_factory=dict)  # class, layer, frames, size, outputs

    def to_json(self) -> dict[str, Any]:
        """This video's entry in gradcam.json."""
        return {"file": self.file, "status": self.status, "error": self.error, **self.facts}


def output_name(uri: str) -> str:
    """The file stem of a video's outputs: a sha256 of the input as given (never its name)."""
    return hashlib.sha256(uri.encode("utf-8")).hexdigest()[:16]


def _video_cam(predictor: Predictor, target: str) -> VideoCam:
    """The backbone loaded once, with the head `target` names."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    backbone = VideoBackbone.from_pretrained(predictor.backbone_path, device=device)
    if target == "backbone":
        return VideoCam.for_backbone_head(backbone)
    return VideoCam.for_dance(backbone, predictor.model)


def _original_frames(uri: str, indices: np.ndarray) -> np.ndarray:
    """The sampled frames at the video's own resolution, (T, H, W, 3) uint8."""
    reader = open_video(uri)
    try:
        return reader.get_frames(indices.tolist())
    finally:
        reader.close()


def _explain_one(
    predictor: Predictor, cam: VideoCam, given: str, uri: str, video_id: str,
    settings: dict[str, Any], out_dir: str,
) -> GradcamResult:
    """Decode one video, explain it, write its GIF and maps; a failed row if it cannot be read."""
    row = predictor.decode(video_id, uri)
    if row["status"] != "ok" or row.get("backbone_frames") is None:
        return GradcamResult(given, "failed", row.get("error") or "unreadable: no frames")
    frames = unpack(row["backbone_frames"], row["backbone_shape"], np.uint8)
    indices = backbone_frame_indices(int(row["num_frames"]), predictor.cfg.backbone)
    try:
        original = _original_frames(uri, indices)
    except Exception as exc:  # noqa: BLE001 - one video's decoder crash fails that video
        return GradcamResult(given, "failed", f"unreadable: {type(exc).__name__}: {exc}")
    result = cam.explain(frames, size=(original.shape[1], original.shape[2]), **settings)
    name = output_name(given)
    outputs = {"gif": f"{name}.gif", "maps": f"{name}.npy"}
    storage.write_bytes(storage.join(out_dir, outputs["gif"]),
                        gif_bytes(overlay_heat(original, result.maps)))
    storage.write_bytes(storage.join(out_dir, outputs["maps"]), npy_bytes(result.maps))
    return GradcamResult(given, "ok", facts={
        "class": result.class_name, "class_index": result.class_index,
        "predicted": cam.class_names[result.predicted_index], "score": result.score,
        "method": result.method, "layer": result.layer, "frames": int(original.shape[0]),
        "size": [int(original.shape[1]), int(original.shape[2])],
        "frame_indices": indices.astype(int).tolist(), "outputs": outputs,
    })


def run_gradcam(
    model_dir: str,
    videos: Sequence[str],
    out_dir: str,
    method: str = "gradcam",
    target: str = "dance",
    layer: str | None = None,
    class_name: str | None = None,
    backbone: str | None = None,
    log: Log = log_to_stderr,
) -> list[GradcamResult]:
    """Explain every video (local path or s3:// URI) into `out_dir`; one result per input.

    The class is each video's predicted one unless `class_name` is given. Bad settings
    (method, target, layer, class) raise InputError before any video is read.
    """
    if method not in METHODS:
        raise InputError(f"--method {method!r} is unknown; pass one of: {', '.join(METHODS)}")
    if target not in TARGETS:
        raise InputError(f"--target {target!r} is unknown; pass one of: {', '.join(TARGETS)}")
    if not videos:
        raise InputError("no video given; pass one or more video files or s3:// URIs")
    predictor = Predictor(model_dir, backbone, log)
    cam = _video_cam(predictor, target)
    settings = {
        "method": method, "layer": cam.check_layer(layer),
        "class_index": None if class_name is None else cam.class_index(class_name),
    }
    results = []
    for video_id, given in zip(display_ids(videos), videos, strict=True):
        uri = given if "://" in given else os.path.abspath(given)
        results.append(_explain_one(predictor, cam, given, uri, video_id, settings, out_dir))
    storage.write_json({
        "model": model_dir, "backbone": predictor.backbone_path, "target": target,
        "method": method, "layer": settings["layer"], "class": class_name,
        "videos": [r.to_json() for r in results],
    }, storage.join(out_dir, SUMMARY_FILE))
    return results


def report(results: Sequence[GradcamResult], out_dir: str, out: Log, err: Log) -> int:
    """One line per video (failures on `err`, naming the file and the reason); exit code."""
    for result in results:
        if result.status != "ok":
            err(f"failed: {result.file}: {result.error}")
            continue
        facts = result.facts
        out(f"{result.file}: {facts['class']} ({facts['method']}, {facts['layer']}, "
            f"{facts['frames']} frames {facts['size'][1]}x{facts['size'][0]}) -> "
            f"{facts['outputs']['gif']}, {facts['outputs']['maps']}")
    done = sum(r.status == "ok" for r in results)
    err(f"{done} of {len(results)} video(s) explained; summary in "
        f"{storage.join(out_dir, SUMMARY_FILE)}")
    return 0 if done == len(results) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ray_jobs.gradcam --model DIR VIDEO... --out DIR [options]`."""
    parser = argparse.ArgumentParser(prog="python -m ray_jobs.gradcam", description=__doc__)
    parser.add_argument("videos", nargs="+", metavar="VIDEO_OR_URI")
    parser.add_argument("--model", required=True, help="a model bundle directory")
    parser.add_argument("--out", required=True, help="the output directory")
    parser.add_argument("--method", default="gradcam", choices=METHODS)
    parser.add_argument("--target", default="dance", choices=TARGETS)
    parser.add_argument("--layer", help="an encoder block, e.g. encoder.layer.11 (default: last)")
    parser.add_argument("--class", dest="class_name", help="the class to explain")
    parser.add_argument("--backbone", help="the backbone directory, if not found by itself")
    args = parser.parse_args(argv)
    try:
        results = run_gradcam(args.model, args.videos, args.out, args.method, args.target,
                              args.layer, args.class_name, args.backbone)
        return report(results, args.out, print, log_to_stderr)
    except DanceError as err:
        log_to_stderr(f"error: {err}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
