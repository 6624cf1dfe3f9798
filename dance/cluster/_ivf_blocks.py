"""Approximate first neighbours: an inverted-file (IVF) search whose list scans are GEMMs.

faiss trains the coarse quantizer (spherical k-means) and finds each row's `nprobe`
nearest lists, as in an IVF-Flat index. The scan then runs list by list instead of
query by query: every row that probes list L is multiplied against L's members in one
matrix product. That is the same candidate set as IVF-Flat with the same `nprobe`, but
it runs at BLAS speed instead of one dot product at a time, which on CPU is most of the
cost. Two threads (single-threaded BLAS each) take lists in turn. Deterministic: the
k-means sample and seed are fixed and ties go to the lowest row index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dance.cluster._row_best import RowBest, block_runner_up, fold_rows_in_threads


def ivf_lists(n: int, nlist: int | None) -> int:
    """IVF list count: `nlist`, else sqrt(n); at most n // 39 so k-means can train."""
    wanted = nlist or round(math.sqrt(n))
    return max(1, min(wanted, n // 39))


def train_quantizer(
    xn: np.ndarray, nlist: int, *, train_rows: int, iterations: int, seed: int
) -> np.ndarray:
    """(nlist, d) float32 unit centroids from spherical k-means on a seeded row sample."""
    import faiss

    n, d = xn.shape
    rng = np.random.default_rng(seed)
    # faiss wants at least 39 training rows per list; 40 per list unless asked for more.
    sample = np.sort(rng.choice(n, size=min(n, max(train_rows, 40 * nlist)), replace=False))
    kmeans = faiss.Kmeans(d, nlist, niter=iterations, spherical=True, seed=seed, verbose=False)
    kmeans.train(np.ascontiguousarray(xn[sample], dtype=np.float32))
    return kmeans.centroids


def probed_lists(xn: np.ndarray, centroids: np.ndarray, nprobe: int) -> np.ndarray:
    """(n, nprobe) lists each row scans: its nprobe most similar centroids."""
    import faiss

    index = faiss.IndexFlatIP(centroids.shape[1])
    index.add(centroids)
    _, lists = index.search(np.ascontiguousarray(xn, dtype=np.float32), min(nprobe, len(centroids)))
    return lists


def scores(block: np.ndarray) -> np.ndarray:
    """Float32 scores of a similarity block, higher = nearer, ranking as finch-clust does.

    finch-clust takes ``argmin(float32(clip(1 - s, 0, 2)))``. For float32 rows with
    s > 0.5, ``1 - s`` is exact (Sterbenz), so ranking by ``min(s, 1)`` is the same (every
    s >= 1 ties at distance 0); float64 rows (cluster means) are ranked by that float32
    distance itself, negated, so ties from rounding to float32 stay ties.
    """
    if block.dtype == np.float32:
        return np.minimum(block, 1.0, out=block)
    distance = 1.0 - block
    np.clip(distance, 0.0, 2.0, out=distance)
    return -distance.astype(np.float32)


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


def precise_scores(block: np.ndarray) -> np.ndarray:
    """Float64 similarities of float32 unit rows, ranked to 1e-12 (copies of a row tie)."""
    return np.round(np.minimum(block, 1.0, out=block), 12, out=block)


def _scan_list(
    xn: np.ndarray, members: np.ndarray, queries: np.ndarray, best: RowBest, precise: bool
) -> None:
    """Fold the scores of `queries` against the rows of one list into their bests.

    Members are in ascending row order, so argmax ties go to the lowest row.
    """
    if precise:
        block = precise_scores(xn[queries].astype(np.float64) @ xn[members].T.astype(np.float64))
    else:
        block = scores(xn[queries] @ xn[members].T)
    own = np.searchsorted(members, queries)
    is_member = own < members.size
    is_member[is_member] = members[own[is_member]] == queries[is_member]
    block[np.flatnonzero(is_member), own[is_member]] = -np.inf
    local = block.argmax(axis=1)
    value = block[np.arange(queries.size), local]
    best.merge(queries, value, members[local], block_runner_up(block, value, axis=1))


@dataclass(frozen=True)
class InvertedLists:
    """Rows grouped by their home list, each group in ascending row order."""

    rows: np.ndarray
    bounds: np.ndarray

    @classmethod
    def from_home(cls, home: np.ndarray, nlist: int) -> InvertedLists:
        """Group row i into list home[i]."""
        rows = np.argsort(home, kind="stable")
        return cls(rows=rows, bounds=np.searchsorted(home[rows], np.arange(nlist + 1)))

    def members(self, lst: int) -> np.ndarray:
        """Rows of list `lst`, ascending."""
        return self.rows[self.bounds[lst] : self.bounds[lst + 1]]

    def sizes(self) -> np.ndarray:
        """Rows per list."""
        return np.diff(self.bounds)


def scan_lists(
    xn: np.ndarray,
    lists: InvertedLists,
    query_rows: np.ndarray,
    list_ids: np.ndarray,
    start: RowBest | None = None,
    precise: bool = False,
) -> RowBest:
    """Best score of each row over the lists paired with it ((query_rows, list_ids)).

    precise: float64 products ranked by precise_scores() instead of scores().
    """
    n = xn.shape[0]
    nlist = lists.bounds.size - 1
    by_list = np.argsort(list_ids, kind="stable")
    queries_by_list = query_rows[by_list]
    query_bounds = np.searchsorted(list_ids[by_list], np.arange(nlist + 1))
    # Largest scans first, so the threads finish together.
    work = lists.sizes() * np.diff(query_bounds)
    order = [int(lst) for lst in np.argsort(-work, kind="stable") if work[lst] > 0]

    def scan(lst: int, best: RowBest) -> None:
        """Scan list `lst` for every row paired with it."""
        queries = queries_by_list[query_bounds[lst] : query_bounds[lst + 1]]
        _scan_list(xn, lists.members(lst), queries, best, precise)

    best = fold_rows_in_threads(n, order, scan, np.float64 if precise else np.float32)
    if start is not None:
        best.merge(slice(None), start.value, start.index, start.runner_up)
    return best


def ivf_first_neighbors(
    xn: np.ndarray,
    *,
    nlist: int | None,
    nprobe: int,
    train_rows: int,
    iterations: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Approximate first neighbours of unit rows: (index, distance, rows with none found)."""
    n = xn.shape[0]
    centroids = train_quantizer(
        xn, ivf_lists(n, nlist), train_rows=train_rows, iterations=iterations, seed=seed
    )
    probes = probed_lists(xn, centroids, nprobe)
    lists = InvertedLists.from_home(probes[:, 0], centroids.shape[0])
    query_rows = np.repeat(np.arange(n), probes.shape[1])
    best = scan_lists(xn, lists, query_rows, probes.ravel())
    index, distance = settle_near_ties(xn, lists, query_rows, probes.ravel(), best)
    return index, distance, np.flatnonzero(index >= n)


def settle_near_ties(
    xn: np.ndarray,
    lists: InvertedLists,
    query_rows: np.ndarray,
    list_ids: np.ndarray,
    best: RowBest,
) -> tuple[np.ndarray, np.ndarray]:
    """(index, distance) from `best`, its float32 near ties decided again in float64.

    BLAS rounds float32 products differently in blocks of different shapes, so between
    two rows within NEAR_TIE the float32 winner is noise; the near-tie rows are scanned
    again, over the same (row, list) pairs, with float64 products.
    """
    index, distance = best.index.copy(), distances_of(best.value, xn.dtype)
    if xn.dtype != np.float32:
        return index, distance
    near = np.setdiff1d(best.near_ties(), low_similarity_rows(best.value, xn.dtype))
    if near.size:
        keep = np.isin(query_rows, near)
        precise = scan_lists(xn, lists, query_rows[keep], list_ids[keep], precise=True)
        index[near] = precise.index[near]
        distance[near] = (1.0 - precise.value[near]).astype(np.float32)
    return index, distance
