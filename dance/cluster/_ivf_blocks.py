"""Approximate first neighbours: an inverted-file (IVF) search whose list scans are GEMMs.

A centred spherical k-means quantizer (``_lists``) gives each row its `nprobe` nearest
lists. The scan then runs list by list instead of query by query: the rows that probe
list L are multiplied against L's members in matrix products. That is the same candidate
set as IVF-Flat with the same `nprobe`, but it runs at BLAS speed instead of one dot
product at a time, which on CPU is most of the cost. Each product is cut into tiles under
the byte budget (``_tiles``), on the member side too for a list larger than the budget
allows, so an unbalanced list costs time, never memory. Two threads (single-threaded
BLAS each) take (list, query tile) items in turn. Deterministic: the k-means sample and
seed are fixed and ties go to the lowest row index.
"""

from __future__ import annotations

import numpy as np

from dance.cluster._lists import InvertedLists, Quantizer
from dance.cluster._ranking import distances_of, low_similarity_rows, precise_scores, scores
from dance.cluster._row_best import NEAR_TIE, RowBest, block_runner_up, fold_rows_in_threads
from dance.cluster._tiles import note_block, scan_cost, tile_sizes, tiles


def scan_members(
    xn: np.ndarray,
    queries: np.ndarray,
    members: np.ndarray,
    best: RowBest,
    *,
    budget: int,
    floor: np.ndarray | None = None,
) -> None:
    """Fold the scores of rows `queries` against rows `members` (ascending) into `best`.

    Tiles are cut under `budget`; within a tile argmax keeps the first (lowest) member and
    RowBest.merge keeps the lower row on equal scores, so ties go to the lowest row.
    floor: (n,) float32 scores; then only candidates scoring at least floor[q] in float32
    are ranked again, by precise_scores() of their float64 products (near ties, below).
    """
    if queries.size == 0 or members.size == 0:
        return
    cost = scan_cost(xn.shape[1], xn.dtype.itemsize)
    # A contiguous run of rows is read in place instead of gathered.
    contiguous = int(members[-1]) - int(members[0]) + 1 == members.size
    for query_tile, member_tile in tiles(queries.size, members.size, cost, budget):
        rows, columns = queries[query_tile], members[member_tile]
        other = xn[columns[0] : columns[-1] + 1] if contiguous else xn[columns]
        block = scores(xn[rows] @ other.T)
        own = np.searchsorted(columns, rows)
        is_member = own < columns.size
        is_member[is_member] = columns[own[is_member]] == rows[is_member]
        block[np.flatnonzero(is_member), own[is_member]] = -np.inf
        if floor is not None:
            _fold_precise(xn, rows, columns, block >= floor[rows][:, None], best, budget)
            continue
        local = block.argmax(axis=1)
        value = block[np.arange(rows.size), local]
        best.merge(rows, value, columns[local], block_runner_up(block, value, axis=1))


