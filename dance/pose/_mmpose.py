"""The mmpose backend: person boxes from a given detector, then mmpose top-down inference.

Pipeline per frame (docs/method.md section 2, as in the vitpose backend): candidate person boxes
with score > threshold, the LARGEST one only, padded by `box_padding` px (clipped to
the image) and grown to `box_aspect` (w:h) with dance's box maths (`_boxes.py`); that
region goes through the model config's own mmpose test pipeline and `test_step`
(mmpose's `inference_topdown`, batched across frames), with `GetBBoxCenterScale`
padding set to 1.0 because the region is already padded. Regions are handed to mmpose
in its pixel-index convention (pixel centres at integers) and keypoints come back
shifted into dance's continuous one, so a UDP config (ViTPose) crops exactly the
pixels `_boxes.crop_and_resize` would.

Person boxes: mmpose's environment cannot hold transformers 5 (docs/environment.md), so the
RT-DETR detector of the vitpose backend is not available here. The detector is a
callable, frames -> per-frame (boxes, scores); `whole_frame_detector` (the default,
also `pose.detector: whole_frame` in a config) treats each frame as one person box,
which suits pre-cropped, single-person footage. Boxes from any other detector (e.g.
precomputed RT-DETR or YOLO boxes) plug in through the same callable.

Configs are read as data (JSON or YAML), never executed; checkpoints are safetensors
or a plain state dict loaded with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from dance._closing import ClosesOnExit
from dance.pose._boxes import box_areas, clip_boxes, crop_boxes, select_largest
from dance.pose._device import resolve_device
from dance.pose._mmpose_loading import (
    CHECKPOINT_FILES,
    CONFIG_FILES,
    build_model,
    find_one,
    load_model_config,
    region_pipeline,
)
from dance.pose.estimator import PoseResult, check_frames, estimate_top_down
from dance.pose.skeleton import NUM_COCO17_JOINTS

if TYPE_CHECKING:
    from dance.config import PoseConfig

PersonBoxes = tuple[np.ndarray, np.ndarray]
"""One frame's candidate persons: (N, 4) x1, y1, x2, y2 image pixels and (N,) scores."""
PersonDetector = Callable[[np.ndarray], Sequence[PersonBoxes]]
"""(T, H, W, 3) uint8 RGB frames -> T PersonBoxes, one per frame, in frame order."""

WHOLE_FRAME = "whole_frame"


def whole_frame_detector(frames: np.ndarray) -> list[PersonBoxes]:
    """One person box covering each whole frame, with score 1.0."""
    frames = check_frames(frames)
    height, width = frames.shape[1:3]
    box = np.array([[0.0, 0.0, float(width), float(height)]])
    return [(box.copy(), np.ones(1)) for _ in range(frames.shape[0])]


