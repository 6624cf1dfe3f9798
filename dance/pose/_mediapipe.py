"""The mediapipe pose backend: BlazePose frame by frame, as a PoseEstimator."""

from __future__ import annotations

import numpy as np

from dance._closing import ClosesOnExit
from dance.pose._boxes import clip_boxes
from dance.pose.blazepose import BlazePoseEstimator
from dance.pose.estimator import PoseResult, check_frames

# Landmarks at least this visible define the person box; BlazePose's own default cut.
_CONFIDENT_VISIBILITY = 0.5


def landmark_box(keypoints: np.ndarray, min_score: float = _CONFIDENT_VISIBILITY) -> np.ndarray:
    """(4,) bounds of the (17, 3) keypoints scoring >= min_score (all of them if none do)."""
    confident = keypoints[keypoints[:, 2] >= min_score, :2]
    points = confident if confident.shape[0] else keypoints[:, :2]
    return np.concatenate([points.min(axis=0), points.max(axis=0)])


class MediaPipePoseEstimator(ClosesOnExit):
    """Offline CPU pose: mediapipe BlazePose, mapped to COCO-17.

    Static (default): each frame is processed on its own, so a frame's result does not
    depend on the frames before it. Tracking: one estimate() call is one video's frames in
    time order; each frame's pose seeds the search in the next (BlazePose's video mode), and
    the next call starts afresh. mediapipe runs on the CPU whatever the device.
    """

    def __init__(self, min_detection_confidence: float = 0.5, tracking: bool = False) -> None:
        """Build the BlazePose graph; `min_detection_confidence` is its person-detector cut."""
        self._min_detection_confidence = min_detection_confidence
        # Callers batch frames of several videos into one call unless told the estimator
        # follows a person through time (then: one call per video).
        self.tracks_over_time = tracking
        self._blazepose: BlazePoseEstimator | None = BlazePoseEstimator(
            min_detection_confidence=min_detection_confidence, static_image_mode=not tracking
        )

    def estimate(self, frames: np.ndarray) -> PoseResult:
        """Pose of the main person in each of (T, H, W, 3) uint8 RGB frames."""
        if self._blazepose is None:
            raise RuntimeError("MediaPipePoseEstimator is closed; build a new one")
        frames = check_frames(frames)
        if self.tracks_over_time:
            # A fresh graph per sequence: the previous video's last pose must not seed this one.
            self._blazepose.close()
            self._blazepose = BlazePoseEstimator(
                min_detection_confidence=self._min_detection_confidence, static_image_mode=False
            )
        num_frames, height, width = frames.shape[:3]
        result = PoseResult.missing(num_frames)
        keypoints, boxes, found = result.keypoints.copy(), result.boxes.copy(), result.found.copy()
        for index in range(num_frames):
            pose = self._blazepose.estimate(frames[index])
            if pose is None:
                continue
            pose = pose.astype(np.float32)
            box = clip_boxes(landmark_box(pose)[None], width, height)[0]
            # BlazePose extrapolates joints beyond the frame; keep them on the image border.
            pose[:, 0] = np.clip(pose[:, 0], 0.0, width)
            pose[:, 1] = np.clip(pose[:, 1], 0.0, height)
            keypoints[index], boxes[index], found[index] = pose, box, True
        return PoseResult(keypoints=keypoints, boxes=boxes, found=found)

    def close(self) -> None:
        """Release the mediapipe graph; further estimate() calls raise."""
        if self._blazepose is not None:
            self._blazepose.close()
            self._blazepose = None
