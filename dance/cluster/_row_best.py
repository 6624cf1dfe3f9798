"""Per-row best similarity, folded from blocks by a few threads with single-threaded BLAS."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
from threadpoolctl import ThreadpoolController, threadpool_limits

Item = TypeVar("Item")


class RowBest:
    """Best similarity and lowest index reaching it, per row, merged block by block."""

    def __init__(self, n: int) -> None:
        """Every row starts at -inf with index n (larger than any real index)."""
        self.value = np.full(n, -np.inf, dtype=np.float32)
        self.index = np.full(n, n, dtype=np.int64)

    def merge(self, rows: slice | np.ndarray, value: np.ndarray, index: np.ndarray) -> None:
        """Take (value, index) where it beats the current best, ties to the lower index."""
        best_value, best_index = self.value[rows], self.index[rows]
        better = (value > best_value) | ((value == best_value) & (index < best_index))
        if isinstance(rows, slice):
            best_value[better] = value[better]  # views: written through
            best_index[better] = index[better]
        else:
            self.value[rows[better]] = value[better]
            self.index[rows[better]] = index[better]


def blas_threads() -> int:
    """Threads BLAS would use here (Ray sets this from the task's CPUs); 1 if unknown."""
    libraries = ThreadpoolController().select(user_api="blas").lib_controllers
    return max([lib.num_threads for lib in libraries] or [1])


def fold_rows_in_threads(
    n: int, items: Iterable[Item], fold: Callable[[Item, RowBest], None]
) -> RowBest:
    """Run fold(item, best) over `items` on BLAS's thread count; the merged RowBest of n rows.

    Each thread folds into its own RowBest and calls single-threaded BLAS, so one thread's
    numpy reductions (which use one core) overlap the other's matrix products.
    """
    items = list(items)
    threads = max(1, min(blas_threads(), len(items)))
    bests = [RowBest(n) for _ in range(threads)]
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
        bests[0].merge(slice(None), other.value, other.index)
    return bests[0]
