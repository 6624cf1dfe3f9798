"""Pose read from dataset annotations (Penn Action, DANCE-Synth ground truth), not a model."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dance.pose.estimator import PoseResult
from dance.pose.skeleton import NUM_COCO17_JOINTS


class AnnotationPoseSource:
    """Serve annotated COCO-17 keypoints of a video for requested frame indices.

    `keypoints_by_video(video_id)` returns the whole video's (T, 17, 3) x, y, score (or
    (T, 17, 2) x, y, scored 1) in image pixels. A joint counts when its x, y are finite
    and its score is > 0; a frame with no such joint is "not found". Wrap the reader in
    functools.lru_cache when the same video is asked for repeatedly.
    """

    def __init__(self, keypoints_by_video: Callable[[str], np.ndarray]) -> None:
        """Keep the per-video keypoint reader."""
        if not callable(keypoints_by_video):
            raise TypeError(
                "keypoints_by_video must be a callable video_id -> (T, 17, 3) array, got "
                f"{type(keypoints_by_video).__name__}"
            )
        self._keypoints_by_video = keypoints_by_video

    def _video_keypoints(self, video_id: str) -> np.ndarray:
        """The video's annotations as a (T, 17, 3) float32 array, validated."""
        array = np.asarray(self._keypoints_by_video(video_id), dtype=np.float32)
        if array.ndim != 3 or array.shape[1] != NUM_COCO17_JOINTS or array.shape[2] not in (2, 3):
            raise ValueError(
                f"annotated keypoints of video {video_id!r} must have shape "
                f"(T, {NUM_COCO17_JOINTS}, 3) or (T, {NUM_COCO17_JOINTS}, 2) in COCO-17 order, "
                f"got {array.shape}; map other skeletons to COCO-17 first"
            )
        if array.shape[2] == 2:
            scores = np.ones(array.shape[:2] + (1,), dtype=np.float32)
            array = np.concatenate([array, scores], axis=2)
        return array

    def for_video(self, video_id: str, frame_indices: np.ndarray) -> PoseResult:
        """Annotated pose of `video_id` at 0-based `frame_indices`, in the order given."""
        if not isinstance(video_id, str) or not video_id:
            raise ValueError(f"video_id must be a non-empty string, got {video_id!r}")
        indices = np.asarray(frame_indices)
        if indices.ndim != 1 or not (indices.size == 0 or np.issubdtype(indices.dtype, np.integer)):
            raise ValueError(
                f"frame_indices must be a 1-D integer array, got shape {indices.shape} and dtype "
                f"{indices.dtype}"
            )
        video = self._video_keypoints(video_id)
        num_frames = video.shape[0]
        bad = indices[(indices < 0) | (indices >= num_frames)]
        if bad.size:
            raise IndexError(
                f"frame indices {bad[:5].tolist()} are outside video {video_id!r}, whose "
                f"annotations have {num_frames} frames (valid: 0..{num_frames - 1})"
            )
        keypoints = video[indices.astype(np.int64)].copy()
        valid = np.isfinite(keypoints[..., :2]).all(axis=2) & (keypoints[..., 2] > 0)
        found = valid.any(axis=1)
        boxes = np.full((indices.size, 4), np.nan, dtype=np.float32)
        for row in np.flatnonzero(found):
            joints = keypoints[row, valid[row], :2]
            boxes[row] = (*joints.min(axis=0), *joints.max(axis=0))
        keypoints[~found] = (np.nan, np.nan, 0.0)
        return PoseResult(keypoints=keypoints, boxes=boxes, found=found)
