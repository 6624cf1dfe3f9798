"""Exact float32 first neighbours from the upper triangle of the similarity matrix only.

The similarity matrix of normalised rows is symmetric, and finch-clust computes it as
``X @ X.T``, which numpy hands to BLAS ``syrk``: the upper triangle is computed and
mirrored. So each block (I, J) with I <= J is computed once and serves both the rows of
I (its row maxima) and the rows of J (its column maxima): half the multiply-adds of a
full pass.

Blocks are small enough to stay in cache while they are reduced, and two threads each
run single-threaded BLAS on their own blocks, so the reductions (which numpy runs on one
core) overlap the other thread's multiply instead of idling a core.

Equivalence with finch-clust's ``argmin(float32(clip(1 - s, 0, 2)))``: for s >= 0.5,
``1 - s`` is exact in float32 (Sterbenz), so the argmin is the argmax of ``min(s, 1)``
(the clip at 0 turns every s >= 1 into a tie), ties to the lowest index. BLAS rounds a
product differently in blocks of different shapes, so where two rows score within
``NEAR_TIE`` of each other the winner would be rounding noise: such rows are returned
as near ties for the caller to decide in float64, and rows whose best similarity is not
above 0.5 for it to search again with finch-clust's arithmetic.
"""

from __future__ import annotations

import numpy as np

from dance.cluster._ranking import low_similarity_rows, scores
from dance.cluster._row_best import NEAR_TIE, RowBest, block_runner_up, fold_rows_in_threads
from dance.cluster._tiles import TileCost, note_block

# Rows per block side: a (512, 512) float32 block is 1 MiB, reduced while in cache.
BLOCK_ROWS = 512


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
    block = scores(block)
    # Row side: argmax is one contiguous pass and picks the first (lowest) column.
    local = block.argmax(axis=1)
    value = block[np.arange(block.shape[0]), local]
    best.merge(rows, value, local + second, block_runner_up(block, value, axis=1))
    if first == second:
        return
    # Column side: a column max is one fast pass; the (slow, strided) argmax is only
    # needed for columns whose max can change their row's best or runner-up.
    value = block.max(axis=0)
    candidates = np.flatnonzero(value >= best.value[cols] - NEAR_TIE)
    if candidates.size == 0:
        return
    local = block[:, candidates].argmax(axis=0)
    runner_up = block_runner_up(block, value, axis=0)[candidates]
    best.merge(second + candidates, value[candidates], local + first, runner_up)


def exact_first_neighbors_float32(
    xn: np.ndarray, *, block_rows: int = BLOCK_ROWS, budget: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """First neighbours of unit float32 rows: (index, distance, low rows, near-tie rows).

    Blocks are halved until one fits `budget` bytes. The caller must search again the
    rows whose best similarity is not above 0.5 (with finch-clust's arithmetic) and
    decide the near ties (see RowBest.near_ties()).
    """
    if xn.dtype != np.float32:
        raise ValueError(f"expected float32 rows, got {xn.dtype}")
    n = xn.shape[0]
    # The block, a near-tie mask, and for the column side a copy of some columns and
    # their mask: up to 10 bytes per entry; the two row ranges gathered.
    cost = TileCost(pair_bytes=10, row_bytes=4 * xn.shape[1])
    while budget is not None and block_rows > 1 and cost.of(block_rows, block_rows) > budget:
        block_rows //= 2
    note_block(cost.of(min(block_rows, n), min(block_rows, n)))
    starts = range(0, n, block_rows)
    pairs = [(i, j) for i in starts for j in starts if j >= i]
    best = fold_rows_in_threads(
        n, pairs, lambda pair, best: _reduce_block(xn, pair[0], pair[1], block_rows, best)
    )
    distance = (np.float32(1.0) - best.value).astype(np.float32)
    return best.index, distance, low_similarity_rows(best.value, xn.dtype), best.near_ties()
