"""Gray, blur, compare and count in one compiled pass per frame: OpenCV's bytes, exactly.

OpenCV converts and blurs uint8 images bit-exactly in fixed point:
- RGB2GRAY is (r*wr + g*wg + b*wb + 2**(shift-1)) >> shift (OpenCV 5: 9798 19235 3735 >> 15;
  OpenCV 4: 4899 9617 1868 >> 14);
- the 9x9 Gaussian (sigma 0) applies the integer taps 4 13 30 51 60 51 30 13 4 (/256) along
  columns, then rows, and rounds: (sum + 2**15) >> 16.
The kernel below does the same integer arithmetic (column sums fit 16-bit SIMD lanes, row
sums 32-bit ones) frame by frame, compares with the previous blurred frame and counts, in
one nogil call per chunk: about half the CPU of cv2's cvtColor + GaussianBlur + compare +
countNonZero, and no OpenCV thread pool spinning beside the decoder (benchmarks/keyframes).

It is used only where it provably matches this machine's OpenCV: the weights that give
cv2.cvtColor's result on all 2**24 colours, taps read from cv2.getGaussianKernel (integral
in 1/256), frames of at least 5x5 (one reflection covers the border), and a start-up check
against cv2.GaussianBlur. Anything else runs the per-operation OpenCV loop.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

logger = logging.getLogger(__name__)

# One reflection (BORDER_REFLECT_101) of a 9-tap kernel reaches 4 pixels in.
MIN_SIDE = 5
_TAPS = 9
# OpenCV's RGB2GRAY (r, g, b weights, shift) in the versions we know: 5.x, then 4.x.
_GRAY_WEIGHT_CANDIDATES = ((9798, 19235, 3735, 15), (4899, 9617, 1868, 14))

Kernel = Callable[..., tuple[np.ndarray, int]]


@functools.lru_cache(maxsize=4)
def _build_kernel(taps: tuple[int, ...], weights: tuple[int, int, int, int]) -> Kernel | None:
    """Compile the kernel for these taps and gray weights (compile-time constants), or None."""
    try:
        import numba
    except ImportError:
        return None
    # Constants, not arguments: LLVM then vectorises the products (~2x faster).
    c0, c1, c2, c3, c4 = (np.uint16(tap) for tap in taps[:5])  # column pass: 16-bit lanes
    r0, r1, r2, r3, r4 = (np.uint32(tap) for tap in taps[:5])  # row pass: 32-bit lanes
    wr, wg, wb = (np.uint32(weight) for weight in weights[:3])
    shift = np.uint32(weights[3])
    rounding = np.uint32(1 << (weights[3] - 1))
    half = np.uint32(1 << 15)

    def count_increases(
        frames: np.ndarray,
        previous: np.ndarray,
        has_previous: bool,
        blurred_a: np.ndarray,
        blurred_b: np.ndarray,
        gray_only: bool,
    ) -> tuple[np.ndarray, int]:
        """Gray, blur and count each frame of a (T,H,W,C) chunk, C = 3 (RGB) or 1 (gray).

        Frames alternate between blurred_a and blurred_b ((H,W) uint8); `previous` may be
        blurred_b, never blurred_a. The first frame compares with `previous` when
        has_previous, else counts 0. Returns the counts and which buffer (0 = a, 1 = b)
        holds the last blurred frame. gray_only: write frame 0's gray to blurred_a and stop
        (the start-up check runs this same code on every colour).
        """
        num_frames, height, width, channels = frames.shape
        gray = blurred_a if gray_only else np.empty((height, width), dtype=np.uint8)
        row = np.empty(width + 8, dtype=np.uint16)  # a column-summed row, 4 border cells a side
        counts = np.zeros(num_frames, dtype=np.int64)
        last = 1
        for t in range(num_frames):
            out = blurred_a if t % 2 == 0 else blurred_b
            before = previous if t == 0 else (blurred_b if t % 2 == 0 else blurred_a)
            for y in range(height):
                src = frames[t, y].reshape(width * channels)  # flat: 4x faster than [x, c]
                dst = gray[y]
                if channels == 3:
                    for x in range(width):
                        dst[x] = np.uint8(
                            (
                                wr * np.uint32(src[3 * x])
                                + wg * np.uint32(src[3 * x + 1])
                                + wb * np.uint32(src[3 * x + 2])
                                + rounding
                            )
                            >> shift
                        )
                else:
                    for x in range(width):  # an explicit loop: numba's slice copy is 5x slower
                        dst[x] = src[x]
            if gray_only:
                return counts, 0
            total = 0
            for y in range(height):
                # Rows y-4..y+4 reflected at the edges (BORDER_REFLECT_101, OpenCV's default).
                a0 = gray[y - 4 if y >= 4 else 4 - y]
                a1 = gray[y - 3 if y >= 3 else 3 - y]
                a2 = gray[y - 2 if y >= 2 else 2 - y]
                a3 = gray[y - 1 if y >= 1 else 1 - y]
                a4 = gray[y]
                a5 = gray[y + 1 if y + 1 < height else 2 * height - 3 - y]
                a6 = gray[y + 2 if y + 2 < height else 2 * height - 4 - y]
                a7 = gray[y + 3 if y + 3 < height else 2 * height - 5 - y]
                a8 = gray[y + 4 if y + 4 < height else 2 * height - 6 - y]
                for x in range(width):
                    row[x + 4] = np.uint16(
                        c0 * (np.uint16(a0[x]) + np.uint16(a8[x]))
                        + c1 * (np.uint16(a1[x]) + np.uint16(a7[x]))
                        + c2 * (np.uint16(a2[x]) + np.uint16(a6[x]))
                        + c3 * (np.uint16(a3[x]) + np.uint16(a5[x]))
                        + c4 * np.uint16(a4[x])
                    )
                for i in range(1, 5):
                    row[4 - i] = row[4 + i]
                    row[width + 3 + i] = row[width + 3 - i]
                dst = out[y]
                ref = before[y]
                brighter = 0
                for x in range(width):
                    value = (
                        r0 * (np.uint32(row[x]) + np.uint32(row[x + 8]))
                        + r1 * (np.uint32(row[x + 1]) + np.uint32(row[x + 7]))
                        + r2 * (np.uint32(row[x + 2]) + np.uint32(row[x + 6]))
                        + r3 * (np.uint32(row[x + 3]) + np.uint32(row[x + 5]))
                        + r4 * np.uint32(row[x + 4])
                    )
                    pixel = np.uint8((value + half) >> np.uint32(16))
                    dst[x] = pixel
                    brighter += np.int32(pixel > ref[x])
                total += brighter
            if t > 0 or has_previous:
                counts[t] = total
            last = t % 2
        return counts, last

    options: dict[str, Any] = {"nogil": True, "boundscheck": False}
    try:
        return numba.njit(cache=True, **options)(count_increases)
    except RuntimeError:  # no writable cache location: compile per process instead
        return numba.njit(**options)(count_increases)


def opencv_fixed_point_taps(ksize: int, sigma: float) -> tuple[int, ...] | None:
    """The 9 integer taps (/256) of OpenCV's 8-bit Gaussian for (ksize, sigma), or None."""
    if ksize != _TAPS:
        return None
    kernel = cv2.getGaussianKernel(ksize, sigma, ktype=cv2.CV_64F).ravel() * 256.0
    taps = np.rint(kernel)
    integral = np.array_equal(taps, kernel) and taps.sum() == 256 and (taps >= 0).all()
    if not integral or not np.array_equal(taps, taps[::-1]):
        return None
    return tuple(int(tap) for tap in taps)


