"""Pose frame and clip filters (docs/method.md section 2) and the explicit raw<->valid frame map.

Frames are always indexed by their RAW position in the video. The reference drops
invalid frames before windowing, which silently shifts every later keyframe index; here
invalid frames stay in place, `FrameValidity` translates between raw and valid indices,
and a clip that touches an invalid frame is rejected instead of being re-windowed.

Boundaries follow the reference's wording "drop a clip whose mean score < 0.5 ... or
cosine similarity < 0.92": a frame is valid when its mean joint score >= frame_min_score,
and a clip is kept when its mean score >= clip_min_score and every consecutive-frame
cosine >= clip_min_cosine (values exactly at a threshold pass).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dance.config import PoseConfig
from dance.pose.skeleton import NUM_COCO17_JOINTS

CLIP_REJECT_REASONS: tuple[str, ...] = ("invalid_frames", "low_score", "discontinuous")


@dataclass(frozen=True)
class FrameValidity:
    """Which raw frames hold a usable pose, and the maps between raw and valid indices."""

    valid: np.ndarray  # (T,) bool
    raw_to_valid: np.ndarray  # (T,) int32; -1 for invalid frames
    valid_to_raw: np.ndarray  # (V,) int32; ascending raw indices


@dataclass(frozen=True)
class ClipDecision:
    """Whether one key clip survives the clip filters, why not, and the figures judged.

    mean_score and min_cosine are computed from the clip's raw values even when it is
    rejected; they are NaN when a rejected ("invalid_frames") clip holds non-finite values.
    min_cosine is 1.0 for a one-frame clip, which has no consecutive pair to compare.
    """

    kept: bool
    reason: str | None  # None when kept; else one of CLIP_REJECT_REASONS
    mean_score: float
    min_cosine: float

    def __post_init__(self) -> None:
        """Reject a decision whose reason contradicts `kept` or is not a known reason."""
        if self.kept and self.reason is not None:
            raise ValueError(f"a kept clip has no reject reason, got {self.reason!r}")
        if not self.kept and self.reason not in CLIP_REJECT_REASONS:
            raise ValueError(
                f"reject reason must be one of {CLIP_REJECT_REASONS}, got {self.reason!r}"
            )


def _check_keypoints(array: np.ndarray, name: str, lead_dims: int, lead_names: str) -> None:
    """Raise naming `name` unless it is a float numpy array of shape (*lead, 17, 3)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(array).__name__}")
    expected = lead_dims + 2
    if array.ndim != expected or array.shape[-2:] != (NUM_COCO17_JOINTS, 3):
        raise ValueError(
            f"{name} must have shape ({lead_names}, {NUM_COCO17_JOINTS}, 3) of COCO-17 "
            f"(x, y, score), got {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{name} must be a float array, got dtype {array.dtype}")


def _check_mask(mask: np.ndarray, name: str, shape: tuple[int, ...], against: str) -> None:
    """Raise naming `name` unless it is a bool numpy array of the given shape."""
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{name} must be a numpy bool array, got {type(mask).__name__}")
    if mask.dtype != np.bool_:
        raise ValueError(
            f"{name} must be a numpy bool array (use .astype(bool)), got dtype {mask.dtype}"
        )
    if mask.shape != shape:
        raise ValueError(f"{name} must have shape {shape} to match {against}, got {mask.shape}")


def frame_validity(keypoints: np.ndarray, found: np.ndarray, config: PoseConfig) -> FrameValidity:
    """Mark frames with a person and mean joint score >= frame_min_score; map raw<->valid."""
    _check_keypoints(keypoints, "keypoints", 1, "T")
    _check_mask(found, "found", keypoints.shape[:1], "keypoints' T")
    # A frame with NaN/inf coordinates cannot be judged or normalised, whatever its score.
    finite = np.isfinite(keypoints).all(axis=(1, 2))
    with np.errstate(invalid="ignore"):
        mean_score = keypoints[:, :, 2].mean(axis=1, dtype=np.float64)
    valid = found & finite & (mean_score >= config.frame_min_score)
    raw_to_valid = np.where(valid, np.cumsum(valid) - 1, -1).astype(np.int32)
    valid_to_raw = np.flatnonzero(valid).astype(np.int32)
    return FrameValidity(valid=valid, raw_to_valid=raw_to_valid, valid_to_raw=valid_to_raw)


