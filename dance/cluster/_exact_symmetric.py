"""Exact float32 first neighbours from the upper triangle of the similarity matrix only.

The similarity matrix of normalised rows is symmetric, and finch-clust computes it as
``X @ X.T``, which numpy hands to BLAS ``syrk``: the upper triangle is computed and
mirrored. So each block (I, J) with I <= J is computed once and serves both the rows of
I (its row maxima) and the rows of J (its column maxima): half the multiply-adds of a
full pass, with every value equal to the one finch-clust's matrix holds.

Blocks are small enough to stay in cache while they are reduced, and two threads each
run single-threaded BLAS on their own blocks, so the reductions (which numpy runs on one
core) overlap the other thread's multiply instead of idling a core.

Equivalence with finch-clust's ``argmin(float32(clip(1 - s, 0, 2)))``: for s >= 0.5,
``1 - s`` is exact in float32 (Sterbenz), so the argmin is the argmax of ``min(s, 1)``
(the clip at 0 turns every s >= 1 into a tie), ties to the lowest index. Rows whose best
similarity is not above 0.5 are returned as unresolved for the caller to search with the
plain arithmetic.
"""

from __future__ import annotations

import numpy as np

from dance.cluster._row_best import RowBest, fold_rows_in_threads

# Rows per block side: a (512, 512) float32 block is 1 MiB, reduced while in cache.
BLOCK_ROWS = 512
# Above this best similarity the fast argmax equals finch-clust's argmin (module doc).
_SAFE_SIMILARITY = np.float32(0.5)


def _first_at_least_one(block: np.ndarray, axis: int) -> np.ndarray:
    """Per row (axis=1) or column (axis=0): the first position holding a value >= 1."""
    return np.argmax(block >= 1.0, axis=axis)


def _reduce_block(xn: np.ndarray, first: int, second: int, size: int, best: RowBest) -> None:
    """Fold block (first, second) of X @ X.T into the row bests of both row ranges."""
    n = xn.shape[0]
    rows = slice(first, min(first + size, n))
    cols = slice(second, min(second + size, n))
    if first == second:
        block = xn[rows] @ xn[rows].T  # syrk: symmetric, like finch-clust's matrix
        np.fill_diagonal(block, -np.inf)
    else:
        block = xn[rows] @ xn[cols].T
    # Row side: argmax is one contiguous pass. Values >= 1 all tie at distance 0, so
    # those rows take the first such column instead.
    local = block.argmax(axis=1)
    value = block[np.arange(block.shape[0]), local]
    clipped = np.flatnonzero(value >= 1.0)
    if clipped.size:
        local[clipped] = _first_at_least_one(block[clipped], axis=1)
        value[clipped] = 1.0
    best.merge(rows, value, local + second)
    if first == second:
        return
    # Column side: a column max is one fast pass; the (slow, strided) argmax is only
    # needed for columns whose max can change their row's best.
    value = block.max(axis=0)
    np.minimum(value, 1.0, out=value)
    candidates = np.flatnonzero(value >= best.value[cols])
    if candidates.size == 0:
        return
    sub = block[:, candidates]
    local = np.where(value[candidates] >= 1.0, _first_at_least_one(sub, 0), sub.argmax(axis=0))
    best.merge(second + candidates, value[candidates], local + first)


def exact_first_neighbors_float32(
    xn: np.ndarray, *, block_rows: int = BLOCK_ROWS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First neighbours of L2-normalised float32 rows: (index, distance, unresolved rows).

    Unresolved rows (best similarity not above 0.5) must be searched again with
    finch-clust's arithmetic.
    """
    if xn.dtype != np.float32:
        raise ValueError(f"expected float32 rows, got {xn.dtype}")
    n = xn.shape[0]
    starts = range(0, n, block_rows)
    pairs = [(i, j) for i in starts for j in starts if j >= i]
    best = fold_rows_in_threads(
        n, pairs, lambda pair, best: _reduce_block(xn, pair[0], pair[1], block_rows, best)
    )
    distance = (np.float32(1.0) - best.value).astype(np.float32)
    unresolved = np.flatnonzero(~(best.value > _SAFE_SIMILARITY))
    return best.index, distance, unresolved
