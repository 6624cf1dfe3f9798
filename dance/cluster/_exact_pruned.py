"""Exact first neighbours that skip the lists which provably cannot hold them.

Rows are grouped into small, tight lists (``_fine_lists``: the centred coarse lists,
split). Pass 1 scans every list against itself and its NEARBY_LISTS nearest lists (by
centroid), which gives each row a real neighbour and so a reach: the angle of the best
similarity found, widened by a margin. Angular distance is a metric on the unit sphere,
so for a row q and any member y of list B (centroid c_B, radius r_B: the largest member
angle) ``angle(q, y) >= angle(q, c_B) - r_B``: list B can hold a row at least as similar
as the one found only if ``angle(q, c_B) <= r_B + reach_q``. Every other list holds only
rows strictly less similar, so no best row (nor any row tied with it) is skipped.

Testing every (row, list) pair would cost a product per pair, so lists are first
screened per list: for q in list A (c_A, r_A) ``angle(q, c_B) >= angle(c_A, c_B) - r_A``,
so only the lists B with ``angle(c_A, c_B) <= r_A + r_B + R_A`` (R_A the widest reach in
A) are tested per row. The rows of A are then scanned together against the union of
their lists (matrix products, tiled under the byte budget), except rows that need far
more than the others (the union would impose it on all), which are scanned on their own,
and rows that need more than half of all rows, which are scanned against every row
together. All bounds are widened by a margin far above float32 rounding. Rows
are ranked by ``_ranking.scores``, i.e. as finch-clust ranks them, for float32 rows and
float64 cluster means alike.

Lists are small (about a cluster), so pass 2 scans them in batches: the lists of one
coarse list, BATCH_ROWS rows or more, against the union of their lists. On positive-orthant
rows that scans 4 % more pairs than list by list, but gathers each candidate row once for
~20 times as many queries, which is what the small products' time went to.

plan_pruning() counts the row pairs this scans before pass 2, so callers choose another
search where it is too large (rows without structure, such as uniform noise). Memory stays
at the lists, the batches' list ids (refused beyond one tile's budget) and one tile per
thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from dance.cluster._fine_lists import MARGIN, ListGeometry, angle, fine_lists
from dance.cluster._ivf_blocks import near_floor, precise_first_neighbors, scan_members
from dance.cluster._lists import InvertedLists, Quantizer
from dance.cluster._ranking import distances_of, low_similarity_rows, similarity_floor
from dance.cluster._row_best import RowBest, fold_rows_in_threads, map_in_threads

# Lists screened at a time (a (lists, all lists) block of centroid products).
_CHUNK_LISTS = 32
# Nearest lists each list scans in pass 1 besides itself: on 100,000 positive-orthant
# rows (about 2,400 lists), own list + 4 held the true first neighbour of 99.97 % of rows.
NEARBY_LISTS = 4
# A row needing more than this many times its list's median (plus a few lists) is
# scanned on its own rather than widen the union its whole list scans.
_OWN_SCAN_FACTOR = 4
# Query rows per item when rows are scanned against every row.
_EVERY_ROW_QUERIES = 256
# Rows per pass-2 batch (lists of one coarse list, scanned against their union).
BATCH_ROWS = 256


@dataclass(frozen=True)
class PruningPlan:
    """Lists, pass 1's results and bounds, and the fraction of all row pairs passes 1 and
    2 scan together."""

    lists: InvertedLists
    geometry: ListGeometry
    home: np.ndarray  # (n,) int32: each row's list
    nearby: np.ndarray  # (lists, k) lists scanned with each list in pass 1
    first_pass: RowBest
    reach: np.ndarray  # (n,) angle within which each row's first neighbour lies
    list_reach: np.ndarray  # (lists,) widest reach of a list's rows
    scanned_fraction: float
    batches: list[ListScan] | None = None  # pass 2, batch by batch


@dataclass(frozen=True)
class ListScan:
    """Pass 2 for the rows of some lists: what each group of rows scans beyond pass 1."""

    shared_rows: np.ndarray  # scanned against the members of shared_lists
    shared_lists: np.ndarray
    own: list[tuple[int, np.ndarray]]  # (row, its lists), scanned one by one
    every_row: np.ndarray  # scanned against all rows

    def pairs(self, sizes: np.ndarray, n: int) -> float:
        """Row pairs this scans."""
        total = self.shared_rows.size * float(sizes[self.shared_lists].sum())
        total += sum(float(sizes[chosen].sum()) for _, chosen in self.own)
        return total + self.every_row.size * float(n)

    def nbytes(self) -> int:
        """Bytes its arrays hold."""
        arrays = [self.shared_rows, self.shared_lists, self.every_row]
        return sum(a.nbytes for a in arrays) + sum(8 + c.nbytes for _, c in self.own)

    @classmethod
    def joined(cls, scans: list[ListScan]) -> ListScan:
        """One scan for the rows of all `scans`: their shared rows against the union."""
        return cls(
            shared_rows=np.sort(np.concatenate([s.shared_rows for s in scans])),
            shared_lists=np.unique(np.concatenate([s.shared_lists for s in scans])),
            own=[item for s in scans for item in s.own],
            every_row=np.concatenate([s.every_row for s in scans]),
        )


def _chunks(count: int) -> Iterator[range]:
    """Consecutive ranges of at most _CHUNK_LISTS list ids."""
    for start in range(0, count, _CHUNK_LISTS):
        yield range(start, min(start + _CHUNK_LISTS, count))


def _nearby(geometry: ListGeometry, count: int) -> np.ndarray:
    """(lists, count) nearest other lists of each list, by centroid, nearest first."""
    centroids = geometry.centroids
    count = min(count, centroids.shape[0] - 1)

    def nearest(chunk: range) -> np.ndarray:
        """The nearby lists of one chunk of lists."""
        cosine = centroids[chunk.start : chunk.stop] @ centroids.T
        cosine[np.arange(len(chunk)), np.asarray(chunk)] = -np.inf
        top = np.argpartition(-cosine, count - 1, axis=1)[:, :count]
        order = np.argsort(-np.take_along_axis(cosine, top, axis=1), axis=1, kind="stable")
        return np.take_along_axis(top, order, axis=1)

    return np.concatenate(map_in_threads(_chunks(centroids.shape[0]), nearest))


def _within(cosine: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """Whether an angle of cosine `cosine` (plus the margin) is at most `reach`."""
    return (reach >= np.pi) | (cosine + MARGIN >= np.cos(np.minimum(reach, np.pi)))


def _screened(plan: PruningPlan, chunk: range) -> np.ndarray:
    """(len(chunk), lists) bool: list B may hold a first neighbour of some row of list A
    (the per-list screen) and pass 1 did not scan it for A."""
    centroids, radius = plan.geometry.centroids, plan.geometry.radius
    own = np.asarray(chunk)
    reach = radius[own, None] + radius[None, :] + plan.list_reach[own, None]
    needed = _within(centroids[own] @ centroids.T, reach)
    rows = np.arange(own.size)[:, None]
    needed[rows, own[:, None]] = False
    needed[rows, plan.nearby[own]] = False
    return needed


def _list_scan(xn: np.ndarray, plan: PruningPlan, lst: int, screened: np.ndarray) -> ListScan:
    """Group the rows of list `lst` by what pass 2 must scan for them (module doc)."""
    rows = plan.lists.members(lst)
    candidates = np.flatnonzero(screened)
    sizes = plan.lists.sizes()
    n = xn.shape[0]
    if candidates.size == 0:
        return ListScan(rows, candidates, [], np.zeros(0, dtype=np.int64))
    cosine = np.asarray(xn[rows], dtype=np.float32) @ plan.geometry.centroids[candidates].T
    reach = plan.geometry.radius[candidates][None, :] + plan.reach[rows][:, None]
    needed = _within(cosine, reach)
    cost = needed @ sizes[candidates].astype(np.float64)
    every = cost * 2 > n
    alone = ~every & (cost > _OWN_SCAN_FACTOR * (np.median(cost) + sizes[lst] + 1))
    shared = ~every & ~alone
    return ListScan(
        shared_rows=rows[shared],
        shared_lists=candidates[needed[shared].any(axis=0)],
        own=[(int(rows[i]), candidates[needed[i]]) for i in np.flatnonzero(alone)],
        every_row=rows[every],
    )


def plan_pruning(
    xn: np.ndarray, quantizer: Quantizer, *, iterations: int, seed: int, budget: int
) -> PruningPlan | None:
    """Fine lists, pass 1 and the exact fraction of row pairs passes 1 and 2 scan; None
    when the rows make fewer than NEARBY_LISTS + 1 lists."""
    n = xn.shape[0]
    coarse_home = quantizer.nearest(xn, 1, budget)[:, 0]
    lists, geometry = fine_lists(
        xn,
        coarse_home,
        quantizer.centroids.shape[0],
        iterations=iterations,
        seed=seed,
        budget=budget,
    )
    if lists.count <= NEARBY_LISTS:
        return None
    # Splits never cross coarse lists: a fine list's coarse list is its first member's.
    coarse_of_list = coarse_home[lists.rows[lists.bounds[:-1]]]
    del coarse_home
    nearby = _nearby(geometry, NEARBY_LISTS)

    def first_lists(lst: int, best: RowBest) -> None:
        """Pass 1: the rows of one list against it and its nearby lists."""
        members = _members(lists, np.append(nearby[lst], lst))
        scan_members(xn, lists.members(lst), members, best, budget=budget)

    first_pass = fold_rows_in_threads(n, range(lists.count), first_lists)
    reach = angle(similarity_floor(first_pass.value, xn.dtype) - MARGIN)
    reach[~np.isfinite(first_pass.value)] = np.pi  # no other row found: no bound
    sizes = lists.sizes()
    list_reach = np.zeros(lists.count, dtype=np.float64)
    np.maximum.at(list_reach, np.repeat(np.arange(lists.count), sizes), reach[lists.rows])
    home = np.empty(n, dtype=np.int32)
    home[lists.rows] = np.repeat(np.arange(lists.count, dtype=np.int32), sizes)
    plan = PruningPlan(lists, geometry, home, nearby, first_pass, reach, list_reach, 0.0)

    def count(chunk: range) -> list[ListScan]:
        """Pass 2 of the lists of one chunk."""
        screened = _screened(plan, chunk)
        return [_list_scan(xn, plan, lst, screened[i]) for i, lst in enumerate(chunk)]

    scans = [scan for chunk in map_in_threads(_chunks(lists.count), count) for scan in chunk]
    batches = [
        ListScan.joined([scans[a] for a in batch]) for batch in _batches(coarse_of_list, sizes)
    ]
    del scans
    weights = sizes.astype(np.float64)
    scanned = float(weights @ (weights + weights[nearby].sum(axis=1)))
    scanned += sum(batch.pairs(sizes, n) for batch in batches)
    if sum(batch.nbytes() for batch in batches) > budget:
        scanned = np.inf  # pass 2's own plan would not fit one tile: not worth it
    return replace(plan, scanned_fraction=scanned / (float(n) * n), batches=batches)


def _batches(coarse_of_list: np.ndarray, sizes: np.ndarray) -> list[list[int]]:
    """Lists grouped per coarse list into batches of at least BATCH_ROWS rows (a coarse
    list's last batch may be smaller)."""
    batches: list[list[int]] = []
    rows = 0
    previous = -1
    for lst in np.argsort(coarse_of_list, kind="stable"):
        if coarse_of_list[lst] != previous or rows >= BATCH_ROWS:
            batches.append([])
            rows, previous = 0, coarse_of_list[lst]
        batches[-1].append(int(lst))
        rows += int(sizes[lst])
    return batches


def _members(lists: InvertedLists, chosen: np.ndarray) -> np.ndarray:
    """Members of the `chosen` lists, ascending (each list's run is; a stable sort merges)."""
    chosen = np.asarray(chosen, dtype=np.int64)
    starts, lengths = lists.bounds[chosen], lists.bounds[chosen + 1] - lists.bounds[chosen]
    # Positions of every chosen run in lists.rows, without a Python loop over the lists.
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return np.sort(lists.rows[offsets + np.arange(offsets.size)], kind="stable")


def _second_pass(xn: np.ndarray, plan: PruningPlan, budget: int) -> RowBest:
    """Pass 2: every batch's rows against the lists that survive for them."""
    n = xn.shape[0]
    every_row: list[np.ndarray] = []  # list.append is atomic: the threads share it

    def scan(queries: np.ndarray, chosen: np.ndarray, best: RowBest) -> None:
        """Scan `queries` against the members of the `chosen` lists."""
        if queries.size and chosen.size:
            scan_members(xn, queries, _members(plan.lists, chosen), best, budget=budget)

    def scan_batch(batch: ListScan, best: RowBest) -> None:
        """Pass 2 for the rows of one batch."""
        scan(batch.shared_rows, batch.shared_lists, best)
        for row, chosen in batch.own:
            scan(np.array([row]), chosen, best)
        every_row.append(batch.every_row)

    best = fold_rows_in_threads(n, plan.batches, scan_batch)
    queries = np.sort(np.concatenate(every_row)) if every_row else np.zeros(0, np.int64)
    if queries.size:
        everything = np.arange(n)  # contiguous: scanned in place, never gathered
        tiles = [
            queries[i : i + _EVERY_ROW_QUERIES] for i in range(0, queries.size, _EVERY_ROW_QUERIES)
        ]
        wide = fold_rows_in_threads(
            n, tiles, lambda tile, best: scan_members(xn, tile, everything, best, budget=budget)
        )
        best.merge(slice(None), wide.value, wide.index, wide.runner_up)
    return best


def _near_ties(
    xn: np.ndarray, plan: PruningPlan, best: RowBest, budget: int
) -> tuple[np.ndarray, RowBest]:
    """(near-tie rows, their float64-ranked bests) for float32 rows.

    Each near-tie row is scanned again over the lists passes 1 and 2 gave it (its batch's,
    its own list's and their nearby lists), and only its candidates within NEAR_TIE of its
    float32 best (near_floor()) get float64 products.
    """
    n = xn.shape[0]
    near = near_rows(xn, best)
    floor = near_floor(best)
    wanted = np.zeros(n, dtype=bool)
    wanted[near] = True
    every_row: list[np.ndarray] = []  # list.append is atomic: the threads share it

    def scan(queries: np.ndarray, chosen: np.ndarray, precise: RowBest) -> None:
        """The wanted `queries` against the `chosen` lists and their pass-1 lists."""
        queries = queries[wanted[queries]]
        if queries.size:
            homes = np.unique(plan.home[queries])
            chosen = np.unique(np.concatenate([chosen, homes, plan.nearby[homes].ravel()]))
            members = _members(plan.lists, chosen)
            scan_members(xn, queries, members, precise, budget=budget, floor=floor)

    def scan_batch(batch: ListScan, precise: RowBest) -> None:
        """The near-tie rows of one batch."""
        scan(batch.shared_rows, batch.shared_lists, precise)
        for row, chosen in batch.own:
            scan(np.array([row]), chosen, precise)
        every_row.append(batch.every_row[wanted[batch.every_row]])

    batches = [b for b in plan.batches if wanted[b.shared_rows].any() or b.own or b.every_row.size]
    precise = fold_rows_in_threads(n, batches, scan_batch, np.float64)
    queries = np.sort(np.concatenate(every_row)) if every_row else np.zeros(0, np.int64)
    if queries.size:
        wide = precise_first_neighbors(xn, queries, floor, budget)
        precise.merge(slice(None), wide.value, wide.index, wide.runner_up)
    return near, precise


def near_rows(xn: np.ndarray, best: RowBest) -> np.ndarray:
    """Rows whose float32 best is a near tie (and not a low row, searched apart)."""
    return np.setdiff1d(best.near_ties(), low_similarity_rows(best.value, xn.dtype))


def finish_pruning(
    xn: np.ndarray, plan: PruningPlan, budget: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(index, distance, low rows) of each unit row's first neighbour, from `plan`.

    Float32 rows' near ties (RowBest.near_ties()) are decided in float64 (_near_ties());
    "low rows" are float32 rows whose best similarity is not above 0.5, which the caller
    must search with finch-clust's arithmetic (see scores()).
    """
    best = _second_pass(xn, plan, budget)
    first = plan.first_pass
    best.merge(slice(None), first.value, first.index, first.runner_up)
    index, distance = best.index.copy(), distances_of(best.value, xn.dtype)
    low = low_similarity_rows(best.value, xn.dtype)
    if xn.dtype == np.float32:
        near, precise = _near_ties(xn, plan, best, budget)
        near = near[precise.index[near] < xn.shape[0]]  # found again, as it must be
        index[near] = precise.index[near]
        distance[near] = (1.0 - precise.value[near]).astype(np.float32)
    return index, distance, low
