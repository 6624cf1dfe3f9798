"""FINCH's peak memory, predicted from n, d and the config before any work, and checked.

Beyond its input, FINCH holds one normalised float32 copy of the rows (a float32 copy
too when the input is not float32), one scan tile per search thread
(``NeighborConfig.block_bytes`` each), per-row search state (lists, candidate pairs,
best rows per thread, labels) and, for pruning, the lists' float64 centroids. Later
levels hold the cluster means instead of the rows; FINCH's first level has at most n / 2
clusters, whose float64 means take no more than the float32 rows did. The per-row
constants are upper bounds measured with tracemalloc on every search path
(benchmarks/finch.py prints prediction against measured peak RSS).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dance.cluster._fine_lists import FINE_LIST_ROWS
from dance.cluster._lists import ivf_lists
from dance.cluster._row_best import blas_threads
from dance.config import NeighborConfig
from dance.errors import InputError

GIB = 2**30
# Per-row search state in bytes: a fixed part (lists, labels, best rows, the level's
# graph), a part per probed list (IVF's (row, list) pairs, sorted, and again for the
# near-tie rows) and one per search thread (its float32 and float64 best rows). Measured
# with tracemalloc at 30,000 x 32 rows, 1 MiB tiles, 2 threads, on rows that nearly all
# tie (benchmarks/finch.py, tests/test_cluster_memory.py): up to 326 bytes per row (IVF),
# 160 (pruned), 73 (full pass); this predicts 384.
_PER_ROW = 128
_PER_ROW_PER_PROBE = 48
_PER_ROW_PER_THREAD = 32
# IVF training rows per list (faiss's minimum is 39), each held as float32 rows, their
# centred copy and faiss's own copy.
_TRAIN_ROWS_PER_LIST = 40


class FinchMemoryError(InputError):
    """FINCH's predicted peak memory exceeds what is available; nothing was computed."""


@dataclass(frozen=True)
class MemoryEstimate:
    """Predicted peak bytes of FINCH beyond its input, by what holds them."""

    rows: int
    dim: int
    input_bytes: int
    threads: int
    parts: dict[str, int]

    @property
    def total_bytes(self) -> int:
        """Predicted peak beyond the input."""
        return sum(self.parts.values())

    def describe(self) -> str:
        """'X GiB beyond the input (part a, part b, ...)'."""
        parts = ", ".join(f"{name} {_size(size)}" for name, size in self.parts.items() if size)
        return f"{_size(self.total_bytes)} beyond its {_size(self.input_bytes)} input ({parts})"


def _size(nbytes: float) -> str:
    """Bytes as GiB (or MiB below 1 GiB), two significant decimals."""
    return f"{nbytes / GIB:.2f} GiB" if nbytes >= GIB else f"{nbytes / 2**20:.0f} MiB"


def estimate_finch_memory(
    n: int, dim: int, dtype: np.dtype, config: NeighborConfig, *, threads: int | None = None
) -> MemoryEstimate:
    """Predicted peak of finch() on (n, dim) rows of `dtype` under `config` (module doc)."""
    threads = threads if threads is not None else blas_threads()
    values = n * dim
    parts = {
        "float32 copy": 0 if np.dtype(dtype) == np.float32 else 4 * values,
        "normalised rows": 4 * values,
        "scan tiles": threads * config.block_bytes,
        "per-row search state": n
        * (_PER_ROW + _PER_ROW_PER_PROBE * config.ivf_nprobe + _PER_ROW_PER_THREAD * threads),
        "list centroids": 4 * dim * (n // FINE_LIST_ROWS + 1),
        "k-means sample": 12 * dim * min(n, _training_rows(n, config)),
    }
    return MemoryEstimate(n, dim, n * dim * np.dtype(dtype).itemsize, threads, parts)


def _training_rows(n: int, config: NeighborConfig) -> int:
    """Rows sampled to train the IVF quantizer."""
    nlist = ivf_lists(n, config.ivf_nlist)
    return max(config.ivf_train_rows or 0, _TRAIN_ROWS_PER_LIST * nlist)


def available_memory_bytes() -> int | None:
    """Memory this process may still take: MemAvailable, capped by a cgroup limit; None
    where neither can be read (not Linux)."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        try:
            limit = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:
            found.append(max(0, int(limit) - usage))
    if not found and hasattr(os, "sysconf"):
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError):
            pass
    return min(found) if found else None


def check_finch_memory(
    n: int, dim: int, dtype: np.dtype, config: NeighborConfig
) -> tuple[MemoryEstimate, int | None]:
    """(estimate, the bytes it was checked against); raise FinchMemoryError if it does not fit."""
    estimate = estimate_finch_memory(n, dim, dtype, config)
    limit = config.memory_limit_bytes
    if limit is None:
        limit = available_memory_bytes()
    if limit is None or estimate.total_bytes <= limit:
        return estimate, limit
    if config.memory_limit_bytes is None:
        against = f"only {_size(limit)} is available"
    else:
        against = f"discover.motion.neighbors.memory_limit_bytes is {_size(limit)}"
    without_tiles = estimate.total_bytes - estimate.parts["scan tiles"]
    largest_tile = (limit - without_tiles) // estimate.threads // 2**20 * 2**20
    if largest_tile >= 2**20:
        fix = (
            f"lower discover.motion.neighbors.block_bytes (NeighborConfig.block_bytes, now "
            f"{config.block_bytes}) to at most {largest_tile} ({_size(largest_tile)}), or run "
            "on a node with more memory"
        )
    else:
        fix = (
            "the rows alone do not fit: cluster fewer rows (for discover: fewer key clips, "
            "clips.num_clips, or motion.transductive false) or run on a node with more memory"
        )
    raise FinchMemoryError(
        f"FINCH on {n:,} x {dim} {np.dtype(dtype).name} rows would need about "
        f"{estimate.describe()}, but {against}; {fix}"
    )
