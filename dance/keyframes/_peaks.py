"""Peaks of a 1-D signal with the peakutils.indexes rules (relative threshold, plateaus)."""

from __future__ import annotations

import numpy as np

from dance.config import KeyframeConfig
from dance.keyframes._validate import as_signal

_NO_PEAKS = np.zeros(0, dtype=np.int32)


def _fill_plateaus(dy: np.ndarray) -> np.ndarray:
    """Replace zero steps by a neighbouring slope so a flat top peaks at its middle."""
    m = dy.size
    index = np.arange(m)
    nonzero = dy != 0
    left = np.maximum.accumulate(np.where(nonzero, index, -1))
    right = np.minimum.accumulate(np.where(nonzero, index, m)[::-1])[::-1]
    zeros = ~nonzero
    # Inside a run of zero steps, the first half takes the slope before the run and the
    # second half (median included) the slope after it; a run touching an end takes the
    # only neighbour it has.
    take_left = ((2 * index < left + right) & (left >= 0)) | (right >= m)
    source = np.where(take_left, left, right)
    filled = dy.copy()
    filled[zeros] = dy[source[zeros]]
    return filled


def _enforce_min_distance(peaks: np.ndarray, y: np.ndarray, min_distance: int) -> np.ndarray:
    """Keep the highest peaks first, dropping any within min_distance of a kept one."""
    order = peaks[np.argsort(y[peaks], kind="stable")[::-1]]  # ties: the later frame first
    suppressed = np.ones(y.size, dtype=bool)
    suppressed[peaks] = False
    for peak in order:
        if not suppressed[peak]:
            suppressed[max(0, peak - min_distance) : peak + min_distance + 1] = True
            suppressed[peak] = False
    return np.flatnonzero(~suppressed)


def find_peaks(signal: np.ndarray, config: KeyframeConfig) -> np.ndarray:
    """Ascending int32 indices of local maxima above threshold*(max-min)+min of the signal."""
    y = as_signal(signal)
    if y.size < 3:
        return _NO_PEAKS.copy()
    threshold = config.threshold * (y.max() - y.min()) + y.min()
    dy = np.diff(y)
    if not dy.any():
        return _NO_PEAKS.copy()
    dy = _fill_plateaus(dy)
    rising_into = np.concatenate(([False], dy > 0))
    falling_out = np.concatenate((dy < 0, [False]))
    peaks = np.flatnonzero(rising_into & falling_out & (y > threshold))
    if peaks.size > 1 and config.min_distance > 1:
        peaks = _enforce_min_distance(peaks, y, config.min_distance)
    return peaks.astype(np.int32)
