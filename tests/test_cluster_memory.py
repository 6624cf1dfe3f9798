"""FINCH memory: every scan tile within the byte budget, peaks predicted, refusals before work.

Every first-neighbour path (IVF list scans and their float64 re-scans, pruned and full
exact passes, later levels' float64 cluster means) cuts its products into tiles under
``NeighborConfig.block_bytes``; a list larger than one tile allows is split on the member
side too, ties still going to the lowest row. FINCH predicts its peak from n, d and the
config and refuses what cannot fit before it reads the rows.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from memory_helpers import peak_bytes

from dance.cluster import (
    FinchMemoryError,
    NeighborConfig,
    estimate_finch_memory,
    finch,
    first_neighbors,
    l2_normalize,
)
from dance.cluster._ivf_blocks import scan_lists
from dance.cluster._lists import InvertedLists
from dance.cluster._tiles import TileCost, scan_cost, tile_sizes, tiles, track_blocks
from dance.errors import InputError

BUDGET = 2**20  # the smallest block_bytes the config allows


def one_direction(n: int, d: int, seed: int = 0) -> np.ndarray:
    """Positive rows of which 90 % lie near one arc (a + t b), the rest uniform."""
    rng = np.random.default_rng(seed)
    a, b = rng.random(d), rng.random(d)
    x = a + rng.random((n, 1)) * b + 0.001 * rng.standard_normal((n, d))
    x[: n // 10] = rng.random((n // 10, d))
    return x.astype(np.float32)


def test_tiles_fit_the_budget_and_cover_the_product_in_ascending_member_order() -> None:
    cost = scan_cost(544, 4)
    covered = np.zeros((5000, 30000), dtype=bool)
    previous = {}
    for rows, members in tiles(5000, 30000, cost, BUDGET):
        height, width = rows.stop - rows.start, min(members.stop, 30000) - members.start
        assert cost.of(height, width) <= BUDGET
        assert members.start >= previous.get(rows.start, 0)  # ascending per query tile
        previous[rows.start] = members.stop
        covered[rows, members] = True
    assert covered.all()


def test_a_list_larger_than_the_budget_is_split_on_the_member_side() -> None:
    rows, columns = tile_sizes(10_000, 1_000_000, TileCost(5, 4 * 544), BUDGET)
    assert columns < 1_000_000 and rows >= 1
    assert TileCost(5, 4 * 544).of(rows, columns) <= BUDGET


def test_scanning_one_giant_list_stays_in_budget_and_keeps_the_lowest_tied_row() -> None:
    rng = np.random.default_rng(3)
    x = rng.random((6000, 64)).astype(np.float32)
    x[2000] = x[10]  # row 10's two exact twins sit in different member tiles:
    x[5950] = x[10]  # the lower one must win, whichever tile is scanned first
    xn = l2_normalize(x)
    home = np.zeros(6000, dtype=np.int64)
    home[:100] = 1  # one list of 5,900 rows, one of 100
    lists = InvertedLists.from_home(home, 2)
    query_rows = np.arange(6000)
    with track_blocks() as log:
        best = scan_lists(xn, lists, query_rows, np.zeros(6000, np.int64), budget=BUDGET)
    assert 0 < log.largest_bytes <= BUDGET
    _, width = tile_sizes(6000, 5900, scan_cost(64, 4), BUDGET)
    assert (2000 - 100) // width != (5950 - 100) // width  # the twins' tiles differ
    assert scan_cost(64, 4).of(6000, 5900) > 10 * BUDGET  # untiled it would not fit
    sims = np.minimum(xn.astype(np.float64) @ xn[100:].T.astype(np.float64), 1.0)
    sims[np.arange(100, 6000), np.arange(5900)] = -np.inf
    top2 = -np.sort(-sims, axis=1)[:, :2]
    clear = top2[:, 0] - top2[:, 1] > 1e-5  # elsewhere float32 rounding decides
    np.testing.assert_array_equal(best.index[clear], sims.argmax(axis=1)[clear] + 100)
    assert clear.mean() > 0.99
    assert (best.index[10], best.index[2000], best.index[5950]) == (2000, 5950, 2000)


CONFIGS = {
    "ivf": NeighborConfig(mode="ann", block_bytes=BUDGET),
    "pruned": NeighborConfig(mode="exact", block_bytes=BUDGET),
    "full-pass": NeighborConfig(mode="exact", exact_pruning=False, block_bytes=BUDGET),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_no_tile_exceeds_the_budget_on_rows_that_share_one_direction(name: str) -> None:
    x = one_direction(20_000, 64)
    with track_blocks() as log:
        neighbors = first_neighbors(x, CONFIGS[name])
    assert neighbors.shape == (20_000,)
    assert 0 < log.largest_bytes <= BUDGET


def test_float64_cluster_means_are_searched_in_tiles_too() -> None:
    means = l2_normalize(one_direction(8000, 64).astype(np.float64))
    with track_blocks() as log:
        first_neighbors(means, CONFIGS["pruned"])
    assert 0 < log.largest_bytes <= BUDGET


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_the_predicted_peak_bounds_the_traced_peak(name: str) -> None:
    x = one_direction(30_000, 32)  # nearly all rows tie: the near-tie passes run too
    config = CONFIGS[name]
    finch(x[:2000], neighbors=config)  # imports and caches, once per process
    _, peak = peak_bytes(lambda: finch(x, neighbors=config))
    predicted = estimate_finch_memory(30_000, 32, np.float32, config).total_bytes
    assert peak <= predicted <= 3 * peak


def test_rows_that_cannot_fit_are_refused_before_any_work() -> None:
    # 100 million x 544 float32 rows (218 GB) as a view of one row: nothing is allocated.
    huge = np.broadcast_to(np.ones((1, 544), dtype=np.float32), (100_000_000, 544))
    started = time.perf_counter()
    with pytest.raises(FinchMemoryError, match="rows alone do not fit") as caught:
        finch(huge, neighbors=NeighborConfig(memory_limit_bytes=8 * 2**30))
    assert time.perf_counter() - started < 1.0
    assert isinstance(caught.value, InputError)
    assert "GiB" in str(caught.value) and "clips.num_clips" in str(caught.value)


def test_a_budget_too_large_for_the_limit_names_the_block_bytes_that_fit() -> None:
    x = np.ones((50_000, 544), dtype=np.float32)
    config = NeighborConfig(block_bytes=2**30, memory_limit_bytes=1 * 2**30)
    with pytest.raises(FinchMemoryError, match="discover.motion.neighbors.block_bytes") as caught:
        finch(x, neighbors=config)
    suggested = int(str(caught.value).split("to at most ")[1].split()[0])
    assert 2**20 <= suggested < 2**30
    smaller = NeighborConfig(block_bytes=suggested, memory_limit_bytes=1 * 2**30)
    assert estimate_finch_memory(50_000, 544, np.float32, smaller).total_bytes <= 2**30
