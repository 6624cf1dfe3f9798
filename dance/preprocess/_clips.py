"""Key clips from per-frame poses: validity, (S, L, 17, 3) assembly, filters, clip rows.

A video whose key clips hold no valid pose frame keeps all its clip rows, each rejected
as `no_person`: pose only feeds the motion concepts, so the video itself stays `ok`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dance.config import PoseConfig
from dance.pose.filters import frame_validity, judge_clips
from dance.pose.skeleton import NUM_COCO17_JOINTS

# The reject reason of every clip of a video without a single valid pose frame; it
# replaces the per-clip reason (always `invalid_frames` then), which would hide why.
NO_PERSON = "no_person"


@dataclass(frozen=True)
class VideoClips:
    """A video's clip rows (CLIP_STRUCT dicts) and whether any key-clip frame held a person."""

    rows: list[dict[str, Any]]
    any_valid_frame: bool


def to_original_pixels(
    keypoints: np.ndarray, frame_size: tuple[int, int], original_size: tuple[int, int]
) -> np.ndarray:
    """(..., 17, 3) x, y measured on frames of frame_size=(h, w) mapped to original_size."""
    out = np.array(keypoints, dtype=np.float32, copy=True)
    out[..., 0] *= original_size[1] / frame_size[1]
    out[..., 1] *= original_size[0] / frame_size[0]
    return out


def assemble_clips(
    windows: np.ndarray,
    clip_keyframes: np.ndarray,
    pose_indices: np.ndarray,
    keypoints: np.ndarray,
    found: np.ndarray,
    config: PoseConfig,
) -> VideoClips:
    """Clip rows of one video from the pose of its unique key-clip frames.

    windows: (S, L) raw frame indices; clip_keyframes: (S,) their keyframes;
    pose_indices: (F,) ascending unique raw frames that `keypoints` (F, 17, 3) and
    `found` (F,) describe. Validity is judged per raw frame, so a frame shared by two
    clips gets one verdict. When no frame is valid, every clip is rejected `no_person`.
    """
    windows = np.asarray(windows, dtype=np.int64)
    indices = np.asarray(pose_indices, dtype=np.int64)
    if windows.ndim != 2:
        raise ValueError(f"windows must be (S, L) frame indices, got shape {windows.shape}")
    if windows.shape[0] != len(clip_keyframes):
        raise ValueError(
            f"{windows.shape[0]} windows but {len(clip_keyframes)} clip keyframes; both come "
            "from the same clip_windows/select_keyframes call"
        )
    if keypoints.shape[0] != indices.size or found.shape[0] != indices.size:
        raise ValueError(
            f"poses for {keypoints.shape[0]} frames but {indices.size} pose indices; estimate "
            "the pose of exactly the pose_indices frames"
        )
    if windows.size == 0:
        return VideoClips(rows=[], any_valid_frame=False)
    positions = np.searchsorted(indices, windows)
    if np.any(positions >= indices.size) or np.any(indices[np.minimum(positions, indices.size - 1)] != windows):
        raise ValueError("a window frame has no pose: pose_indices must be np.unique(windows)")
    validity = frame_validity(np.asarray(keypoints, dtype=np.float32), found.astype(bool), config)
    clips = np.asarray(keypoints, dtype=np.float32)[positions]
    decisions = judge_clips(clips, validity.valid[positions], config)
    any_valid_frame = bool(validity.valid.any())
    length = windows.shape[1]
    rows = [
        {
            "clip_index": index,
            "start": int(windows[index, 0]),
            "end": int(windows[index, -1]) + 1,
            "keyframe": int(clip_keyframes[index]),
            "pose": clips[index].reshape(length * NUM_COCO17_JOINTS * 3).tolist(),
            "kept": decision.kept,
            "reject_reason": decision.reason if any_valid_frame else NO_PERSON,
        }
        for index, decision in enumerate(decisions)
    ]
    return VideoClips(rows=rows, any_valid_frame=any_valid_frame)
