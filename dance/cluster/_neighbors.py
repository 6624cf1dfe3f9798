"""First-neighbour search under cosine distance: exact or approximate, tiled under one budget.

Every scan cuts its (queries x members) products into tiles of at most
``NeighborConfig.block_bytes`` (``_tiles``): the exact passes, the IVF list scans, their
float64 near-tie re-scans and the later levels' cluster-mean searches alike, so memory is
the rows, one normalised copy, per-row search state and one tile per thread.

Exact mode on CPU ranks rows as finch-clust's dense path does (sklearn's
``cosine_distances``: ``1 - x_i . x_j`` clipped to [0, 2], rounded to float32, ``argmin``
with ties to the LOWEST index), without its n x n matrix. From 5,000 rows it first builds
small tight lists (``_fine_lists``) and counts the row pairs that pruning
(``_exact_pruned``) would scan; if that is at most MAX_SCANNED_FRACTION of all pairs it
prunes, else float32 rows (FINCH's first level) go through ``_exact_symmetric`` (each
upper-triangle block computed once) and float64 rows (the cluster means of later levels)
through tiles of the dense path's own operations (``_exact_plain``). BLAS rounds a
float32 product differently in blocks of different shapes, so a row whose two best
candidates are within ``NEAR_TIE`` (2e-6) is decided in float64 among its candidates
within NEAR_TIE of its float32 best: the truly nearest row, the same on every machine,
path and thread count. finch-clust keeps its float32 choice
there, so the two can differ on such rows (and only there). With a GPU, exact search uses
faiss's brute-force kernel (ties then follow faiss).

Approximate mode is an inverted file over centred k-means lists (``_lists``; seeded and
deterministic): on CPU its list scans are matrix products (``_ivf_blocks``), on a GPU
faiss's IVF-Flat; or faiss's HNSW-Flat (not bit-reproducible). Rows for which the index
finds no other row are resolved exactly.

``mode: auto`` is exact up to ``ann_threshold`` rows where the measured pruning fraction
is at most AUTO_MAX_SCANNED_FRACTION, or where a full pass is small
(``exact_full_pass_rows``); otherwise approximate.
"""

from __future__ import annotations

import logging

import numpy as np

from dance.cluster._exact_plain import l2_normalize, plain_first_neighbors
from dance.cluster._exact_pruned import finish_pruning, plan_pruning
from dance.cluster._exact_symmetric import exact_first_neighbors_float32
from dance.cluster._faiss_index import exact_gpu, faiss_ann, gpu_count
from dance.cluster._ivf_blocks import ivf_first_neighbors, precise_first_neighbors
from dance.cluster._lists import Quantizer, ivf_lists, train_quantizer
from dance.cluster._row_best import NEAR_TIE
from dance.config import NeighborConfig

log = logging.getLogger(__name__)

# Below this many rows an index costs more than it saves (and IVF cannot train), so even
# mode="ann" searches exactly; FINCH's upper levels are that small.
MIN_ANN_ROWS = 1_000
# Below this many rows a full pass is cheap and pruning's lists are not worth building.
PRUNING_MIN_ROWS = 5_000
# Exact mode prunes when it scans at most this fraction of all row pairs; the symmetric
# full pass computes half of them at a higher rate, so beyond this it is the cheaper one.
MAX_SCANNED_FRACTION = 0.3
# Auto mode prunes only up to this fraction; beyond, where a full pass is not small
# either, approximate search (about nprobe / sqrt(n) of the pairs) is chosen.
AUTO_MAX_SCANNED_FRACTION = 0.05


def _check_rows(x: np.ndarray, name: str = "x", *, finite: bool = True) -> None:
    """Raise naming `name` unless it is a float (n >= 2, d >= 1) numpy array, finite
    unless finite=False (callers that check finiteness later, after cheaper checks)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(x).__name__}")
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"{name} must have shape (n >= 2, d >= 1), got {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{name} must be a float array, got dtype {x.dtype}")
    if finite and not np.isfinite(x).all():
        raise ValueError(f"{name} holds NaN/inf; drop or repair those rows first")


def _use_gpu(config: NeighborConfig) -> bool:
    """Whether to search on a GPU: as configured, else when faiss reports one."""
    if config.use_gpu is False:
        return False
    gpus = gpu_count()
    if config.use_gpu and gpus == 0:
        raise RuntimeError(
            "NeighborConfig.use_gpu=True but faiss sees no GPU; install faiss-gpu or set "
            "use_gpu to None/False"
        )
    return gpus > 0


def _is_exact(n: int, config: NeighborConfig) -> bool:
    """Whether `config` asks for exact search of `n` rows (auto may still measure)."""
    if config.mode == "exact" or n < MIN_ANN_ROWS:
        return True
    return config.mode == "auto" and n <= config.ann_threshold


def first_neighbors_with_distance(
    x: np.ndarray, config: NeighborConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's nearest other row (cosine) as (n,) int64 indices and their distances."""
    _check_rows(x)
    return search_first_neighbors(x, config, owned=False)


