"""First-neighbour search under cosine distance: exact or approximate, never n x n at once.

Exact mode on CPU ranks rows as finch-clust's dense path does (sklearn's
``cosine_distances``: ``1 - x_i . x_j`` clipped to [0, 2], rounded to float32, ``argmin``
with ties to the LOWEST index), without its n x n matrix. Above 5,000 rows it first
tries ``_exact_pruned`` (IVF lists that provably cannot hold a row's neighbour are
skipped; on clustered rows such as pose clips most are); else float32 rows (FINCH's first
level) go through ``_exact_symmetric`` (each upper-triangle block computed once, reduced
for its rows and its columns) and float64 rows (the cluster means of later levels, as
finch-clust computes them) through (chunk, n) blocks of the dense path's own operations.
BLAS rounds a float32 product differently in blocks of different shapes, so a row whose
two best candidates are within ``NEAR_TIE`` (2e-6) is decided in float64: the truly
nearest row, the same on every machine, path and thread count. finch-clust keeps its
float32 choice there, so the two can differ on such rows (and only there). With a GPU,
exact search uses faiss's brute-force kernel (ties then follow faiss).

Approximate mode is an inverted file (IVF, spherical k-means lists trained with
``seed``; deterministic): on CPU its list scans are matrix products (``_ivf_blocks``),
on a GPU faiss's IVF-Flat; or faiss's HNSW-Flat (not bit-reproducible). Rows for which
the index finds no other row are resolved exactly.
"""

from __future__ import annotations

import logging
from types import ModuleType

import numpy as np

from dance.cluster._exact_pruned import pruned_exact_first_neighbors
from dance.cluster._exact_symmetric import exact_first_neighbors_float32
from dance.cluster._ivf_blocks import ivf_first_neighbors, ivf_lists, precise_scores
from dance.config import NeighborConfig

log = logging.getLogger(__name__)


def _faiss() -> ModuleType:
    """Import faiss lazily (it is heavy and exact CPU search does not need it)."""
    try:
        import faiss
    except ImportError as err:
        raise ImportError(
            "approximate and GPU first-neighbour search need faiss: install exactly one of "
            "`pip install 'dance[cpu]'` (faiss-cpu) or `pip install 'dance[gpu]'` (faiss-gpu); "
            "both ship the same `faiss` package, so never both"
        ) from err
    return faiss


def _check_rows(x: np.ndarray, name: str = "x") -> None:
    """Raise naming `name` unless it is a finite float (n >= 2, d >= 1) numpy array."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(x).__name__}")
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"{name} must have shape (n >= 2, d >= 1), got {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{name} must be a float array, got dtype {x.dtype}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} holds NaN/inf; drop or repair those rows first")


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm exactly as sklearn's ``normalize``; zero rows stay zero."""
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))
    norms[norms < 10 * np.finfo(norms.dtype).eps] = 1.0
    return x / norms[:, None]


def _use_gpu(config: NeighborConfig) -> bool:
    """Whether to search on a GPU: as configured, else when faiss reports one."""
    if config.use_gpu is False:
        return False
    try:
        gpus = _faiss().get_num_gpus()
    except ImportError:
        gpus = 0
    if config.use_gpu and gpus == 0:
        raise RuntimeError(
            "NeighborConfig.use_gpu=True but faiss sees no GPU; install faiss-gpu or set "
            "use_gpu to None/False"
        )
    return gpus > 0


