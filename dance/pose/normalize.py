"""Pose clip normalisation for clustering (docs/method.md section 2): clip -> flat float32 vector.

Every method uses only (x, y) (scores are dropped) and flattens time-major, then joint,
then (x, y): value [t * 34 + j * 2 + a] is axis a (0 = x, 1 = y) of joint j at frame t.

- "minmax" (reference, default): per frame, x and y are min-max scaled SEPARATELY to
  [0, 1] over the 17 joints. A degenerate axis (all joints share one value) becomes 0.
- "torso": per frame, centred on the mid-hip; scaled by the clip's mean mid-shoulder to
  mid-hip distance.
- "box": per frame, centred on the joints' bounding-box centre; scaled by the largest
  box side over the clip.

A clip with no usable scale (zero torso length or a zero-size box in every frame) becomes
all zeros, so the output is never NaN. torso and box are invariant to scaling and
translating the whole clip; minmax is invariant to scaling and translating each axis.
"""

from __future__ import annotations

import numpy as np

from dance.pose.skeleton import NUM_COCO17_JOINTS, joint_index

NORMALIZATION_METHODS: tuple[str, ...] = ("minmax", "torso", "box")

_LEFT_SHOULDER = joint_index("left_shoulder")
_RIGHT_SHOULDER = joint_index("right_shoulder")
_LEFT_HIP = joint_index("left_hip")
_RIGHT_HIP = joint_index("right_hip")


def _check_method(method: str) -> None:
    """Raise a ValueError naming the allowed methods unless `method` is one of them."""
    if method not in NORMALIZATION_METHODS:
        allowed = ", ".join(repr(m) for m in NORMALIZATION_METHODS)
        raise ValueError(f"unknown normalization method {method!r}; expected one of {allowed}")


def _check_clips(clips: np.ndarray, name: str, lead_names: str, lead_dims: int) -> None:
    """Raise naming `name` unless it is a finite float numpy (*lead, L>=1, 17, 3) array."""
    if not isinstance(clips, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(clips).__name__}")
    if clips.ndim != lead_dims + 2 or clips.shape[-2:] != (NUM_COCO17_JOINTS, 3):
        raise ValueError(
            f"{name} must have shape ({lead_names}, {NUM_COCO17_JOINTS}, 3) of COCO-17 "
            f"(x, y, score), got {clips.shape}"
        )
    if clips.shape[lead_dims - 1] < 1:
        raise ValueError(f"{name} must hold at least one frame (L >= 1), got {clips.shape}")
    if not np.issubdtype(clips.dtype, np.floating):
        raise ValueError(f"{name} must be a float array, got dtype {clips.dtype}")
    if not np.isfinite(clips).all():
        raise ValueError(
            f"{name} holds NaN/inf keypoints; normalise only clips that judge_clip kept"
        )


def _safe_divide(values: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """values / scale where scale > 0, else 0 (a degenerate scale carries no shape)."""
    positive = scale > 0
    return np.where(positive, values / np.where(positive, scale, 1.0), 0.0)


def _minmax(xy: np.ndarray) -> np.ndarray:
    """Per frame and axis, scale the 17 joints to [0, 1]; (S, L, 17, 2) -> same shape."""
    low = xy.min(axis=2, keepdims=True)
    span = xy.max(axis=2, keepdims=True) - low
    return _safe_divide(xy - low, span)


def _torso(xy: np.ndarray) -> np.ndarray:
    """Centre each frame on its mid-hip; divide by the clip's mean shoulder-hip distance."""
    mid_hip = (xy[:, :, _LEFT_HIP] + xy[:, :, _RIGHT_HIP]) / 2.0
    mid_shoulder = (xy[:, :, _LEFT_SHOULDER] + xy[:, :, _RIGHT_SHOULDER]) / 2.0
    torso = np.linalg.norm(mid_shoulder - mid_hip, axis=-1).mean(axis=1)  # (S,)
    return _safe_divide(xy - mid_hip[:, :, None, :], torso[:, None, None, None])


def _box(xy: np.ndarray) -> np.ndarray:
    """Centre each frame on its joints' box centre; divide by the clip's largest box side."""
    low = xy.min(axis=2, keepdims=True)
    high = xy.max(axis=2, keepdims=True)
    side = (high - low).max(axis=(1, 2, 3))  # (S,)
    return _safe_divide(xy - (low + high) / 2.0, side[:, None, None, None])


_METHODS = {"minmax": _minmax, "torso": _torso, "box": _box}


def normalize_clips(clips: np.ndarray, method: str = "minmax") -> np.ndarray:
    """Normalise S clips at once: (S, L, 17, 3) -> (S, L*17*2) float32, as normalize_clip each."""
    _check_method(method)
    _check_clips(clips, "clips", "S, L", 2)
    xy = clips[:, :, :, :2].astype(np.float64)
    normalised = _METHODS[method](xy)
    num_clips, length = clips.shape[:2]
    return normalised.reshape(num_clips, length * NUM_COCO17_JOINTS * 2).astype(np.float32)


def normalize_clip(clip: np.ndarray, method: str = "minmax") -> np.ndarray:
    """Normalise one clip: (L, 17, 3) -> (L*17*2,) float32, time-major, joint, then (x, y)."""
    _check_method(method)
    _check_clips(clip, "clip", "L", 1)
    return normalize_clips(clip[None], method)[0]
