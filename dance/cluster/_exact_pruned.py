"""Exact first neighbours that skip the lists which provably cannot hold them.

Rows are grouped into IVF lists (spherical k-means). A first pass scans each row's
`nprobe` nearest lists, which gives every row a real neighbour and so a lower bound
``s_lb`` on its best similarity. Angular distance is a metric on the unit sphere, so a
row q and any member y of list M satisfy ``angle(q, y) >= angle(q, c_M) - radius_M``,
where radius_M is the largest member angle to the centroid c_M. The second pass scans
exactly the lists whose bound ``cos(max(0, angle(q, c_M) - radius_M))`` reaches
``s_lb``; every other list holds only rows strictly less similar than one already
found, so no best row (nor any row tied with it) is skipped. Bounds are widened by a
margin far above float32 rounding. Rows are ranked by ``_ivf_blocks.scores``, i.e. as
finch-clust ranks them, for float32 rows and float64 cluster means alike.

On clustered data (pose clips) most lists are pruned; on structureless data few are,
and the caller is told to use the full symmetric pass instead.
"""

from __future__ import annotations

import numpy as np

from dance.cluster._ivf_blocks import (
    InvertedLists,
    ivf_lists,
    low_similarity_rows,
    scan_lists,
    settle_near_ties,
    train_quantizer,
)

# Cosine slack on every bound: float32 products of unit rows err by ~1e-6.
_MARGIN = 1e-4
# Query rows whose list bounds are computed at a time (a (rows, nlist) float block).
_BOUND_ROWS = 8192
# Past this fraction of all (row, list) pairs, pruning saves too little: give up.
MAX_SCANNED_FRACTION = 0.4


def _angle(cosine: np.ndarray) -> np.ndarray:
    """Angle of a float64 cosine, clipped to [-1, 1]."""
    return np.arccos(np.clip(cosine, -1.0, 1.0))


def _nearest_lists(sims: np.ndarray, count: int) -> np.ndarray:
    """Per row, the `count` most similar centroids, most similar first."""
    rows = np.arange(sims.shape[0])[:, None]
    top = np.argpartition(-sims, count - 1, axis=1)[:, :count]
    return top[rows, np.argsort(-sims[rows, top], axis=1, kind="stable")]


def _similarity_floor(score: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float64 similarity of the best row found so far, from its score."""
    score = score.astype(np.float64)
    return score if dtype == np.float32 else 1.0 + score


def pruned_exact_first_neighbors(
    xn: np.ndarray, *, nprobe: int, iterations: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(index, distance, low rows) of each unit row's first neighbour; or None.

    Float32 rows' near ties (RowBest.near_ties()) are decided in float64 over the same
    lists; "low rows" are float32 rows whose best similarity is not above 0.5, which the
    caller must search with finch-clust's arithmetic (see scores()). Returns None when
    more than MAX_SCANNED_FRACTION of the (row, list) pairs would have to be scanned.
    """
    n = xn.shape[0]
    nlist = ivf_lists(n, None)
    if nlist < 2:
        return None
    centroids = train_quantizer(xn, nlist, train_rows=0, iterations=iterations, seed=seed)
    centroids = centroids.astype(xn.dtype)
    nprobe = min(nprobe, nlist)
    # Pass 0: each row's nearest lists and the angle of its home list.
    probes = np.empty((n, nprobe), dtype=np.int64)
    home_cos = np.empty(n, dtype=np.float64)
    for start in range(0, n, _BOUND_ROWS):
        sims = (xn[start : start + _BOUND_ROWS] @ centroids.T).astype(np.float64)
        top = _nearest_lists(sims, nprobe)
        probes[start : start + top.shape[0]] = top
        home_cos[start : start + top.shape[0]] = sims[np.arange(top.shape[0]), top[:, 0]]
    lists = InvertedLists.from_home(probes[:, 0], nlist)
    radius = np.zeros(nlist, dtype=np.float64)
    np.maximum.at(radius, probes[:, 0], _angle(home_cos - _MARGIN))

    # Pass 1: the nearest lists give every row a real neighbour, hence a lower bound.
    first_rows, first_lists = np.repeat(np.arange(n), nprobe), probes.ravel()
    best = scan_lists(xn, lists, first_rows, first_lists)
    # Pass 2: the lists each row's bound cannot exclude, minus those already scanned.
    # Scan M for q iff angle(q, c_M) - radius_M <= reach_q, i.e. iff q.c_M (plus the
    # margin) >= cos(reach_q + radius_M); the cosine of a sum needs no arccos per pair.
    reach = _angle(_similarity_floor(best.value, xn.dtype) - _MARGIN)
    cos_reach, sin_reach = np.cos(reach)[:, None], np.sin(reach)[:, None]
    cos_radius, sin_radius = np.cos(radius)[None, :], np.sin(radius)[None, :]
    pair_rows, pair_lists = [], []
    budget = MAX_SCANNED_FRACTION * n * nlist
    for start in range(0, n, _BOUND_ROWS):
        rows = slice(start, min(start + _BOUND_ROWS, n))
        threshold = cos_reach[rows] * cos_radius - sin_reach[rows] * sin_radius
        threshold[reach[rows, None] + radius[None, :] >= np.pi] = -np.inf
        # Pass 0's row-centroid products, again: keeping them all would cost n x nlist
        # floats (4 GiB at 1M rows); recomputing costs under a tenth of the search.
        needed = (xn[rows] @ centroids.T) + _MARGIN >= threshold
        needed[np.arange(needed.shape[0])[:, None], probes[rows]] = False
        found_rows, found_lists = np.nonzero(needed)
        pair_rows.append(found_rows + start)
        pair_lists.append(found_lists)
        budget -= found_rows.size
        if budget < 0:
            return None
    second_rows, second_lists = np.concatenate(pair_rows), np.concatenate(pair_lists)
    best = scan_lists(xn, lists, second_rows, second_lists, start=best)
    index, distance = settle_near_ties(
        xn,
        lists,
        np.concatenate([first_rows, second_rows]),
        np.concatenate([first_lists, second_lists]),
        best,
    )
    return index, distance, low_similarity_rows(best.value, xn.dtype)
