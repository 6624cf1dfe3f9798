"""An RT-DETR object detector for Video-TCAV's concept clips: frames in, boxes per frame out.

    detector = ObjectDetector.from_pretrained("PekingU/rtdetr_r50vd_coco_o365", threshold=0.5)
    detections = detector.detect(frames)  # (T, H, W, 3) uint8 -> one Detections per frame

The model is transformers' `RTDetrForObjectDetection`, loaded from a hub id or a
`save_pretrained` directory (safetensors only, as every dance model). Frames are prepared
by `RTDetrImageProcessorPil` from the checkpoint's preprocessor config (the default
processor works without torchvision), and `post_process_object_detection` turns the
queries into boxes x0, y0, x1, y1 in the frame's pixels, clipped to the frame. Label names
come from the checkpoint's `config.id2label`: they are data, shown, never used as paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dance.errors import DanceError, InputError

_FIX = (
    "pass an RT-DETR hub id (e.g. PekingU/rtdetr_r50vd_coco_o365, also the pose stage's "
    "person detector) on a connected machine, or a local "
    "directory written by RTDetrForObjectDetection.save_pretrained (config.json, "
    "model.safetensors, preprocessor_config.json) as concept_clips.detector"
)
_BATCH = 8  # frames per forward pass: bounds memory on full-resolution frames


@dataclass(frozen=True)
class Detections:
    """One frame's detections: boxes (N, 4) x0, y0, x1, y1 in pixels, scores (N,), label names."""

    boxes: np.ndarray  # (N, 4) float32
    scores: np.ndarray  # (N,) float32, descending
    labels: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def of_label(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(boxes (M, 4), scores (M,)) of the detections labelled `name`."""
        keep = np.array([label == name for label in self.labels], dtype=bool)
        return self.boxes[keep].reshape(-1, 4), self.scores[keep]


class ObjectDetector:
    """A frozen RT-DETR in eval mode; `detect` gives each frame's boxes above `threshold`."""

    def __init__(self, model: Any, processor: Any, name_or_path: str, threshold: float) -> None:
        """Wrap a loaded model and image processor; use `from_pretrained` instead."""
        if not 0.0 < threshold < 1.0:
            raise InputError(
                f"detector threshold must be in (0, 1), got {threshold}; 0.5 is a common choice"
            )
        self._model = model.eval().requires_grad_(False)
        self._processor = processor
        self.name_or_path = name_or_path
        self.threshold = float(threshold)
        self.id2label: dict[int, str] = {int(k): str(v) for k, v in model.config.id2label.items()}
        self.device = next(model.parameters()).device

    @classmethod
    def from_pretrained(
        cls, name_or_path: str, device: str = "cpu", threshold: float = 0.5
    ) -> ObjectDetector:
        """Load an RT-DETR checkpoint (hub id or local directory, safetensors only), frozen."""
        from transformers import AutoConfig, RTDetrForObjectDetection

        from dance.encoders import load_pretrained, resolve_model_source

        try:
            source = resolve_model_source(name_or_path)
            config = load_pretrained(AutoConfig.from_pretrained, source, weights=False)
        except DanceError as err:
            raise InputError(f"cannot load the detector {name_or_path!r}: {err}; {_FIX}") from None
        if config.model_type != "rt_detr":
            raise InputError(
                f"the detector {name_or_path!r} holds a {config.model_type!r} model, not "
                f"RT-DETR; {_FIX}"
            )
        try:
            model = load_pretrained(RTDetrForObjectDetection.from_pretrained, source)
        except DanceError as err:
            raise InputError(f"cannot load the detector {name_or_path!r}: {err}; {_FIX}") from None
        return cls(model.to(device), _processor(source), name_or_path, threshold)

    def detect(self, frames: np.ndarray) -> list[Detections]:
        """One Detections per (H, W, 3) uint8 RGB frame of a (T, H, W, 3) array."""
        import torch

        video = np.asarray(frames)
        if video.ndim != 4 or video.shape[-1] != 3 or video.dtype != np.uint8:
            raise InputError(
                f"frames must be (T, H, W, 3) uint8 RGB as decoded, got {video.shape} {video.dtype}"
            )
        height, width = video.shape[1:3]
        out: list[Detections] = []
        for start in range(0, len(video), _BATCH):
            batch = list(video[start : start + _BATCH])
            inputs = self._processor(images=batch, return_tensors="pt")
            pixels = inputs["pixel_values"].to(self.device, dtype=next(self._model.parameters()).dtype)
            with torch.inference_mode():
                outputs = self._model(pixel_values=pixels)
            results = self._processor.post_process_object_detection(
                outputs, threshold=self.threshold, target_sizes=[(height, width)] * len(batch)
            )
            out.extend(self._detections(r, height, width) for r in results)
        return out

    def _detections(self, result: dict[str, Any], height: int, width: int) -> Detections:
        """A post-processed result as Detections: boxes clipped to the frame, empty ones dropped."""
        boxes = result["boxes"].detach().float().cpu().numpy().reshape(-1, 4)
        scores = result["scores"].detach().float().cpu().numpy().reshape(-1)
        labels = result["labels"].detach().cpu().numpy().reshape(-1)
        boxes = np.clip(boxes, 0, [width, height, width, height]).astype(np.float32)
        keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1]) & (scores >= self.threshold)
        order = np.argsort(-scores[keep], kind="stable")
        names = [self.id2label.get(int(i), f"label_{int(i)}") for i in labels[keep][order]]
        return Detections(boxes[keep][order], scores[keep][order].astype(np.float32), tuple(names))


def _processor(source: Any) -> Any:
    """The checkpoint's RT-DETR image processor (PIL backend), or the default one."""
    from transformers import RTDetrImageProcessorPil

    from dance.encoders import read_json_file

    settings = read_json_file(source, ("preprocessor_config.json",)) or {}
    allowed = {
        "do_resize", "size", "resample", "do_rescale", "rescale_factor", "do_normalize",
        "image_mean", "image_std", "do_pad", "pad_size",
    }  # fmt: skip
    return RTDetrImageProcessorPil(**{k: v for k, v in settings.items() if k in allowed})
