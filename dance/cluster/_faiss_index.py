"""First neighbours through faiss: exact on a GPU, and the HNSW or GPU IVF indexes.

faiss's GPU brute-force kernel tiles its own work; its ties follow faiss. The indexes
are built and searched _ADD_ROWS normalised rows at a time, so no normalised copy of all
rows is held beside the index (which itself holds one, float32). GPU IVF lists are
trained by faiss's own spherical k-means, without the centring of the CPU IVF lists.
"""

from __future__ import annotations

import logging
from types import ModuleType

import numpy as np

from dance.cluster._exact_plain import l2_normalize, streamed_first_neighbors
from dance.cluster._lists import ivf_lists
from dance.config import NeighborConfig

log = logging.getLogger(__name__)

# Rows normalised, added and searched at a time.
_ADD_ROWS = 65_536


def faiss_module() -> ModuleType:
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


def gpu_count() -> int:
    """GPUs faiss sees; 0 without faiss."""
    try:
        return int(faiss_module().get_num_gpus())
    except ImportError:
        return 0


def _normalized32(rows: np.ndarray) -> np.ndarray:
    """C-contiguous float32 L2-normalised copy of `rows`."""
    return np.ascontiguousarray(l2_normalize(np.asarray(rows, dtype=np.float32)))


def exact_gpu(x: np.ndarray, config: NeighborConfig) -> tuple[np.ndarray, np.ndarray]:
    """Exact first neighbours with faiss's GPU brute-force kernel (float32)."""
    faiss = faiss_module()
    x32 = _normalized32(x)
    resources = faiss.StandardGpuResources()
    sims, ids = faiss.knn_gpu(resources, x32, x32, 2, metric=faiss.METRIC_INNER_PRODUCT)
    return drop_self(x, sims, ids, 0, config)


def drop_self(
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
        index[missing], distance[missing] = streamed_first_neighbors(
            x, missing + first_row, budget=config.block_bytes
        )
    return index, distance


def _build_index(x: np.ndarray, config: NeighborConfig, gpu: bool) -> object:
    """A faiss inner-product index over the L2-normalised rows of `x`, added block by block."""
    faiss = faiss_module()
    n, d = x.shape
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
    for start in range(0, n, _ADD_ROWS):
        index.add(_normalized32(x[start : start + _ADD_ROWS]))
    if config.ann_index == "hnsw":
        index.hnsw.efSearch = config.ef_search
    else:
        index.nprobe = config.ivf_nprobe
    return index


def faiss_ann(x: np.ndarray, config: NeighborConfig, gpu: bool) -> tuple[np.ndarray, np.ndarray]:
    """Approximate first neighbours from a faiss index (HNSW, or IVF-Flat on a GPU)."""
    index = _build_index(x, config, gpu)
    n = x.shape[0]
    neighbors = np.empty(n, dtype=np.int64)
    distances = np.empty(n, dtype=np.float32)
    for start in range(0, n, _ADD_ROWS):
        sims, ids = index.search(_normalized32(x[start : start + _ADD_ROWS]), 2)
        stop = start + ids.shape[0]
        neighbors[start:stop], distances[start:stop] = drop_self(x, sims, ids, start, config)
    return neighbors, distances
