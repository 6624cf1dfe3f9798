"""The pose estimator interface: frames in, COCO-17 keypoints of the main person out."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from dance._lazy import lazy_exports
from dance.pose.skeleton import NUM_COCO17_JOINTS

if TYPE_CHECKING:
    from dance.config import PoseConfig

_MMPOSE_HINT = (
    "install the optional extra with `pip install 'dance[mmpose]'`; mmpose cannot share an "
    "environment with transformers 5.x, so give it its own environment "
    "(see docs/environment.md, 'mmpose')"
)


@dataclass(frozen=True)
class PoseResult:
    """Per-frame pose of the chosen person, in image pixels (COCO-17 joint order).

    Coordinates are continuous: pixel (i, j) covers [i, i+1) x [j, j+1).

    keypoints: (T, 17, 3) float32 x, y, score; x in [0, W] and y in [0, H] for model
        backends. Frames where `found` is False hold NaN x, y and score 0.
    boxes: (T, 4) float32 x1, y1, x2, y2 of the chosen person; NaN where not found.
    found: (T,) bool, a person was found in the frame.
    """

    keypoints: np.ndarray
    boxes: np.ndarray
    found: np.ndarray

    def __post_init__(self) -> None:
        """Coerce dtypes and check that the three arrays agree on T."""
        keypoints = np.asarray(self.keypoints, dtype=np.float32)
        boxes = np.asarray(self.boxes, dtype=np.float32)
        found = np.asarray(self.found, dtype=bool)
        if keypoints.ndim != 3 or keypoints.shape[1:] != (NUM_COCO17_JOINTS, 3):
            raise ValueError(
                f"PoseResult.keypoints must have shape (T, {NUM_COCO17_JOINTS}, 3), "
                f"got {keypoints.shape}"
            )
        num_frames = keypoints.shape[0]
        if boxes.shape != (num_frames, 4):
            raise ValueError(
                f"PoseResult.boxes must have shape ({num_frames}, 4), got {boxes.shape}"
            )
        if found.shape != (num_frames,):
            raise ValueError(f"PoseResult.found must have shape ({num_frames},), got {found.shape}")
        object.__setattr__(self, "keypoints", keypoints)
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "found", found)

    def __len__(self) -> int:
        """Number of frames T."""
        return int(self.found.shape[0])

    @classmethod
    def missing(cls, num_frames: int) -> PoseResult:
        """A result of `num_frames` frames in which no person was found."""
        keypoints = np.full((num_frames, NUM_COCO17_JOINTS, 3), np.nan, dtype=np.float32)
        keypoints[..., 2] = 0.0
        return cls(
            keypoints=keypoints,
            boxes=np.full((num_frames, 4), np.nan, dtype=np.float32),
            found=np.zeros(num_frames, dtype=bool),
        )


@runtime_checkable
class PoseEstimator(Protocol):
    """A pose backend: a stack of RGB frames in, one PoseResult out.

    A backend may set `tracks_over_time = True` (mediapipe in tracking mode): each
    estimate() call is then one video's frames in time order, so callers must not batch
    frames of several videos into one call.
    """

    def estimate(self, frames: np.ndarray) -> PoseResult:
        """Pose of the main person in each of (T, H, W, 3) uint8 RGB frames; any T."""
        ...

    def close(self) -> None:
        """Release the models; the estimator cannot be used afterwards."""
        ...


def check_frames(frames: np.ndarray) -> np.ndarray:
    """Return frames as a (T, H, W, 3) uint8 array, or raise naming the fix."""
    if not isinstance(frames, np.ndarray):
        raise TypeError(
            f"frames must be a numpy array of shape (T, H, W, 3), got {type(frames).__name__}"
        )
    if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8:
        raise ValueError(
            f"frames must be RGB uint8 of shape (T, H, W, 3), got shape {frames.shape} and dtype "
            f"{frames.dtype}; stack single frames with frame[None] and convert OpenCV BGR "
            "images with cv2.cvtColor(img, cv2.COLOR_BGR2RGB)"
        )
    if frames.shape[1] == 0 or frames.shape[2] == 0:
        raise ValueError(f"frames must have a positive height and width, got shape {frames.shape}")
    return frames


def estimate_top_down(
    frames: np.ndarray,
    detect: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    pose_persons: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> PoseResult:
    """A top-down backend's estimate(): detect(frames) -> (boxes, found), then
    pose_persons(frames, boxes) -> (N, 17, 3) for the frames with a person only."""
    frames = check_frames(frames)
    boxes, found = detect(frames)
    keypoints = PoseResult.missing(frames.shape[0]).keypoints.copy()
    rows = np.flatnonzero(found)
    if rows.size:
        keypoints[rows] = pose_persons(frames[rows], boxes[rows])
    return PoseResult(keypoints=keypoints, boxes=boxes, found=found)


def build_pose_estimator(config: PoseConfig, device: str = "cpu") -> PoseEstimator:
    """Build the pose backend named by `config.backend` on `device` ("cpu", "cuda", ...)."""
    backend = config.backend
    if backend == "vitpose":
        from dance.pose._vitpose import ViTPoseEstimator

        return ViTPoseEstimator.from_config(config, device=device)
    if backend == "mediapipe":
        from dance.pose._mediapipe import MediaPipePoseEstimator

        return MediaPipePoseEstimator(
            min_detection_confidence=config.detector_threshold, tracking=config.mediapipe_tracking
        )
    if backend == "mmpose":
        if importlib.util.find_spec("mmpose") is None:
            raise ImportError(
                f"pose backend 'mmpose' needs mmpose, which is not importable; {_MMPOSE_HINT}"
            )
        from dance.pose._mmpose import MMPoseEstimator

        return MMPoseEstimator.from_config(config, device=device)
    if backend == "annotations":
        raise ValueError(
            "pose backend 'annotations' reads keypoints from the dataset, not from frames: build "
            "dance.pose.estimator.AnnotationPoseSource(keypoints_by_video) with the dataset's "
            "keypoint reader instead of calling build_pose_estimator"
        )
    raise ValueError(
        f"unknown pose backend {backend!r}; expected one of vitpose, mediapipe, mmpose, annotations"
    )


# The backends, imported on first access so the interface loads no model library.
__getattr__ = lazy_exports(
    __name__,
    {
        "dance.pose._annotations": ("AnnotationPoseSource",),
        "dance.pose._mediapipe": ("MediaPipePoseEstimator",),
        "dance.pose._vitpose": ("ViTPoseEstimator",),
    },
)