def _consecutive_min_cosine(clips: np.ndarray) -> np.ndarray:
    """(S, L, 17, 3) -> (S,) min cosine between consecutive frames' flattened raw (x, y)."""
    num_clips, length = clips.shape[:2]
    if length < 2:
        return np.ones(num_clips, dtype=np.float64)
    xy = clips[:, :, :, :2].reshape(num_clips, length, NUM_COCO17_JOINTS * 2).astype(np.float64)
    before, after = xy[:, :-1], xy[:, 1:]
    with np.errstate(invalid="ignore", over="ignore"):
        dot = np.einsum("slk,slk->sl", before, after)
        norms = np.linalg.norm(before, axis=-1) * np.linalg.norm(after, axis=-1)
        # A frame with every joint at the origin has no direction: cosine 0 (as sklearn's
        # cosine_similarity gives), so such a pair never counts as continuous.
        cosine = np.where(norms > 0, dot / np.where(norms > 0, norms, 1.0), 0.0)
        cosine = np.where(np.isnan(dot) | np.isnan(norms), np.nan, cosine)
    return np.clip(cosine, -1.0, 1.0).min(axis=1)


def judge_clips(
    clips: np.ndarray, frame_valid: np.ndarray, config: PoseConfig
) -> list[ClipDecision]:
    """Judge S key clips at once: (S, L, 17, 3) poses and (S, L) frame validity."""
    _check_keypoints(clips, "clips", 2, "S, L")
    if clips.shape[1] < 1:
        raise ValueError(f"clips must hold at least one frame each (L >= 1), got {clips.shape}")
    _check_mask(frame_valid, "frame_valid", clips.shape[:2], "clips' (S, L)")
    all_valid = frame_valid.all(axis=1)
    frame_finite = np.isfinite(clips).all(axis=(2, 3))
    bad = frame_valid & ~frame_finite
    if bad.any():
        clip_index, frame_index = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"clips[{clip_index}, {frame_index}] is flagged valid in frame_valid but holds "
            "NaN/inf keypoints; derive frame_valid from frame_validity(), which marks "
            "such frames invalid"
        )
    with np.errstate(invalid="ignore"):
        mean_score = clips[:, :, :, 2].mean(axis=(1, 2), dtype=np.float64)
    min_cosine = _consecutive_min_cosine(clips)
    low_score = mean_score < config.clip_min_score
    discontinuous = min_cosine < config.clip_min_cosine
    decisions = []
    for index in range(clips.shape[0]):
        # Order matters: the first failing check is the one reported.
        if not all_valid[index]:
            reason: str | None = "invalid_frames"
        elif low_score[index]:
            reason = "low_score"
        elif discontinuous[index]:
            reason = "discontinuous"
        else:
            reason = None
        decisions.append(
            ClipDecision(
                kept=reason is None,
                reason=reason,
                mean_score=float(mean_score[index]),
                min_cosine=float(min_cosine[index]),
            )
        )
    return decisions


def judge_clip(clip: np.ndarray, frame_valid: np.ndarray, config: PoseConfig) -> ClipDecision:
    """Judge one key clip: (L, 17, 3) poses and (L,) validity of its raw frames."""
    _check_keypoints(clip, "clip", 1, "L")
    if clip.shape[0] < 1:
        raise ValueError("clip must hold at least one frame (L >= 1), got shape (0, 17, 3)")
    _check_mask(frame_valid, "frame_valid", clip.shape[:1], "clip's L")
    return judge_clips(clip[None], frame_valid[None], config)[0]
