"""Heat maps over frames: a jet colormap, alpha blending and an animated GIF (Pillow)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def _jet_table() -> np.ndarray:
    """(256, 3) uint8: the piecewise-linear jet, each channel a tent centred at 3/4 (red),
    1/2 (green) and 1/4 (blue) of the range."""
    x = np.linspace(0.0, 1.0, 256, dtype=np.float32)[:, None]
    centres = np.array([0.75, 0.5, 0.25], dtype=np.float32)
    rgb = np.clip(1.5 - np.abs(4.0 * (x - centres)), 0.0, 1.0)
    return (rgb * 255.0 + 0.5).astype(np.uint8)


_JET = _jet_table()


def jet(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] (any shape) -> uint8 RGB (shape + (3,)), blue (0) to red (1)."""
    # A 256-entry lookup: full-resolution maps of a whole clip hold millions of values.
    levels = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0) * 255.0 + 0.5
    return _JET[levels.astype(np.uint8)]


def overlay_heat(frames: np.ndarray, maps: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """(T, H, W, 3) uint8 frames and (T, H, W) maps in [0, 1] -> (T, H, W, 3) uint8 blend."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[:3] != np.shape(maps):
        raise ValueError(
            f"frames (T, H, W, 3) and maps (T, H, W) must match, got {frames.shape} and "
            f"{np.shape(maps)}"
        )
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    # Integer blend in 1/256 steps: a float copy of a full-resolution clip is ~100 MB.
    weight = np.uint16(round(alpha * 256))
    blend = frames.astype(np.uint16) * (256 - weight) + jet(maps).astype(np.uint16) * weight
    return ((blend + 128) >> 8).astype(np.uint8)


def gif_bytes(frames: np.ndarray, frame_ms: int = 100) -> bytes:
    """(T, H, W, 3) uint8 frames -> an animated GIF holding exactly T frames, looping.

    Pillow drops a frame identical to the one before (after quantisation), which would
    shorten the clip; a thin bar along the bottom edge that grows with the frame number
    (playback position) keeps consecutive frames apart whenever the width is >= T.
    """
    frames = np.array(frames, dtype=np.uint8)  # a copy: the bar is drawn into it
    count, height, width = frames.shape[:3]
    if count == 0:
        raise ValueError("no frames to write")
    bar = max(1, height // 60)
    for t in range(count):
        frames[t, height - bar :, : max(1, round((t + 1) * width / count))] = 255
    # Quantised here with the fast octree: Pillow's default (median cut) takes ~20x longer.
    images = [Image.fromarray(f).quantize(256, method=Image.Quantize.FASTOCTREE) for f in frames]
    out = io.BytesIO()
    images[0].save(
        out, format="GIF", save_all=True, append_images=images[1:], duration=frame_ms,
        loop=0, optimize=False, disposal=1,
    )
    return out.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    """An array as the bytes of a .npy file (numpy's format, no pickling)."""
    out = io.BytesIO()
    np.save(out, np.ascontiguousarray(array), allow_pickle=False)
    return out.getvalue()
