"""Split a (queries x members) product into tiles that each fit one byte budget.

Every scan of first-neighbour search multiplies some query rows by some member rows. A
tile's working set is its product and the temporaries taken from it (``pair_bytes`` per
entry) plus the rows gathered for it (``row_bytes`` per query or member row); tiles are
sized so that this stays within ``budget``, splitting the member side too when even a few
queries against all members would not fit. Members are cut in ascending order, so a
caller that keeps the first of equal scores still keeps the lowest row.

``track_blocks()`` records the largest tile any scan forms while it is active, so tests
can check the bound on real data instead of trusting the arithmetic.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# Fewest queries a tile takes before the member side is split too: enough rows that the
# matrix product still runs at BLAS speed.
MIN_QUERY_TILE = 256


@dataclass(frozen=True)
class TileCost:
    """Bytes one tile holds per (query, member) entry and per gathered row."""

    pair_bytes: int
    row_bytes: int

    def of(self, queries: int, members: int) -> int:
        """Working-set bytes of a (queries x members) tile."""
        return queries * members * self.pair_bytes + (queries + members) * self.row_bytes


def scan_cost(dim: int, itemsize: int) -> TileCost:
    """Cost of a list-scan tile of `dim`-wide rows of `itemsize` bytes.

    float32 rows: the product (4) and a near-tie mask (1); float64 rows: the product (8),
    its float32 distances (4) and the mask (1).
    """
    if itemsize == 4:
        return TileCost(pair_bytes=5, row_bytes=4 * dim)
    return TileCost(pair_bytes=13, row_bytes=itemsize * dim)


def tile_sizes(queries: int, members: int, cost: TileCost, budget: int) -> tuple[int, int]:
    """(query rows, member rows) per tile: all members if MIN_QUERY_TILE queries fit."""
    if queries == 0 or members == 0 or cost.of(queries, members) <= budget:
        return max(queries, 1), max(members, 1)
    per_query = members * cost.pair_bytes + cost.row_bytes
    rows = (budget - members * cost.row_bytes) // per_query
    if rows >= min(queries, MIN_QUERY_TILE):
        return min(queries, rows), members
    rows = min(queries, MIN_QUERY_TILE)
    while rows > 1 and cost.of(rows, 1) > budget:
        rows //= 2
    columns = (budget - rows * cost.row_bytes) // (rows * cost.pair_bytes + cost.row_bytes)
    return rows, int(max(1, min(members, columns)))


def tiles(queries: int, members: int, cost: TileCost, budget: int) -> Iterator[tuple[slice, slice]]:
    """(query slice, member slice) tiles covering the product, members ascending."""
    rows, columns = tile_sizes(queries, members, cost, budget)
    note_block(cost.of(min(rows, queries), min(columns, members)))
    for first in range(0, queries, rows):
        for second in range(0, members, columns):
            yield slice(first, first + rows), slice(second, second + columns)


class BlockLog:
    """The largest tile (in bytes) and the number of tile shapes seen while tracking."""

    def __init__(self) -> None:
        """Nothing seen yet."""
        self.largest_bytes = 0
        self.shapes = 0


_ACTIVE: list[BlockLog] = []
_LOCK = threading.Lock()


def note_block(nbytes: int) -> None:
    """Record a tile's working set in every active BlockLog (scan threads included)."""
    if not _ACTIVE:
        return
    with _LOCK:
        for log in _ACTIVE:
            log.largest_bytes = max(log.largest_bytes, int(nbytes))
            log.shapes += 1


@contextmanager
def track_blocks() -> Iterator[BlockLog]:
    """Record the tiles every scan forms inside the block (for tests and benchmarks)."""
    log = BlockLog()
    with _LOCK:
        _ACTIVE.append(log)
    try:
        yield log
    finally:
        with _LOCK:
            _ACTIVE.remove(log)
