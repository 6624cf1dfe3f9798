"""The numba kernel behind _fused_count: OpenCV's fixed-point gray and 9x9 Gaussian, fused.

Imported only when a detector uses it, so `import dance.keyframes` does not load numba.
Taps and gray weights are module constants, which numba compiles in as literals: LLVM then
vectorises the products (runtime weights cost 35 % more), and the one module-level
function caches on disk like any other (numba cannot safely cache several closures).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# OpenCV's 8-bit 9x9 Gaussian (sigma 0), in 1/256; _fused_count checks it against cv2.
GAUSSIAN_9_TAPS = (4, 13, 30, 51, 60, 51, 30, 13, 4)
# OpenCV's fixed-point RGB2GRAY (r, g, b weights, shift): index 0 OpenCV 5, 1 OpenCV 4.
GRAY_RULES = ((9798, 19235, 3735, 15), (4899, 9617, 1868, 14))
_OPENCV5_GRAY = GRAY_RULES[0]
_OPENCV4_GRAY = GRAY_RULES[1]
# Column sums of 8-bit pixels stay below 255 * 256 = 65280: 16-bit SIMD lanes.
_C0, _C1, _C2, _C3, _C4 = (np.uint16(tap) for tap in GAUSSIAN_9_TAPS[:5])
# Row sums stay below 65280 * 256 < 2**24: 32-bit lanes.
_R0, _R1, _R2, _R3, _R4 = (np.uint32(tap) for tap in GAUSSIAN_9_TAPS[:5])
_HALF = np.uint32(1 << 15)


@njit(inline="always")
def _gray_row(src, dst, width, rule):  # type: ignore[no-untyped-def]
    """dst = (r*wr + g*wg + b*wb + 2**(shift-1)) >> shift over one flat RGB row."""
    wr = np.uint32(rule[0])
    wg = np.uint32(rule[1])
    wb = np.uint32(rule[2])
    shift = np.uint32(rule[3])
    rounding = np.uint32(1 << (rule[3] - 1))
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


def _count_increases(  # type: ignore[no-untyped-def]
    frames, gray_rule, previous, has_previous, blurred_a, blurred_b, gray_only
):
    """Gray, blur and count each frame of a (T,H,W,C) chunk, C = 3 (RGB) or 1 (gray).

    gray_rule indexes GRAY_RULES. Frames alternate between blurred_a and blurred_b ((H,W)
    uint8); `previous` may be blurred_b, never blurred_a. The first frame compares with
    `previous` when has_previous, else counts 0. Returns the int64 counts and which buffer
    (0 = a, 1 = b) holds the last blurred frame. gray_only: write frame 0's gray to
    blurred_a and stop (the start-up check runs this same code on every colour).
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
            if channels == 1:
                for x in range(width):  # an explicit loop: numba's slice copy is 5x slower
                    dst[x] = src[x]
            elif gray_rule == 0:  # one branch per rule, so each loop has literal weights
                _gray_row(src, dst, width, _OPENCV5_GRAY)
            else:
                _gray_row(src, dst, width, _OPENCV4_GRAY)
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
                    _C0 * (np.uint16(a0[x]) + np.uint16(a8[x]))
                    + _C1 * (np.uint16(a1[x]) + np.uint16(a7[x]))
                    + _C2 * (np.uint16(a2[x]) + np.uint16(a6[x]))
                    + _C3 * (np.uint16(a3[x]) + np.uint16(a5[x]))
                    + _C4 * np.uint16(a4[x])
                )
            for i in range(1, 5):
                row[4 - i] = row[4 + i]
                row[width + 3 + i] = row[width + 3 - i]
            dst = out[y]
            ref = before[y]
            brighter = 0
            for x in range(width):
                value = (
                    _R0 * (np.uint32(row[x]) + np.uint32(row[x + 8]))
                    + _R1 * (np.uint32(row[x + 1]) + np.uint32(row[x + 7]))
                    + _R2 * (np.uint32(row[x + 2]) + np.uint32(row[x + 6]))
                    + _R3 * (np.uint32(row[x + 3]) + np.uint32(row[x + 5]))
                    + _R4 * np.uint32(row[x + 4])
                )
                pixel = np.uint8((value + _HALF) >> np.uint32(16))
                dst[x] = pixel
                brighter += np.int32(pixel > ref[x])
            total += brighter
        if t > 0 or has_previous:
            counts[t] = total
        last = t % 2
    return counts, last


def _compile(function):  # type: ignore[no-untyped-def]
    """njit with an on-disk cache, or without one where no cache folder is writable."""
    try:
        return njit(cache=True, nogil=True, boundscheck=False)(function)
    except RuntimeError:  # numba found no writable cache location: compile per process
        return njit(nogil=True, boundscheck=False)(function)


count_increases = _compile(_count_increases)