def _gray_matches_opencv(kernel: Kernel) -> bool:
    """Whether the kernel's gray equals cv2.cvtColor(RGB2GRAY) on all 2**24 colours."""
    colours = np.arange(1 << 20, dtype=np.uint32)
    gray = np.empty((1024, 1024), dtype=np.uint8)
    for high in range(16):  # 16 blocks of 2**20 colours, 3 MiB each
        value = colours + np.uint32(high << 20)
        rgb = np.stack([(value >> 16) & 255, (value >> 8) & 255, value & 255], axis=-1)
        rgb = rgb.astype(np.uint8).reshape(1, 1024, 1024, 3)
        kernel(rgb, gray, False, gray, gray, True)
        if not np.array_equal(gray, cv2.cvtColor(rgb[0], cv2.COLOR_RGB2GRAY)):
            return False
    return True


@functools.lru_cache(maxsize=8)
def fused_kernel(ksize: int, sigma: float) -> Kernel | None:
    """The compiled kernel that reproduces this OpenCV for (ksize, sigma), or None."""
    taps = opencv_fixed_point_taps(ksize, sigma)
    if taps is None:
        return None
    try:
        return _checked_kernel(taps, ksize, sigma)
    except Exception as exc:  # noqa: BLE001 - a numba/LLVM failure costs speed, never the job
        _fall_back(f"the fused kernel failed to compile or run ({type(exc).__name__}: {exc})")
        return None


