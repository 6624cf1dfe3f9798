"""Gray, blur, compare and count in one compiled pass per frame: OpenCV's bytes, exactly.

OpenCV converts and blurs uint8 images bit-exactly in fixed point:
- RGB2GRAY is (r*wr + g*wg + b*wb + 2**(shift-1)) >> shift (OpenCV 5: 9798 19235 3735 >> 15;
  OpenCV 4: 4899 9617 1868 >> 14);
- the 9x9 Gaussian (sigma 0) applies the integer taps 4 13 30 51 60 51 30 13 4 (/256) along
  columns, then rows, and rounds: (sum + 2**15) >> 16.
The numba kernel (_fused_kernel.py) does the same integer arithmetic (column sums fit 16-bit
SIMD lanes, row sums 32-bit ones) frame by frame, compares with the previous blurred frame
and counts, in one nogil call per chunk: 2-3x less CPU than cv2's cvtColor + GaussianBlur +
compare + countNonZero, and no OpenCV thread pool spinning beside the decoder
(benchmarks/keyframes).

It is used only where it provably matches this machine's OpenCV: the gray rule that gives
cv2.cvtColor's result on all 2**24 colours, taps read from cv2.getGaussianKernel (integral
in 1/256, equal to the kernel's), frames of at least 5x5 (one reflection covers the
border), and a start-up check against cv2.GaussianBlur. Anything else runs the
per-operation OpenCV loop, with a warning where a check failed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import cv2
import numpy as np

logger = logging.getLogger(__name__)

# One reflection (BORDER_REFLECT_101) of a 9-tap kernel reaches 4 pixels in.
MIN_SIDE = 5
_TAPS = 9

Kernel = Callable[..., tuple[np.ndarray, int]]


@functools.lru_cache(maxsize=1)
def _load_kernel() -> Kernel | None:
    """The compiled kernel function (numba compiles or loads it on first call), or None."""
    try:
        from dance.keyframes import _fused_kernel
    except ImportError:  # numba is not installed
        return None
    return _fused_kernel.count_increases


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


def _gray_matches_opencv(kernel: Kernel, gray_rule: int) -> bool:
    """Whether the kernel's gray rule equals cv2.cvtColor(RGB2GRAY) on all 2**24 colours."""
    colours = np.arange(1 << 18, dtype=np.uint32)
    gray = np.empty((512, 512), dtype=np.uint8)
    for high in range(64):  # 64 blocks of 2**18 colours: under 4 MiB of temporaries
        value = colours + np.uint32(high << 18)
        rgb = np.empty((1, 512, 512, 3), dtype=np.uint8)
        for channel, shift in enumerate((16, 8, 0)):
            rgb[0, :, :, channel] = ((value >> shift) & 255).reshape(512, 512)
        kernel(rgb, gray_rule, gray, False, gray, gray, True)
        if not np.array_equal(gray, cv2.cvtColor(rgb[0], cv2.COLOR_RGB2GRAY)):
            return False
    return True


def _blur_matches_opencv(kernel: Kernel, gray_rule: int, ksize: int, sigma: float) -> bool:
    """Whether the kernel's blur and counts equal cv2's on a small noisy and smooth chunk."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(3, 37, 53, 3), dtype=np.uint8)
    rgb[1] = cv2.GaussianBlur(rgb[1], (5, 5), 0)
    expected = [
        cv2.GaussianBlur(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (ksize, ksize), sigma)
        for frame in rgb
    ]
    blurred = (np.empty(rgb.shape[1:3], dtype=np.uint8), expected[0].copy())
    counts, last = kernel(rgb, gray_rule, blurred[1], True, blurred[0], blurred[1], False)
    expected_counts = [
        int(np.count_nonzero(cur > prev))
        for prev, cur in zip([expected[0], *expected[:-1]], expected, strict=True)
    ]
    return np.array_equal(blurred[last], expected[-1]) and counts.tolist() == expected_counts


@functools.lru_cache(maxsize=8)
def gray_rule_for(ksize: int, sigma: float) -> int | None:
    """The kernel's gray rule that reproduces this OpenCV for (ksize, sigma), or None."""
    from_cv2 = opencv_fixed_point_taps(ksize, sigma)
    if from_cv2 is None:
        return None
    try:
        return _checked_gray_rule(from_cv2, ksize, sigma)
    except Exception as exc:  # noqa: BLE001 - a numba/LLVM failure costs speed, never the job
        _fall_back(f"the fused kernel failed to compile or run ({type(exc).__name__}: {exc})")
        return None


def _checked_gray_rule(taps: tuple[int, ...], ksize: int, sigma: float) -> int | None:
    """The first gray rule whose gray and blur equal this OpenCV's, or None."""
    kernel = _load_kernel()
    if kernel is None:
        return None
    from dance.keyframes._fused_kernel import GAUSSIAN_9_TAPS, GRAY_RULES

    if taps != GAUSSIAN_9_TAPS:
        _fall_back(f"its {ksize}x{ksize} Gaussian taps {taps} are not the kernel's")
        return None
    rule = next((r for r in range(len(GRAY_RULES)) if _gray_matches_opencv(kernel, r)), None)
    if rule is None:
        _fall_back("no known RGB2GRAY rule matches it")
        return None
    if not _blur_matches_opencv(kernel, rule, ksize, sigma):
        _fall_back("the fused kernel's blur differs from its GaussianBlur")
        return None
    return rule


def _fall_back(why: str) -> None:
    logger.warning(
        "keyframes: %s (OpenCV %s); counting with one cv2 call per operation instead "
        "(same keyframes, 2-3x the detector's CPU)",
        why,
        cv2.__version__,
    )


def fused_count_supported(ksize: int, sigma: float) -> bool:
    """Whether count_increases may be used for this blur on this machine's OpenCV."""
    return gray_rule_for(ksize, sigma) is not None


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
    rule = gray_rule_for(ksize, sigma)
    kernel = _load_kernel()
    assert rule is not None and kernel is not None, "check fused_count_supported() first"
    if frames.ndim == 3:
        frames = frames.reshape(*frames.shape, 1)  # C-contiguous: one compiled version
    reference = previous if previous is not None else blurred[1]
    has_previous = previous is not None
    counts, last = kernel(frames, rule, reference, has_previous, blurred[0], blurred[1], False)
    return counts, blurred[last]
