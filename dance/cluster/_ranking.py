"""How every scan ranks candidate rows: as finch-clust does, or precisely in float64."""

from __future__ import annotations

import numpy as np


def scores(block: np.ndarray) -> np.ndarray:
    """Float32 scores of a similarity block (overwritten), higher = nearer, as finch-clust ranks.

    finch-clust takes ``argmin(float32(clip(1 - s, 0, 2)))``. For float32 rows with
    s > 0.5, ``1 - s`` is exact (Sterbenz), so ranking by ``min(s, 1)`` is the same (every
    s >= 1 ties at distance 0); float64 rows (cluster means) are ranked by that float32
    distance itself, negated, so ties from rounding to float32 stay ties.
    """
    if block.dtype == np.float32:
        return np.minimum(block, 1.0, out=block)
    # In place: the same operations as 1 - s, clipped, so the same bits, without a copy.
    np.subtract(1.0, block, out=block)
    np.clip(block, 0.0, 2.0, out=block)
    distance = block.astype(np.float32)
    return np.negative(distance, out=distance)


def low_similarity_rows(score: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float32 rows whose best score is not above 0.5: there scores() is not finch-clust's
    ranking, so callers search them again with its arithmetic (none for float64 rows)."""
    if dtype != np.float32:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(~(score > 0.5))


def distances_of(score: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float32 cosine distances from scores() of rows of `dtype`."""
    if dtype == np.float32:
        return (np.float32(1.0) - score).astype(np.float32)
    return (-score).astype(np.float32)


def similarity_floor(score: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float64 similarity of the best row found so far, from its scores() value."""
    score = score.astype(np.float64)
    return score if dtype == np.float32 else 1.0 + score


def precise_scores(block: np.ndarray) -> np.ndarray:
    """Float64 similarities of float32 unit rows, ranked to 1e-12 (copies of a row tie)."""
    return np.round(np.minimum(block, 1.0, out=block), 12, out=block)
