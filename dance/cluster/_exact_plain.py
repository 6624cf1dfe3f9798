"""Exact first neighbours of chosen rows, tile by tile over all rows.

``plain_first_neighbors`` uses finch-clust's own arithmetic (sklearn's
``cosine_distances``: ``1 - x_i . x_j`` clipped to [0, 2], rounded to float32, ``argmin``
with ties to the LOWEST index): float64 rows (the cluster means of later levels) and the
float32 rows whose best similarity is not above 0.5 go through it.
``streamed_first_neighbors`` does the same for the few rows an index leaves without a
neighbour, normalising the columns tile by tile (no normalised copy of all rows).

Columns are cut in ascending tiles and only a strictly better score replaces the best so
far, so a row's result is the single-pass result whatever the tiling.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dance.cluster._tiles import TileCost, note_block, tile_sizes


def l2_normalize(x: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    """Rows divided by their L2 norm exactly as sklearn's ``normalize``; zero rows stay zero.

    out=x normalises in place (the same bits as a new array).
    """
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))
    norms[norms < 10 * np.finfo(norms.dtype).eps] = 1.0
    return np.divide(x, norms[:, None], out=out)


def _tiled_argmin(
    queries: Callable[[int, int], np.ndarray],
    columns: Callable[[int, int], np.ndarray],
    rows: np.ndarray,
    n: int,
    cost: TileCost,
    budget: int,
    max_rows: int,
    distance: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Lowest `distance` of each of `rows` over all n columns other than itself, by tiles.

    queries(start, stop) gives the query rows of rows[start:stop]; columns(first, stop)
    the column rows first..stop-1; `distance` maps their product to distances (any dtype).
    """
    step, width = tile_sizes(rows.size, n, cost, budget)
    step = max(1, min(step, max_rows))
    note_block(cost.of(min(step, rows.size), min(width, n)))
    index = np.zeros(rows.size, dtype=np.int64)
    best = None
    for start in range(0, rows.size, step):
        chunk = rows[start : start + step]
        query = queries(start, start + chunk.size)
        for first in range(0, n, width):
            block = distance(query @ columns(first, min(first + width, n)).T)
            own = np.flatnonzero((chunk >= first) & (chunk < first + block.shape[1]))
            block[own, chunk[own] - first] = np.inf
            local = np.argmin(block, axis=1)
            value = block[np.arange(chunk.size), local]
            if best is None:
                best = np.full(rows.size, np.inf, dtype=block.dtype)
            better = value < best[start : start + chunk.size]
            best[start : start + chunk.size][better] = value[better]
            index[start : start + chunk.size][better] = local[better] + first
    return index, best if best is not None else np.zeros(0, dtype=np.float32)


def _finch_clust_distance(block: np.ndarray) -> np.ndarray:
    """sklearn's cosine_distances on a similarity block, cast to float32 as finch-clust does."""
    block *= -1
    block += 1
    np.clip(block, 0.0, 2.0, out=block)
    return block.astype(np.float32, copy=False)


def plain_first_neighbors(
    xn: np.ndarray, rows: np.ndarray, *, budget: int, max_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact first neighbour and cosine distance of `rows` among all rows of normalised `xn`."""
    # The product, plus its float32 copy for float64 rows; the gathered query rows.
    pair = 4 if xn.dtype == np.float32 else 12
    cost = TileCost(pair, xn.dtype.itemsize * xn.shape[1])
    return _tiled_argmin(
        lambda start, stop: xn[rows[start:stop]],
        lambda first, stop: xn[first:stop],
        rows,
        xn.shape[0],
        cost,
        budget,
        max_rows,
        _finch_clust_distance,
    )


def streamed_first_neighbors(
    x: np.ndarray, rows: np.ndarray, *, budget: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact first neighbours of `rows` of raw `x`, normalising one column tile at a time."""
    queries = l2_normalize(np.asarray(x[rows], dtype=np.float32))
    cost = TileCost(4, 12 * x.shape[1])  # float32 product; columns copied and normalised
    return _tiled_argmin(
        lambda start, stop: queries[start:stop],
        lambda first, stop: l2_normalize(np.asarray(x[first:stop], dtype=np.float32)),
        rows,
        x.shape[0],
        cost,
        budget,
        rows.size,
        _finch_clust_distance,
    )
