"""Key clips: pick at most N keyframes and a window of L frame indices around each."""

from __future__ import annotations

import numpy as np

from dance.config import ClipConfig


def _as_keyframes(keyframes: np.ndarray) -> np.ndarray:
    """Validate keyframe indices: 1-D, integer, non-negative, strictly ascending."""
    array = np.asarray(keyframes)
    if array.ndim != 1:
        raise ValueError(f"keyframes must be a 1-D array of frame indices, got shape {array.shape}")
    if array.size == 0:
        return np.zeros(0, dtype=np.int32)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"keyframes must be integer frame indices, got dtype {array.dtype}")
    if array.min() < 0:
        raise ValueError(f"keyframes must be 0-based frame indices >= 0, got {int(array.min())}")
    if np.any(np.diff(array) <= 0):
        raise ValueError(
            "keyframes must be strictly ascending (as the detector returns them); sort and "
            "de-duplicate with np.unique(keyframes)"
        )
    return array.astype(np.int32)


def select_keyframes(keyframes: np.ndarray, config: ClipConfig) -> np.ndarray:
    """The S = min(K, N) keyframes clips are cut around: all, or N evenly spaced ones."""
    keys = _as_keyframes(keyframes)
    count, wanted = keys.size, config.num_clips
    if count <= wanted:
        return keys
    return keys[np.linspace(0, count - 1, wanted).astype(int)]


def clip_windows(keyframes: np.ndarray, num_frames: int, config: ClipConfig) -> np.ndarray:
    """(S, L) int32 frame indices: a window centred on each selected keyframe, kept inside."""
    if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)):
        raise TypeError(f"num_frames must be an int, got {type(num_frames).__name__}")
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1 (frames in the video), got {num_frames}")
    keys = select_keyframes(keyframes, config)
    if keys.size and keys[-1] >= num_frames:
        raise ValueError(
            f"keyframe {int(keys[-1])} is outside a video of num_frames={num_frames}; "
            "keyframes and num_frames must come from the same decode"
        )
    length = config.clip_length
    if num_frames < length:
        # Too short for one window: every clip is the whole video, each frame repeated.
        repeats = -(-length // num_frames)
        row = np.repeat(np.arange(num_frames, dtype=np.int32), repeats)[:length]
        return np.tile(row, (keys.size, 1))
    # Even L: [k - L/2, k + L/2); odd L: [k - L//2, k + L//2 + 1). Both start at k - L//2.
    starts = np.clip(keys - length // 2, 0, num_frames - length)
    return (starts[:, None] + np.arange(length, dtype=np.int32)).astype(np.int32)


def clip_frames(start: int, end: int, clip_length: int) -> np.ndarray:
    """(L,) frame indices of a stored clip [start, end): the window clip_windows made.

    A clip of a video shorter than L spans the whole video with each frame repeated.
    """
    count = end - start
    if count < 1 or clip_length < 1 or count > clip_length:
        raise ValueError(
            f"a clip [start={start}, end={end}) cannot hold L={clip_length} frames; the clip "
            "rows and L must come from the same preprocess run"
        )
    frames = np.arange(start, end, dtype=np.int32)
    return np.repeat(frames, -(-clip_length // count))[:clip_length]
