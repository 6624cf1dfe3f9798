"""Arrays as (raw bytes, shape) pairs: how frames and indices travel between Ray stages.

Plain bytes plus an explicit shape and dtype: nothing is pickled, and a reader checks
that the byte count matches the shape before viewing it.
"""

from __future__ import annotations

import numpy as np


def pack(array: np.ndarray) -> tuple[bytes, list[int]]:
    """C-order bytes and the shape of `array`."""
    contiguous = np.ascontiguousarray(array)
    return contiguous.tobytes(), [int(n) for n in contiguous.shape]


def unpack(data: bytes, shape: list[int] | tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
    """The array packed by `pack` (a read-only view of `data`), checked against `shape`."""
    dims = tuple(int(n) for n in shape)
    expected = int(np.prod(dims, dtype=np.int64)) * np.dtype(dtype).itemsize
    if len(data) != expected:
        raise ValueError(
            f"packed array holds {len(data)} bytes but shape {dims} of {np.dtype(dtype)} needs "
            f"{expected}; the producer and consumer disagree on the row layout"
        )
    return np.frombuffer(data, dtype=dtype).reshape(dims)