class MMPoseEstimator(ClosesOnExit):
    """Top-down 2D pose with an mmpose model (config + checkpoint) and a person detector.

    For one stack of frames use `estimate`; its parts are `detect` -> `regions` ->
    `estimate_regions`.
    """

    def __init__(
        self,
        model_config: str | Path | Mapping[str, Any],
        checkpoint: str | Path,
        person_detector: PersonDetector = whole_frame_detector,
        *,
        detector_threshold: float = 0.25,
        box_padding: float = 10,
        box_aspect: tuple[int, int] = (3, 4),
        batch_size: int = 32,
        device: str = "cpu",
    ) -> None:
        """Build the model from a JSON/YAML config (or mapping) and load the checkpoint."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not 0.0 <= detector_threshold <= 1.0:
            raise ValueError(f"detector_threshold must be in [0, 1], got {detector_threshold}")
        if box_padding < 0:
            raise ValueError(f"box_padding must be >= 0 pixels, got {box_padding}")
        if not callable(person_detector):
            raise TypeError(
                "person_detector must be a callable frames -> [(boxes (N, 4), scores (N,)), ...]; "
                "use whole_frame_detector for pre-cropped single-person footage"
            )
        self.person_detector = person_detector
        self.detector_threshold = float(detector_threshold)
        self.box_padding = float(box_padding)
        self.box_aspect = (int(box_aspect[0]), int(box_aspect[1]))
        self.batch_size = int(batch_size)
        self.device = resolve_device(device)
        config = load_model_config(model_config)
        self._model: Any = build_model(config, checkpoint, self.device)
        self._pipeline, self._input_size = region_pipeline(config)

    @classmethod
    def from_folder(
        cls,
        folder: str | Path,
        person_detector: PersonDetector = whole_frame_detector,
        **kwargs: Any,
    ) -> MMPoseEstimator:
        """Load `folder`/mmpose_config.{json,yaml} and `folder`/model.{safetensors,pth}."""
        path = Path(folder)
        if not path.is_dir():
            raise FileNotFoundError(
                f"no mmpose model folder at {str(path)!r}; it must hold one of {list(CONFIG_FILES)} "
                f"and one of {list(CHECKPOINT_FILES)}"
            )
        config = find_one(path, CONFIG_FILES, "mmpose config")
        checkpoint = find_one(path, CHECKPOINT_FILES, "mmpose checkpoint")
        return cls(config, checkpoint, person_detector, **kwargs)

    @classmethod
    def from_config(cls, config: PoseConfig, device: str = "cpu") -> MMPoseEstimator:
        """Build from a PoseConfig: pose.model is a model folder, pose.detector 'whole_frame'."""
        if config.detector != WHOLE_FRAME:
            raise ValueError(
                f"pose backend 'mmpose' cannot run detector {config.detector!r}: its environment "
                "has no transformers 5 for RT-DETR. Set pose.detector=whole_frame (each frame is "
                "one person box), or build MMPoseEstimator with a person_detector callable"
            )
        return cls.from_folder(
            config.model,
            whole_frame_detector,
            detector_threshold=config.detector_threshold,
            box_padding=config.box_padding,
            box_aspect=config.box_aspect,
            batch_size=config.resources.batch_size,
            device=device,
        )

    @property
    def input_size(self) -> tuple[int, int]:
        """Model input (width, height), e.g. (192, 256)."""
        return self._input_size

    def _require_open(self) -> None:
        """Raise if close() was called."""
        if self._model is None:
            raise RuntimeError("MMPoseEstimator is closed; build a new one")

    def detect(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Largest person box per frame: (T, 4) float32 x1, y1, x2, y2 (NaN if none), (T,) found."""
        frames = check_frames(frames)
        num_frames, height, width = frames.shape[:3]
        candidates = list(self.person_detector(frames))
        if len(candidates) != num_frames:
            raise ValueError(
                f"person_detector returned {len(candidates)} entries for {num_frames} frames; "
                "it must return one (boxes, scores) pair per frame"
            )
        boxes = np.full((num_frames, 4), np.nan, dtype=np.float32)
        for index, entry in enumerate(candidates):
            try:
                frame_boxes, scores = entry
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"person_detector entry {index} must be a (boxes (N, 4), scores (N,)) pair"
                ) from exc
            frame_boxes = clip_boxes(
                np.asarray(frame_boxes, dtype=np.float64).reshape(-1, 4), width, height
            )
            chosen = select_largest(frame_boxes, np.asarray(scores), self.detector_threshold)
            # A zero-area box (e.g. wholly outside the frame once clipped) holds no person.
            if chosen >= 0 and box_areas(frame_boxes[chosen : chosen + 1])[0] > 0:
                boxes[index] = frame_boxes[chosen]
        found = np.isfinite(boxes).all(axis=1)
        return boxes, found

    def regions(self, boxes: np.ndarray, width: int, height: int) -> np.ndarray:
        """The (N, 4) crop regions of finite person boxes: padded, clipped, grown to the aspect."""
        box_array = np.asarray(boxes, dtype=np.float64)
        if box_array.ndim != 2 or box_array.shape[1] != 4 or not np.isfinite(box_array).all():
            raise ValueError(
                f"boxes must be a finite (N, 4) array, got shape {box_array.shape}; keep only the "
                "frames where detect() found a person"
            )
        return crop_boxes(box_array, self.box_padding, self.box_aspect, width, height)

    def _check_regions(self, frames: np.ndarray, regions: np.ndarray) -> np.ndarray:
        """Frames as (N, H, W, 3) uint8 and regions as a finite (N, 4) array, or raise."""
        region_array = np.asarray(regions, dtype=np.float64)
        if region_array.shape != (frames.shape[0], 4) or not np.isfinite(region_array).all():
            raise ValueError(
                f"regions must be a finite ({frames.shape[0]}, 4) array, one per frame, got "
                f"shape {region_array.shape}; make them with regions()"
            )
        return region_array

    def _pipeline_inputs(self, frames: np.ndarray, regions: np.ndarray) -> list[dict[str, Any]]:
        """The config's test pipeline run on each frame with its region (mmpose's data dicts)."""
        # dance's pixel (i, j) spans [i, i+1); mmpose puts pixel centres on integers.
        mm_regions = (regions - 0.5).astype(np.float32)
        meta = self._model.dataset_meta
        return [
            self._pipeline(
                {
                    "img": np.ascontiguousarray(frame[..., ::-1]),  # mmcv pipelines take BGR
                    "bbox": region[None],
                    "bbox_score": np.ones(1, dtype=np.float32),
                    **meta,
                }
            )
            for frame, region in zip(frames, mm_regions)
        ]

    def crops(self, frames: np.ndarray, regions: np.ndarray) -> np.ndarray:
        """The (N, H_in, W_in, 3) uint8 RGB model inputs mmpose's pipeline cuts at `regions`."""
        self._require_open()
        frames = check_frames(frames)
        region_array = self._check_regions(frames, regions)
        out_w, out_h = self._input_size
        crops = np.zeros((frames.shape[0], out_h, out_w, 3), dtype=np.uint8)
        for index, data in enumerate(self._pipeline_inputs(frames, region_array)):
            crops[index] = data["inputs"].permute(1, 2, 0).numpy()[..., ::-1]
        return crops

    def estimate_regions(self, frames: np.ndarray, regions: np.ndarray) -> np.ndarray:
        """(N, 17, 3) x, y, score in image pixels (clipped to it); frame n is cut at regions[n]."""
        self._require_open()
        from mmengine.dataset import pseudo_collate

        frames = check_frames(frames)
        region_array = self._check_regions(frames, regions)
        height, width = frames.shape[1:3]
        out = np.zeros((frames.shape[0], NUM_COCO17_JOINTS, 3), dtype=np.float32)
        for start in range(0, frames.shape[0], self.batch_size):
            stop = start + self.batch_size
            batch = self._pipeline_inputs(frames[start:stop], region_array[start:stop])
            with torch.inference_mode():
                samples = self._model.test_step(pseudo_collate(batch))
            for offset, sample in enumerate(samples):
                # Back from mmpose's pixel-index convention to dance's continuous one.
                out[start + offset, :, :2] = np.asarray(sample.pred_instances.keypoints)[0] + 0.5
                out[start + offset, :, 2] = np.asarray(sample.pred_instances.keypoint_scores)[0]
        # A joint predicted in the black padding beyond the frame is kept on its border.
        out[..., 0] = np.clip(out[..., 0], 0.0, width)
        out[..., 1] = np.clip(out[..., 1], 0.0, height)
        return out

    def estimate(self, frames: np.ndarray) -> PoseResult:
        """Pose of the largest person in each of (T, H, W, 3) uint8 RGB frames."""
        return estimate_top_down(frames, self.detect, self._pose_persons)

    def _pose_persons(self, frames: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """(N, 17, 3) image keypoints of the person in each box of its frame."""
        height, width = frames.shape[1:3]
        return self.estimate_regions(frames, self.regions(boxes, width, height))

    def close(self) -> None:
        """Drop the model; further calls raise."""
        self._model = None