def _chunk_rows(n: int, itemsize: int, config: NeighborConfig) -> int:
    """Query rows per exact block so that one (rows, n) block fits exact_block_bytes."""
    return max(1, min(config.exact_chunk_rows, config.exact_block_bytes // (n * itemsize)))


def _exact_cpu(
    xn: np.ndarray, rows: np.ndarray, config: NeighborConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Exact first neighbour and cosine distance of `rows` among all rows of normalised `xn`."""
    n = xn.shape[0]
    step = _chunk_rows(n, xn.dtype.itemsize, config)
    index = np.empty(rows.size, dtype=np.int64)
    distance = np.empty(rows.size, dtype=np.float32)
    for start in range(0, rows.size, step):
        block_rows = rows[start : start + step]
        block = xn[block_rows] @ xn.T
        # Same operations as sklearn's cosine_distances, so equal inputs give equal bits.
        block *= -1
        block += 1
        np.clip(block, 0.0, 2.0, out=block)
        # finch-clust casts its distance matrix to float32 before argmin: ties included.
        block = block.astype(np.float32, copy=False)
        block[np.arange(block_rows.size), block_rows] = np.inf
        best = np.argmin(block, axis=1)
        index[start : start + step] = best
        distance[start : start + step] = block[np.arange(block_rows.size), best]
    return index, distance


def _exact_gpu(xn: np.ndarray, config: NeighborConfig) -> tuple[np.ndarray, np.ndarray]:
    """Exact first neighbours with faiss's GPU brute-force kernel (float32)."""
    faiss = _faiss()
    x32 = np.ascontiguousarray(xn, dtype=np.float32)
    resources = faiss.StandardGpuResources()
    sims, ids = faiss.knn_gpu(resources, x32, x32, 2, metric=faiss.METRIC_INNER_PRODUCT)
    return _drop_self(x32, sims, ids, 0, config)


def _exact_rows_streaming(
    x: np.ndarray, rows: np.ndarray, config: NeighborConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Exact first neighbours of `rows`, normalising `x` one column block at a time.

    Used for the few rows an index leaves without a neighbour, without a normalised copy
    of all of `x`. Blocks are scanned in ascending order and only a strictly smaller
    distance replaces the best so far, so ties still go to the lowest index.
    """
    queries = l2_normalize(np.asarray(x[rows], dtype=np.float32))
    best = np.full(rows.size, np.inf, dtype=np.float32)
    index = np.zeros(rows.size, dtype=np.int64)
    step = _chunk_rows(max(rows.size, 1), 4, config)
    for start in range(0, x.shape[0], step):
        columns = l2_normalize(np.asarray(x[start : start + step], dtype=np.float32))
        block = np.clip(1.0 - queries @ columns.T, 0.0, 2.0).astype(np.float32)
        own = (rows >= start) & (rows < start + columns.shape[0])
        block[np.flatnonzero(own), rows[own] - start] = np.inf
        local = np.argmin(block, axis=1)
        value = block[np.arange(rows.size), local]
        better = value < best
        best[better] = value[better]
        index[better] = local[better] + start
    return index, best


def _drop_self(
    x: np.ndarray,
    sims: np.ndarray,
    ids: np.ndarray,
    first_row: int,
    config: NeighborConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """From k-NN results of rows first_row.. that include each row itself, keep the best other.

    A row whose results hold no other row (a sparse IVF list) is searched exactly.
    """
    count = ids.shape[0]
    own = np.arange(first_row, first_row + count)[:, None]
    other = (ids != own) & (ids >= 0)
    first = np.argmax(other, axis=1)
    index = ids[np.arange(count), first].astype(np.int64)
    distance = (1.0 - sims[np.arange(count), first]).astype(np.float32)
    missing = np.flatnonzero(~other.any(axis=1))
    if missing.size:
        log.info(
            "first_neighbors: %d rows without an ANN neighbour, searched exactly", missing.size
        )
        index[missing], distance[missing] = _exact_rows_streaming(x, missing + first_row, config)
    return index, distance


def _build_index(x: np.ndarray, config: NeighborConfig, gpu: bool) -> object:
    """A faiss inner-product index over the L2-normalised rows of `x`, added block by block."""
    faiss = _faiss()
    n, d = x.shape
    step = _ADD_ROWS
    if config.ann_index == "hnsw":
        index = faiss.IndexHNSWFlat(d, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = config.hnsw_ef_construction
    else:
        nlist = ivf_lists(n, config.ivf_nlist)
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = config.seed
        index.cp.niter = config.ivf_kmeans_iters
        index.cp.spherical = True
        rng = np.random.default_rng(config.seed)
        train_rows = min(n, max(config.ivf_train_rows or 0, 40 * nlist))
        sample = np.sort(rng.choice(n, size=train_rows, replace=False))
        if gpu:
            index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, index)
        index.train(_normalized32(x[sample]))
    for start in range(0, n, step):
        index.add(_normalized32(x[start : start + step]))
    if config.ann_index == "hnsw":
        index.hnsw.efSearch = config.ef_search
    else:
        index.nprobe = config.ivf_nprobe
    return index


def _normalized32(rows: np.ndarray) -> np.ndarray:
    """C-contiguous float32 L2-normalised copy of `rows`."""
    return np.ascontiguousarray(l2_normalize(np.asarray(rows, dtype=np.float32)))


# Rows normalised, added and searched at a time in ANN mode: no full normalised copy.
_ADD_ROWS = 65_536


def _ann(x: np.ndarray, config: NeighborConfig, gpu: bool) -> tuple[np.ndarray, np.ndarray]:
    """Approximate first neighbours: IVF (list scans as GEMMs on CPU) or a faiss index."""
    if config.ann_index == "ivf" and not gpu:
        # Float64 rows (cluster means) stay float64, ranked as the exact search ranks them.
        index, distance, missing = ivf_first_neighbors(
            np.ascontiguousarray(l2_normalize(x)),
            nlist=config.ivf_nlist,
            nprobe=config.ivf_nprobe,
            train_rows=config.ivf_train_rows or 0,
            iterations=config.ivf_kmeans_iters,
            seed=config.seed,
        )
        if missing.size:
            log.info(
                "first_neighbors: %d rows without an IVF neighbour, searched exactly", missing.size
            )
            index[missing], distance[missing] = _exact_rows_streaming(x, missing, config)
        return index, distance
    index = _build_index(x, config, gpu)
    n = x.shape[0]
    neighbors = np.empty(n, dtype=np.int64)
    distances = np.empty(n, dtype=np.float32)
    for start in range(0, n, _ADD_ROWS):
        sims, ids = index.search(_normalized32(x[start : start + _ADD_ROWS]), 2)
        stop = start + ids.shape[0]
        neighbors[start:stop], distances[start:stop] = _drop_self(x, sims, ids, start, config)
    return neighbors, distances


# Below this many rows an index costs more than it saves (and IVF cannot train), so even
# mode="ann" searches exactly; FINCH's upper levels are that small.
MIN_ANN_ROWS = 1_000


def _is_exact(n: int, config: NeighborConfig) -> bool:
    """Whether `config` asks for exact search of `n` rows."""
    if config.mode == "exact" or n < MIN_ANN_ROWS:
        return True
    return config.mode == "auto" and n <= config.ann_threshold


def first_neighbors_with_distance(
    x: np.ndarray, config: NeighborConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's nearest other row (cosine) as (n,) int64 indices and their distances."""
    _check_rows(x)
    gpu = _use_gpu(config)
    if not _is_exact(x.shape[0], config):
        return _ann(x, config, gpu)
    xn = l2_normalize(x)
    if gpu:
        return _exact_gpu(xn, config)
    return _exact_cpu_fast(xn, config)


# Below this many rows a full pass is cheap and pruning's k-means is not worth training.
PRUNING_MIN_ROWS = 5_000
# Lists each row scans first, to find a neighbour that bounds the rest.
_PRUNING_NPROBE = 2


def _exact_cpu_fast(xn: np.ndarray, config: NeighborConfig) -> tuple[np.ndarray, np.ndarray]:
    """Exact first neighbours on CPU: pruned by IVF lists, else the symmetric or plain pass."""
    n = xn.shape[0]
    found = None
    if config.exact_pruning and n >= PRUNING_MIN_ROWS:
        found = pruned_exact_first_neighbors(
            xn, nprobe=_PRUNING_NPROBE, iterations=config.ivf_kmeans_iters, seed=config.seed
        )
        if found is None:
            log.info("first_neighbors: %d rows too spread out to prune; full pass", n)
    if found is not None:
        index, distance, low = found
        near = np.zeros(0, dtype=np.int64)  # decided inside the pruned search
    elif xn.dtype == np.float32:
        index, distance, low, near = exact_first_neighbors_float32(xn)
    else:
        return _exact_cpu(xn, np.arange(n), config)
    if low.size:
        # Below similarity 0.5 the fast ranking is not finch-clust's (see scores()).
        index[low], distance[low] = _exact_cpu(xn, low, config)
    near = np.setdiff1d(near, low)
    if near.size:
        log.debug("first_neighbors: %d near ties decided in float64", near.size)
        index[near], distance[near] = _near_ties_in_float64(xn, near, config)
    return index, distance


def _near_ties_in_float64(
    xn: np.ndarray, rows: np.ndarray, config: NeighborConfig
) -> tuple[np.ndarray, np.ndarray]:
    """First neighbours of `rows` from float64 products: the truly nearest row.

    float32 rounding differs between BLAS block shapes, so a neighbour within a few 1e-7
    of another is arithmetic noise; float64 decides those rows the same way on every
    machine and path, ranked by precise_scores() as the list scans rank them.
    """
    n = xn.shape[0]
    index = np.empty(rows.size, dtype=np.int64)
    distance = np.empty(rows.size, dtype=np.float32)
    columns = xn.T.astype(np.float64)  # once, not per chunk
    step = _chunk_rows(n, 8, config)
    for start in range(0, rows.size, step):
        chunk = rows[start : start + step]
        sims = precise_scores(xn[chunk].astype(np.float64) @ columns)
        sims[np.arange(chunk.size), chunk] = -np.inf
        first = sims.argmax(axis=1)  # the lowest index among equal scores
        index[start : start + step] = first
        distance[start : start + step] = (1.0 - sims[np.arange(chunk.size), first]).astype(
            np.float32
        )
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