def _checked_kernel(taps: tuple[int, ...], ksize: int, sigma: float) -> Kernel | None:
    """The first candidate kernel whose gray and blur equal this OpenCV's, or None."""
    for weights in _GRAY_WEIGHT_CANDIDATES:
        kernel = _build_kernel(taps, weights)
        if kernel is None:
            return None  # numba is not installed
        if _gray_matches_opencv(kernel):
            break
    else:
        _fall_back("no known RGB2GRAY weights match it")
        return None
    if not _blur_matches_opencv(kernel, ksize, sigma):
        _fall_back("the fused kernel's blur differs from its GaussianBlur")
        return None
    return kernel


def _fall_back(why: str) -> None:
    logger.warning(
        "keyframes: %s (OpenCV %s); counting with one cv2 call per operation instead "
        "(same keyframes, 2-3x the detector's CPU)",
        why,
        cv2.__version__,
    )


def _blur_matches_opencv(kernel: Kernel, ksize: int, sigma: float) -> bool:
    """Whether the kernel's blur and counts equal cv2's on a small noisy and smooth chunk."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(3, 37, 53, 3), dtype=np.uint8)
    rgb[1] = cv2.GaussianBlur(rgb[1], (5, 5), 0)
    expected = [
        cv2.GaussianBlur(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (ksize, ksize), sigma)
        for frame in rgb
    ]
    blurred = (np.empty(rgb.shape[1:3], dtype=np.uint8), expected[0].copy())
    counts, last = kernel(rgb, blurred[1], True, blurred[0], blurred[1], False)
    expected_counts = [
        int(np.count_nonzero(cur > prev))
        for prev, cur in zip([expected[0], *expected[:-1]], expected, strict=True)
    ]
    return np.array_equal(blurred[last], expected[-1]) and counts.tolist() == expected_counts


def fused_count_supported(ksize: int, sigma: float) -> bool:
    """Whether count_increases may be used for this blur on this machine's OpenCV."""
    return fused_kernel(ksize, sigma) is not None


def count_increases(
    frames: np.ndarray,
    previous: np.ndarray | None,
    blurred: tuple[np.ndarray, np.ndarray],
    ksize: int,
    sigma: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Counts d_t of a (T,H,W,3) RGB or (T,H,W) gray chunk, and the buffer holding its last
    blurred frame. `previous` may be blurred[1], never blurred[0].

    Needs fused_count_supported(ksize, sigma) and frames of at least MIN_SIDE x MIN_SIDE.
    """
    kernel = fused_kernel(ksize, sigma)
    assert kernel is not None, "check fused_count_supported() first"
    if frames.ndim == 3:
        frames = frames.reshape(*frames.shape, 1)  # C-contiguous: one compiled version
    reference = previous if previous is not None else blurred[1]
    counts, last = kernel(frames, reference, previous is not None, blurred[0], blurred[1], False)
    return counts, blurred[last]
