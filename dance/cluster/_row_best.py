"""Per-row best similarity, folded from blocks by a few threads with single-threaded BLAS."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
from threadpoolctl import ThreadpoolController, threadpool_limits

Item = TypeVar("Item")
Result = TypeVar("Result")


# Scores closer than this are "near ties": float32 products of unit rows differ by up to
# a few 1e-7 between BLAS block shapes, so which of two such rows wins is arithmetic noise.
NEAR_TIE = np.float32(2e-6)


class RowBest:
    """Best score, lowest index reaching it, and runner-up score (near ties only), per row.

    ``runner_up`` is exact enough for one question, whether another row scores within
    NEAR_TIE of the best (see near_ties()); otherwise it may be -inf.
    """

    def __init__(self, n: int, dtype: type = np.float32) -> None:
        """Every row starts at -inf with index n (larger than any real index)."""
        self.value = np.full(n, -np.inf, dtype=dtype)
        self.index = np.full(n, n, dtype=np.int64)
        self.runner_up = np.full(n, -np.inf, dtype=dtype)

    def merge(
        self,
        rows: slice | np.ndarray,
        value: np.ndarray,
        index: np.ndarray,
        runner_up: np.ndarray,
    ) -> None:
        """Fold in another best per row: the higher score wins, ties to the lower index."""
        if isinstance(rows, slice):
            rows = np.arange(self.value.size)[rows]
        old_value, old_index = self.value[rows], self.index[rows]
        better = (value > old_value) | ((value == old_value) & (index < old_index))
        # The second of {old best, old runner-up, new best, new runner-up}.
        self.runner_up[rows] = np.maximum(
            np.minimum(old_value, value), np.maximum(self.runner_up[rows], runner_up)
        )
        self.value[rows[better]] = value[better]
        self.index[rows[better]] = index[better]

    def near_ties(self) -> np.ndarray:
        """Rows whose runner-up scores within NEAR_TIE of their best (exact ties included)."""
        found = self.runner_up > -np.inf  # else value - runner_up is inf or nan
        return np.flatnonzero(found & (self.value - np.where(found, self.runner_up, 0) <= NEAR_TIE))


def block_runner_up(block: np.ndarray, best: np.ndarray, axis: int) -> np.ndarray:
    """Per row (axis=1) or column (axis=0) of a score block: `best` where a second entry
    scores within NEAR_TIE of it, else -inf (enough for RowBest.near_ties())."""
    close = np.expand_dims(best - NEAR_TIE, axis)
    tied = np.count_nonzero(block >= close, axis=axis) >= 2
    return np.where(tied, best, np.float32(-np.inf)).astype(np.float32)


def blas_threads() -> int:
    """Threads BLAS would use here (Ray sets this from the task's CPUs); 1 if unknown."""
    libraries = ThreadpoolController().select(user_api="blas").lib_controllers
    return max([lib.num_threads for lib in libraries] or [1])


def fold_rows_in_threads(
    n: int, items: Iterable[Item], fold: Callable[[Item, RowBest], None], dtype: type = np.float32
) -> RowBest:
    """Run fold(item, best) over `items` on BLAS's thread count; the merged RowBest of n rows.

    Each thread folds into its own RowBest and calls single-threaded BLAS, so one thread's
    numpy reductions (which use one core) overlap the other's matrix products.
    """
    items = list(items)
    threads = max(1, min(blas_threads(), len(items)))
    bests = [RowBest(n, dtype) for _ in range(threads)]
    cursor = iter(items)
    lock = threading.Lock()

    def work(best: RowBest) -> None:
        """Fold the next item until none is left."""
        while True:
            with lock:
                item = next(cursor, None)
            if item is None:
                return
            fold(item, best)

    # BLAS's thread count is process-wide: one thread per call, `threads` calls at once.
    with threadpool_limits(limits=1, user_api="blas"):
        if threads == 1:
            work(bests[0])
        else:
            with ThreadPoolExecutor(threads, thread_name_prefix="first-neighbors") as pool:
                for future in [pool.submit(work, best) for best in bests]:
                    future.result()
    for other in bests[1:]:
        bests[0].merge(slice(None), other.value, other.index, other.runner_up)
    return bests[0]


def map_in_threads(items: Iterable[Item], work: Callable[[Item], Result]) -> list[Result]:
    """[work(item) for item in items] on BLAS's thread count, single-threaded BLAS each.

    For many small products: multi-threaded BLAS on small matrices spends more time
    waking its threads than multiplying, and far more when other processes share the
    cores. Results come back in item order, whatever thread computed them.
    """
    items = list(items)
    threads = max(1, min(blas_threads(), len(items)))
    with threadpool_limits(limits=1, user_api="blas"):
        if threads == 1:
            return [work(item) for item in items]
        with ThreadPoolExecutor(threads, thread_name_prefix="first-neighbors") as pool:
            return list(pool.map(work, items))
