"""Input checks shared by the signal-processing functions."""

from __future__ import annotations

import numpy as np


def as_signal(signal: np.ndarray, name: str = "signal") -> np.ndarray:
    """Return a 1-D finite float64 copy of a numeric signal, or raise naming the problem."""
    array = np.asarray(signal)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per frame), got shape {array.shape}")
    if array.size and not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    # float64 also makes unsigned counts safe to difference (no wrap-around).
    values = array.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or infinity; keyframe signals must be finite")
    return values
