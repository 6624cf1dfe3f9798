"""The keyframe signal: per frame, how many blurred gray pixels got brighter than before."""

from __future__ import annotations

import cv2
import numpy as np

from dance.config import KeyframeConfig
from dance.keyframes._fused_count import MIN_SIDE, count_increases, fused_count_supported

# cv2 refuses images of 2**31 elements or more; a chunk is converted in blocks below this.
_MAX_BLOCK_ELEMENTS = 1 << 30


def validate_frames(frames: np.ndarray, name: str = "frames") -> np.ndarray:
    """Check a chunk is (T,H,W,3) RGB or (T,H,W) gray uint8; return it C-contiguous."""
    if not isinstance(frames, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy array of shape (T,H,W,3) RGB or (T,H,W) gray uint8, "
            f"got {type(frames).__name__}"
        )
    if frames.dtype != np.uint8:
        raise ValueError(
            f"{name} must be uint8 (decoded 8-bit frames), got dtype {frames.dtype}; "
            "convert with frames.astype(np.uint8) only if values are already 0..255"
        )
    if frames.ndim == 3 and frames.shape[2] == 3:
        # (T,H,3) gray is never a real video; this is one RGB frame missing its time axis.
        raise ValueError(
            f"{name} of shape {frames.shape} looks like one RGB frame; chunks are "
            "(T,H,W,3), so pass frame[None]"
        )
    if not (frames.ndim == 3 or (frames.ndim == 4 and frames.shape[3] == 3)):
        raise ValueError(
            f"{name} must have shape (T,H,W,3) RGB or (T,H,W) gray, got {frames.shape}; "
            "convert other layouts (BGR, RGBA, CHW) to RGB first"
        )
    if frames.shape[1] == 0 or frames.shape[2] == 0:
        raise ValueError(f"{name} has an empty frame size {frames.shape[1:3]}")
    return np.ascontiguousarray(frames)


def gray_into(frames: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Write a chunk's gray frames into out[:T] (OpenCV luma weights) and return that view."""
    t, h, w = frames.shape[:3]
    gray = out[:t]
    if frames.ndim == 3:
        np.copyto(gray, frames)
        return gray
    # Colour conversion is per pixel, so frames stacked into one tall image convert in one
    # call. RGB2GRAY on RGB equals the reference's BGR2GRAY on BGR: same weights, swapped.
    step = max(1, _MAX_BLOCK_ELEMENTS // (h * w * 3))
    for i in range(0, t, step):
        n = min(step, t - i)
        cv2.cvtColor(
            frames[i : i + n].reshape(n * h, w, 3),
            cv2.COLOR_RGB2GRAY,
            dst=gray[i : i + n].reshape(n * h, w),
        )
    return gray


class BrightenedPixelCounter:
    """Counts, frame by frame, the blurred gray pixels brighter than in the frame before.

    Where the fused kernel reproduces OpenCV exactly (the default 9x9 blur on OpenCV 4 and
    5; see _fused_count) one compiled pass per chunk does gray, blur, compare and count,
    holding nothing but the two blurred frames and one gray frame. Otherwise, or with
    config.fused_blur False, it makes one cv2 call per operation with reused buffers.
    """

    def __init__(self, config: KeyframeConfig, previous: np.ndarray | None = None) -> None:
        """Start a count; `previous` is the last blurred frame before the next frame, if any."""
        self._kernel = (config.blur_kernel, config.blur_kernel)
        self._sigma = config.blur_sigma
        self._fused = config.fused_blur and fused_count_supported(
            config.blur_kernel, config.blur_sigma
        )
        self._previous = None if previous is None else previous.copy()
        self._current: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self._gray: np.ndarray | None = None

    @property
    def last_blurred(self) -> np.ndarray | None:
        """The most recent blurred frame (owned by the counter: copy it to keep it)."""
        return self._previous

    def count(self, frames: np.ndarray) -> np.ndarray:
        """d_t for each frame of a (T,H,W,3) RGB or (T,H,W) gray chunk (0 with none before)."""
        size = frames.shape[1:3]
        if self._current is None or self._current.shape != size:
            self._current = np.empty(size, dtype=np.uint8)
        if self._fused and min(size) >= MIN_SIDE:
            return self._count_fused(frames)
        return self._count_per_operation(frames)

    def _count_fused(self, frames: np.ndarray) -> np.ndarray:
        assert self._current is not None
        # The kernel may read `previous` from its second buffer (it is done with it by then).
        second = self._previous if self._previous is not None else np.empty_like(self._current)
        counts, last = count_increases(
            frames, self._previous, (self._current, second), self._kernel[0], self._sigma
        )
        self._previous, self._current = last, (second if last is self._current else self._current)
        return counts

    def _count_per_operation(self, frames: np.ndarray) -> np.ndarray:
        assert self._current is not None
        if frames.ndim == 4:
            if self._gray is None or self._gray.shape[0] < frames.shape[0] or (
                self._gray.shape[1:] != frames.shape[1:3]
            ):
                self._gray = np.empty(frames.shape[:3], dtype=np.uint8)
            frames = gray_into(frames, self._gray)
        if self._mask is None or self._mask.shape != self._current.shape:
            self._mask = np.empty_like(self._current)
        counts = np.zeros(frames.shape[0], dtype=np.int64)
        for i in range(frames.shape[0]):
            cv2.GaussianBlur(frames[i], self._kernel, self._sigma, dst=self._current)
            if self._previous is not None:
                # The reference counts non-zeros of a saturating cv2.subtract(cur, prev):
                # exactly the pixels with cur > prev, which compare + countNonZero finds
                # ~5x faster than a numpy comparison (SIMD, no bool temporaries).
                cv2.compare(self._current, self._previous, cv2.CMP_GT, dst=self._mask)
                counts[i] = cv2.countNonZero(self._mask)
                self._previous, self._current = self._current, self._previous
            else:
                self._previous, self._current = self._current, np.empty_like(self._current)
        return counts


def brightened_pixel_counts(
    frames: np.ndarray, previous: np.ndarray | None, config: KeyframeConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Counts d_t for a chunk (d of a video's first frame is 0) and the chunk's last blurred frame."""
    frames = validate_frames(frames)
    if frames.shape[0] == 0:
        raise ValueError("frames is an empty chunk (T=0); pass at least one frame")
    if previous is not None and (previous.dtype != np.uint8 or previous.shape != frames.shape[1:3]):
        raise ValueError(
            f"previous must be the last blurred frame of the previous chunk, uint8 of shape "
            f"{frames.shape[1:3]}; got {previous.dtype} {previous.shape} (frame size "
            "changed mid-video, or pass None for a video's first chunk)"
        )
    counter = BrightenedPixelCounter(config, previous)
    counts = counter.count(frames)
    last = counter.last_blurred
    assert last is not None  # the chunk had at least one frame
    return counts, last.copy()