def _fold_precise(
    xn: np.ndarray,
    rows: np.ndarray,
    columns: np.ndarray,
    window: np.ndarray,
    best: RowBest,
    budget: int,
) -> None:
    """Fold the best float64-ranked candidate within `window` (rows x columns) per row.

    The (row, candidate) pairs are taken a budget's worth at a time: near-identical rows
    can put most of a tile in the window, and each pair gathers two float64 rows.
    """
    at_row, at_column = np.nonzero(window)
    step = max(1, budget // (16 * xn.shape[1] + 64))
    note_block(min(step, at_row.size) * (16 * xn.shape[1] + 64))
    for start in range(0, at_row.size, step):
        pair_rows, pair_columns = at_row[start : start + step], at_column[start : start + step]
        left = xn[rows[pair_rows]].astype(np.float64)
        right = xn[columns[pair_columns]].astype(np.float64)
        value = precise_scores(np.einsum("ij,ij->i", left, right))
        del left, right
        # Per row: the highest score, then the lowest column.
        order = np.lexsort((columns[pair_columns], -value, pair_rows))
        first = order[np.unique(pair_rows[order], return_index=True)[1]]
        chosen = rows[pair_rows[first]]
        best.merge(chosen, value[first], columns[pair_columns[first]], np.full(first.size, -np.inf))


def precise_first_neighbors(
    xn: np.ndarray, rows: np.ndarray, floor: np.ndarray, budget: int
) -> RowBest:
    """Float64-ranked best of `rows` among all rows, over the candidates within `floor`."""
    every = np.arange(xn.shape[0])  # contiguous: read in place, never gathered
    step = 256
    return fold_rows_in_threads(
        xn.shape[0],
        [rows[i : i + step] for i in range(0, rows.size, step)],
        lambda tile, best: scan_members(xn, tile, every, best, budget=budget, floor=floor),
        np.float64,
    )


def scan_lists(
    xn: np.ndarray,
    lists: InvertedLists,
    query_rows: np.ndarray,
    list_ids: np.ndarray,
    *,
    budget: int,
    start: RowBest | None = None,
    floor: np.ndarray | None = None,
) -> RowBest:
    """Best score of each row over the lists paired with it ((query_rows, list_ids)).

    floor: rank the candidates within it in float64 (see scan_members).
    """
    n = xn.shape[0]
    by_list = np.argsort(list_ids, kind="stable")
    queries_by_list = query_rows[by_list]
    query_bounds = np.searchsorted(list_ids[by_list], np.arange(lists.count + 1))
    del by_list
    sizes, probes = lists.sizes(), np.diff(query_bounds)
    cost = scan_cost(xn.shape[1], xn.dtype.itemsize)
    # (list, first query, last query) items, largest scans first so the threads finish
    # together; a list probed by many rows is cut into query tiles the threads share.
    items = []
    for lst in np.argsort(-(sizes * probes), kind="stable"):
        if sizes[lst] == 0 or probes[lst] == 0:
            continue
        step, _ = tile_sizes(int(probes[lst]), int(sizes[lst]), cost, budget)
        first, last = int(query_bounds[lst]), int(query_bounds[lst + 1])
        items += [(int(lst), a, min(a + step, last)) for a in range(first, last, step)]

    def scan(item: tuple[int, int, int], best: RowBest) -> None:
        """Scan one list for one tile of the rows paired with it."""
        lst, first, last = item
        queries = queries_by_list[first:last]
        scan_members(xn, queries, lists.members(lst), best, budget=budget, floor=floor)

    best = fold_rows_in_threads(n, items, scan, np.float32 if floor is None else np.float64)
    if start is not None:
        best.merge(slice(None), start.value, start.index, start.runner_up)
    return best


def ivf_first_neighbors(
    xn: np.ndarray, quantizer: Quantizer, *, nprobe: int, budget: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Approximate first neighbours of unit rows: (index, distance, rows with none found)."""
    n = xn.shape[0]
    probes = quantizer.nearest(xn, nprobe, budget)
    lists = InvertedLists.from_home(probes[:, 0], quantizer.centroids.shape[0])
    query_rows = np.repeat(np.arange(n, dtype=np.int32), probes.shape[1])
    list_ids = probes.ravel()
    del probes
    best = scan_lists(xn, lists, query_rows, list_ids, budget=budget)
    index, distance = settle_near_ties(xn, lists, query_rows, list_ids, best, budget=budget)
    return index, distance, np.flatnonzero(index >= n)


def settle_near_ties(
    xn: np.ndarray,
    lists: InvertedLists,
    query_rows: np.ndarray,
    list_ids: np.ndarray,
    best: RowBest,
    *,
    budget: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(index, distance) from `best`, its float32 near ties decided again in float64.

    BLAS rounds float32 products differently in blocks of different shapes, so between
    two rows within NEAR_TIE the float32 winner is noise; the near-tie rows are scanned
    again, over the same (row, list) pairs, and their candidates within NEAR_TIE of the
    float32 best are ranked by float64 products.
    """
    index, distance = best.index.copy(), distances_of(best.value, xn.dtype)
    if xn.dtype != np.float32:
        return index, distance
    near = np.setdiff1d(best.near_ties(), low_similarity_rows(best.value, xn.dtype))
    if near.size:
        keep = np.isin(query_rows, near)
        precise = scan_lists(
            xn, lists, query_rows[keep], list_ids[keep], budget=budget, floor=near_floor(best)
        )
        near = near[precise.index[near] < xn.shape[0]]  # found again, as it must be
        index[near] = precise.index[near]
        distance[near] = (1.0 - precise.value[near]).astype(np.float32)
    return index, distance


def near_floor(best: RowBest) -> np.ndarray:
    """Float32 score floor of each row's near-tie candidates: NEAR_TIE below its best.

    The float32 score of any row differs from its float64 value by less than NEAR_TIE /
    2 (the premise of NEAR_TIE), so the float64 best lies within NEAR_TIE of the float32
    best: only candidates above this floor need float64 products.
    """
    return (best.value - NEAR_TIE).astype(np.float32)