def search_first_neighbors(
    x: np.ndarray, config: NeighborConfig, *, owned: bool
) -> tuple[np.ndarray, np.ndarray]:
    """first_neighbors_with_distance() on checked rows; owned=True lets it normalise `x`
    in place (the caller's own temporary, such as cluster means)."""
    n = x.shape[0]
    exact = _is_exact(n, config)
    if _use_gpu(config):
        return exact_gpu(x, config) if exact else faiss_ann(x, config, gpu=True)
    if not exact and config.ann_index == "hnsw":
        return faiss_ann(x, config, gpu=False)
    xn = l2_normalize(x, out=x if owned and x.flags.writeable else None)
    if exact and (n < PRUNING_MIN_ROWS or not config.exact_pruning):
        return _full_pass(xn, config)
    quantizer = train_quantizer(
        xn,
        ivf_lists(n, config.ivf_nlist),
        train_rows=config.ivf_train_rows or 0,
        iterations=config.ivf_kmeans_iters,
        seed=config.seed,
    )
    if not exact:
        return _ivf(xn, quantizer, config)
    return _measured_exact(xn, quantizer, config)


def _measured_exact(
    xn: np.ndarray, quantizer: Quantizer, config: NeighborConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Pruned, full-pass or (auto, large, unprunable rows) approximate search, as measured."""
    n = xn.shape[0]
    plan = plan_pruning(
        xn,
        quantizer,
        iterations=config.ivf_kmeans_iters,
        seed=config.seed,
        budget=config.block_bytes,
    )
    fraction = plan.scanned_fraction if plan is not None else 1.0
    must_be_exact = config.mode == "exact" or n < MIN_ANN_ROWS or n <= config.exact_full_pass_rows
    limit = MAX_SCANNED_FRACTION if must_be_exact else AUTO_MAX_SCANNED_FRACTION
    if plan is not None and fraction <= limit:
        log.info("first_neighbors: %d rows, pruning scans %.2f%% of pairs", n, 100 * fraction)
        index, distance, low = finish_pruning(xn, plan, config.block_bytes)
        return _exact_finish(xn, index, distance, low, np.zeros(0, np.int64), config)
    del plan
    if must_be_exact:
        log.info(
            "first_neighbors: %d rows, pruning would scan %.0f%%; full pass", n, 100 * fraction
        )
        return _full_pass(xn, config)
    log.info(
        "first_neighbors: %d rows, pruning would scan %.0f%% of pairs; approximate (IVF)",
        n,
        100 * fraction,
    )
    return _ivf(xn, quantizer, config)


def _ivf(
    xn: np.ndarray, quantizer: Quantizer, config: NeighborConfig
) -> tuple[np.ndarray, np.ndarray]:
    """IVF first neighbours on CPU; rows the lists leave alone are searched exactly."""
    index, distance, missing = ivf_first_neighbors(
        xn, quantizer, nprobe=config.ivf_nprobe, budget=config.block_bytes
    )
    if missing.size:
        log.info(
            "first_neighbors: %d rows without an IVF neighbour, searched exactly", missing.size
        )
        index[missing], distance[missing] = plain_first_neighbors(
            xn, missing, budget=config.block_bytes, max_rows=config.exact_chunk_rows
        )
    return index, distance


def _full_pass(xn: np.ndarray, config: NeighborConfig) -> tuple[np.ndarray, np.ndarray]:
    """Every pair: the symmetric pass for float32 rows, the plain tiles for float64 rows."""
    if xn.dtype != np.float32:
        return plain_first_neighbors(
            xn, np.arange(xn.shape[0]), budget=config.block_bytes, max_rows=config.exact_chunk_rows
        )
    index, distance, low, near = exact_first_neighbors_float32(xn, budget=config.block_bytes)
    return _exact_finish(xn, index, distance, low, near, config)


def _exact_finish(
    xn: np.ndarray,
    index: np.ndarray,
    distance: np.ndarray,
    low: np.ndarray,
    near: np.ndarray,
    config: NeighborConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Search rows below similarity 0.5 with finch-clust's arithmetic; near ties in float64."""
    if low.size:
        # Below similarity 0.5 the fast ranking is not finch-clust's (see scores()).
        index[low], distance[low] = plain_first_neighbors(
            xn, low, budget=config.block_bytes, max_rows=config.exact_chunk_rows
        )
    near = np.setdiff1d(near, low)
    if near.size:
        log.debug("first_neighbors: %d near ties decided in float64", near.size)
        floor = np.full(xn.shape[0], np.inf, dtype=np.float32)
        floor[near] = (np.float32(1.0) - distance[near]) - NEAR_TIE  # float32 rows: exact
        precise = precise_first_neighbors(xn, near, floor, config.block_bytes)
        near = near[precise.index[near] < xn.shape[0]]  # found again, as it must be
        index[near] = precise.index[near]
        distance[near] = (1.0 - precise.value[near]).astype(np.float32)
    return index, distance


def first_neighbors(x: np.ndarray, config: NeighborConfig) -> np.ndarray:
    """(n,) int64 index of each row's nearest other row under cosine distance."""
    return first_neighbors_with_distance(x, config)[0]


def recall_at_1(approx: np.ndarray, exact: np.ndarray) -> float:
    """Fraction of rows whose approximate first neighbour equals the exact one."""
    approx = np.asarray(approx)
    exact = np.asarray(exact)
    if approx.shape != exact.shape or approx.ndim != 1 or approx.size == 0:
        raise ValueError(
            f"approx and exact must be equal-length non-empty 1-D index arrays, got "
            f"{approx.shape} and {exact.shape}"
        )
    return float(np.mean(approx == exact))
