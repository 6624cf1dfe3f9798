"""The vitpose backend: RT-DETR person boxes, then ViTPose heatmaps on batched crops.

Pipeline per frame (docs/method.md section 2): person boxes with score > threshold, the LARGEST
one only, padded by `box_padding` px (clipped to the image), grown to `box_aspect`
(w:h), cropped and resized to ViTPose's input with UDP geometry (the one ViTPose was
trained with: box edges on the first/last pixel centres); heatmap argmax refined to sub-pixel
(DARK: a Newton step on the log of the smoothed heatmap), score = heatmap maximum.
Preprocessing is done here in numpy/torch/cv2: torchvision does not work on our CPU
machines (docs/environment.md), and the transformers image processors would need it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import torch

from dance._closing import ClosesOnExit
from dance.pose._boxes import (
    clip_boxes,
    crop_and_resize,
    crop_boxes,
    crop_points_to_image,
    select_largest,
)
from dance.pose._device import resolve_device
from dance.pose._heatmaps import decode_heatmaps
from dance.pose._hf_checkpoints import (
    DETECTOR_DEFAULTS,
    POSE_DEFAULTS,
    load_checkpoint,
    person_label,
    processor_settings,
    scaling,
)
from dance.pose.estimator import PoseResult, check_frames, estimate_top_down
from dance.pose.skeleton import NUM_COCO17_JOINTS

if TYPE_CHECKING:
    from dance.config import PoseConfig

_COCO_DATASET_INDEX = 0  # the COCO expert of multi-dataset (ViTPose++) checkpoints
# Frames per RT-DETR pass when pose.detector_batch_size is unset. On an H200 the forward
# pass took 2.37 ms per frame in passes of 32 against 3.30 in passes of 8
# (benchmarks/preprocess_gpu.py); on a CPU a larger pass gains nothing and holds more memory.
GPU_DETECTOR_BATCH = 32
CPU_DETECTOR_BATCH = 8


class ViTPoseEstimator(ClosesOnExit):
    """Top-down 2D pose: transformers RT-DETR person detector + ViTPose, both batched.

    For one stack of frames use `estimate`. To batch crops across videos, use the parts:
    `detect` -> `crop_persons` (per video) -> `estimate_crops` (on crops pooled from
    many videos) -> `keypoints_to_image` (per video).
    """

    def __init__(
        self,
        model: str,
        detector: str,
        *,
        detector_threshold: float = 0.25,
        box_padding: float = 10,
        box_aspect: tuple[int, int] = (3, 4),
        batch_size: int = 32,
        detector_batch_size: int = 8,
        device: str = "cpu",
    ) -> None:
        """Load both models with from_pretrained (hub id or local folder, safetensors only)."""
        from transformers import RTDetrForObjectDetection, VitPoseForPoseEstimation

        if batch_size < 1 or detector_batch_size < 1:
            raise ValueError(
                f"batch sizes must be >= 1, got batch_size={batch_size}, "
                f"detector_batch_size={detector_batch_size}"
            )
        if not 0.0 <= detector_threshold <= 1.0:
            raise ValueError(f"detector_threshold must be in [0, 1], got {detector_threshold}")
        self.detector_threshold = float(detector_threshold)
        self.box_padding = float(box_padding)
        self.box_aspect = (int(box_aspect[0]), int(box_aspect[1]))
        self.batch_size = int(batch_size)
        self.detector_batch_size = int(detector_batch_size)
        self.device = resolve_device(device)

        self._pose: Any = load_checkpoint(VitPoseForPoseEstimation, model, "model", self.device)
        pose_config = self._pose.config
        if pose_config.num_labels != NUM_COCO17_JOINTS:
            raise ValueError(
                f"pose model {model!r} predicts {pose_config.num_labels} keypoints; "
                f"a COCO-17 ViTPose checkpoint ({NUM_COCO17_JOINTS} keypoints) is needed"
            )
        height, width = pose_config.backbone_config.image_size
        self._input_size = (int(width), int(height))
        self._num_experts = int(getattr(pose_config.backbone_config, "num_experts", 1))
        self._pose_scaling = scaling(processor_settings(model, POSE_DEFAULTS))

        self._detector: Any = load_checkpoint(RTDetrForObjectDetection, detector, "detector", self.device)
        self._person_id = person_label(self._detector.config.id2label, detector)
        self._focal = bool(getattr(self._detector.config, "use_focal_loss", True))
        det_settings = processor_settings(detector, DETECTOR_DEFAULTS)
        size = det_settings["size"]
        if not (isinstance(size, dict) and {"height", "width"} <= size.keys()):
            raise ValueError(
                f"detector {detector!r}: only a fixed {{'height', 'width'}} resize is supported, "
                f"its preprocessor asks for size={size}"
            )
        self._detector_size = (int(size["width"]), int(size["height"]))
        self._detector_scaling = scaling(det_settings)

    @classmethod
    def from_config(cls, config: PoseConfig, device: str = "cpu") -> ViTPoseEstimator:
        """Build from a PoseConfig: models, threshold, box settings, crop and detector batches."""
        detector_batch = config.detector_batch_size or (
            GPU_DETECTOR_BATCH if resolve_device(device).type == "cuda" else CPU_DETECTOR_BATCH
        )
        return cls(
            config.model,
            config.detector,
            detector_threshold=config.detector_threshold,
            box_padding=config.box_padding,
            box_aspect=config.box_aspect,
            batch_size=config.resources.batch_size,
            detector_batch_size=detector_batch,
            device=device,
        )

    @property
    def input_size(self) -> tuple[int, int]:
        """ViTPose input (width, height), e.g. (192, 256); crops must have this size."""
        return self._input_size

    def _require_open(self) -> None:
        """Raise if close() was called."""
        if self._pose is None or self._detector is None:
            raise RuntimeError("ViTPoseEstimator is closed; build a new one")

    def _to_input(
        self, images: np.ndarray, scaling: tuple[float, np.ndarray, np.ndarray]
    ) -> torch.Tensor:
        """(B, H, W, 3) uint8 -> (B, 3, H, W) float32 model input on the device."""
        scale, mean, std = scaling
        # Normalise in the contiguous NHWC layout, then hand conv a channels-last view:
        # converting a permuted uint8 view element by element costs more than the model.
        # The uint8 frames cross to the device and are cast there: a quarter of the bytes,
        # measured 9x faster than casting first on an H200 (benchmarks/preprocess_gpu.py).
        tensor = torch.from_numpy(np.ascontiguousarray(images)).to(self.device).float()
        mean_t = torch.from_numpy(np.asarray(mean, np.float32)).to(self.device)
        std_t = torch.from_numpy(np.asarray(std, np.float32)).to(self.device)
        tensor.mul_(scale).sub_(mean_t).div_(std_t)
        return tensor.permute(0, 3, 1, 2)

    def detect(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Largest person box per frame: (T, 4) float32 x1, y1, x2, y2 (NaN if none), (T,) found."""
        self._require_open()
        frames = check_frames(frames)
        num_frames, height, width = frames.shape[:3]
        boxes = np.full((num_frames, 4), np.nan, dtype=np.float32)
        scale_to_image = np.array([width, height, width, height], dtype=np.float64)
        # The transformers processor resizes with PIL, which antialiases when shrinking;
        # INTER_AREA is OpenCV's antialiased shrink, INTER_LINEAR its bilinear enlarge.
        target_w, target_h = self._detector_size
        shrinking = target_w < width or target_h < height
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        for start in range(0, num_frames, self.detector_batch_size):
            chunk = frames[start : start + self.detector_batch_size]
            resized = np.stack(
                [
                    cv2.resize(frame, self._detector_size, interpolation=interpolation)
                    for frame in chunk
                ]
            )
            with torch.inference_mode():
                output = self._detector(
                    pixel_values=self._to_input(resized, self._detector_scaling)
                )
            logits = output.logits.float()
            probs = logits.sigmoid() if self._focal else logits.softmax(dim=-1)
            scores = probs[..., self._person_id].cpu().numpy()
            centre_wh = output.pred_boxes.float().cpu().numpy().astype(np.float64)
            corners = np.concatenate(
                [
                    centre_wh[..., :2] - centre_wh[..., 2:] / 2,
                    centre_wh[..., :2] + centre_wh[..., 2:] / 2,
                ],
                axis=-1,
            )
            for offset in range(chunk.shape[0]):
                frame_boxes = clip_boxes(corners[offset] * scale_to_image, width, height)
                chosen = select_largest(frame_boxes, scores[offset], self.detector_threshold)
                if chosen >= 0:
                    boxes[start + offset] = frame_boxes[chosen]
        found = np.isfinite(boxes).all(axis=1)
        return boxes, found

    def crop_persons(self, frames: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Crops (N, H_in, W_in, 3) uint8 of frame n around boxes[n], and their (N, 4) regions.

        A region is the person box padded, clipped to the frame and grown to box_aspect;
        every box must be finite (select the found frames first).
        """
        frames = check_frames(frames)
        box_array = np.asarray(boxes, dtype=np.float64)
        if box_array.shape != (frames.shape[0], 4) or not np.isfinite(box_array).all():
            raise ValueError(
                f"boxes must be a finite ({frames.shape[0]}, 4) array, one per frame, got shape "
                f"{box_array.shape}; keep only the frames where detect() found a person"
            )
        height, width = frames.shape[1:3]
        regions = crop_boxes(box_array, self.box_padding, self.box_aspect, width, height)
        out_w, out_h = self._input_size
        crops = np.zeros((frames.shape[0], out_h, out_w, 3), dtype=np.uint8)
        for index, (frame, region) in enumerate(zip(frames, regions)):
            if region[2] > region[0] and region[3] > region[1]:
                crops[index] = crop_and_resize(frame, region, out_w, out_h)
        return crops, regions

    def estimate_crops(self, crops: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """(N, 17, 3) x, y, score in crop pixel indices for (N, H_in, W_in, 3) uint8 RGB crops.

        Crops are the model-input-sized images made by `crop_persons`, from any number of
        frames and videos; they are run `batch_size` (default: the configured one) at a time.
        """
        self._require_open()
        out_w, out_h = self._input_size
        if not (
            isinstance(crops, np.ndarray)
            and crops.dtype == np.uint8
            and crops.ndim == 4
            and crops.shape[1:] == (out_h, out_w, 3)
        ):
            raise ValueError(
                f"crops must be uint8 RGB of shape (N, {out_h}, {out_w}, 3) (the model input), got "
                f"{getattr(crops, 'shape', None)} {getattr(crops, 'dtype', type(crops).__name__)}; "
                "make them with crop_persons()"
            )
        step = self.batch_size if batch_size is None else int(batch_size)
        if step < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        results = [np.zeros((0, NUM_COCO17_JOINTS, 3), dtype=np.float32)]
        for start in range(0, crops.shape[0], step):
            pixels = self._to_input(crops[start : start + step], self._pose_scaling)
            extra = {}
            if self._num_experts > 1:
                extra["dataset_index"] = torch.full(
                    (pixels.shape[0],), _COCO_DATASET_INDEX, dtype=torch.long, device=self.device
                )
            with torch.inference_mode():
                heatmaps = self._pose(pixel_values=pixels, **extra).heatmaps
            decoded = decode_heatmaps(heatmaps)
            heat_h, heat_w = heatmaps.shape[2:]
            # UDP: first and last heatmap pixels align with the first and last crop pixels.
            decoded[..., 0] *= (out_w - 1) / (heat_w - 1)
            decoded[..., 1] *= (out_h - 1) / (heat_h - 1)
            results.append(decoded)
        return np.concatenate(results, axis=0)

    def keypoints_to_image(
        self, keypoints: np.ndarray, regions: np.ndarray, width: int, height: int
    ) -> np.ndarray:
        """Map (N, 17, 3) crop keypoints into a width x height image, clipped to it."""
        out_w, out_h = self._input_size
        mapped = crop_points_to_image(keypoints[..., :2], regions, out_w, out_h)
        result = np.empty(np.shape(keypoints), dtype=np.float32)
        # A joint predicted in the black padding beyond the frame is kept on its border.
        result[..., 0] = np.clip(mapped[..., 0], 0.0, width)
        result[..., 1] = np.clip(mapped[..., 1], 0.0, height)
        result[..., 2] = keypoints[..., 2]
        return result

    def estimate(self, frames: np.ndarray) -> PoseResult:
        """Pose of the largest person in each of (T, H, W, 3) uint8 RGB frames."""
        return estimate_top_down(frames, self.detect, self._pose_persons)

    def _pose_persons(self, frames: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """(N, 17, 3) image keypoints of the person in each box of its frame."""
        height, width = frames.shape[1:3]
        crops, regions = self.crop_persons(frames, boxes)
        return self.keypoints_to_image(self.estimate_crops(crops), regions, width, height)

    def close(self) -> None:
        """Drop both models; further calls raise."""
        self._detector = None
        self._pose = None
