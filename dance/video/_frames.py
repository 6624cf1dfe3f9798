"""Argument checks and resizing shared by both decoding backends."""

from __future__ import annotations

import operator

import cv2
import numpy as np


def check_resize(resize: object) -> tuple[int, int] | None:
    """Validate a `resize=(height, width)` argument; None means native size."""
    if resize is None:
        return None
    message = f"resize must be None or (height, width) with two positive ints, got {resize!r}"
    if not isinstance(resize, (tuple, list)) or len(resize) != 2:
        raise TypeError(message)
    if any(isinstance(value, bool) for value in resize):
        raise TypeError(message)
    try:
        height, width = (operator.index(value) for value in resize)
    except TypeError:
        raise TypeError(message) from None
    if height <= 0 or width <= 0:
        raise ValueError(message)
    return height, width


def check_chunk_size(chunk_size: object) -> int:
    """Validate a `chunk_size` argument: a positive int."""
    message = f"chunk_size must be a positive int, got {chunk_size!r}"
    if isinstance(chunk_size, bool):
        raise TypeError(message)
    try:
        size = operator.index(chunk_size)
    except TypeError:
        raise TypeError(message) from None
    if size <= 0:
        raise ValueError(message)
    return size


def resize_frames(frames: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Frames (T, H, W, 3) resized to `size` = (height, width) with cv2 INTER_AREA, C-contiguous."""
    if size is None or tuple(frames.shape[1:3]) == size:
        return np.ascontiguousarray(frames)
    height, width = size
    out = np.empty((frames.shape[0], height, width, 3), dtype=np.uint8)
    for i, frame in enumerate(frames):
        # One resize for both backends, after decoding, so their outputs stay comparable.
        out[i] = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    return out
