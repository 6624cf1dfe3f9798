"""Offline CPU 2D pose with mediapipe's BlazePose, mapped to COCO-17 keypoints."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from dance._closing import ClosesOnExit
from dance.pose.skeleton import BLAZEPOSE_TO_COCO17

_INSTALL_HINT = "pip install 'dance[mediapipe]'"
# model_complexity 0 and 2 download their weights on first use; only 1 ships in the wheel.
_MODEL_COMPLEXITY = 1


def _import_mediapipe_pose() -> Any:
    """Import mediapipe's Pose solution, or explain how to install it."""
    try:
        from mediapipe.python.solutions import pose as mp_pose
    except ImportError as exc:
        raise ImportError(
            f"BlazePoseEstimator needs mediapipe==0.10.14, which is not importable ({exc}); "
            f"install it with: {_INSTALL_HINT}"
        ) from exc
    return mp_pose


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the body (C++ log lines only; errors raise)."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class BlazePoseEstimator(ClosesOnExit):
    """One mediapipe BlazePose graph: RGB frames in, COCO-17 (x, y, score) in pixels out."""

    def __init__(
        self, min_detection_confidence: float = 0.5, static_image_mode: bool = True
    ) -> None:
        """Build the pose graph (model_complexity=1, the only one that works offline)."""
        if not 0.0 <= min_detection_confidence <= 1.0:
            raise ValueError(
                f"min_detection_confidence must be in [0, 1], got {min_detection_confidence}"
            )
        mp_pose = _import_mediapipe_pose()
        self._pose: Any = mp_pose.Pose(
            static_image_mode=static_image_mode,
            model_complexity=_MODEL_COMPLEXITY,
            smooth_landmarks=False,
            enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=0.5,
        )
        self._started = False

    def estimate(self, frame: np.ndarray) -> np.ndarray | None:
        """Return (17, 3) COCO-17 (x, y, visibility) in pixels for an RGB uint8 frame, or None."""
        if self._pose is None:
            raise RuntimeError("BlazePoseEstimator is closed; create a new one")
        if not (
            isinstance(frame, np.ndarray)
            and frame.dtype == np.uint8
            and frame.ndim == 3
            and frame.shape[2] == 3
        ):
            shape = getattr(frame, "shape", None)
            dtype = getattr(frame, "dtype", type(frame).__name__)
            raise ValueError(
                f"frame must be an RGB uint8 array of shape (H, W, 3), got shape {shape} and "
                f"dtype {dtype}; convert OpenCV BGR images with cv2.cvtColor(img, "
                "cv2.COLOR_BGR2RGB)"
            )
        height, width = frame.shape[:2]
        if self._started:
            result = self._pose.process(np.ascontiguousarray(frame))
        else:
            # A graph's first frame makes mediapipe's C++ side write two fixed notices (the
            # TFLite delegate, "feedback tensors") straight to fd 2: once per graph, so once
            # per video in tracking mode, hundreds of identical lines in a job's log.
            with _native_stderr_silenced():
                result = self._pose.process(np.ascontiguousarray(frame))
            self._started = True
        if result.pose_landmarks is None:
            return None
        landmarks = result.pose_landmarks.landmark
        out = np.empty((len(BLAZEPOSE_TO_COCO17), 3), dtype=np.float32)
        for row, index in enumerate(BLAZEPOSE_TO_COCO17):
            mark = landmarks[index]
            out[row] = (mark.x * width, mark.y * height, mark.visibility)
        return out

    def close(self) -> None:
        """Release the mediapipe graph; further estimate() calls raise."""
        if self._pose is not None:
            self._pose.close()
            self._pose = None
