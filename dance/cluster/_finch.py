"""FINCH (Sarfraz et al., CVPR 2019) without any dense n x n matrix, matching finch-clust 0.2.3.

Each level links every row to its first neighbour (cosine) and takes the weakly connected
components of that n-edge graph: i and j share a cluster when one is the other's first
neighbour or they share one, transitively. The next level repeats this on the cluster
means of the ORIGINAL rows (float32 sums in row order, divided in float64, as
finch-clust's ``cool_mean``). The hierarchy stops when a level yields one cluster or
merges at most one pair; that last level is dropped, as in finch-clust.

Before it reads the rows, finch() predicts its peak memory from n, d and the neighbour
config (``_memory``), logs it, and refuses with FinchMemoryError what would not fit.

finch-clust's ``ensure_early_exit`` pruning is not reproduced because it has no effect
there: it zeroes edges of a scipy CSR matrix, which stores explicit zeros that
``connected_components`` still follows.

A requested count starts from the finest level with at least that many clusters and
merges one pair per step (the mutual first-neighbour pair with the smallest distance,
picked with the same ``argsort`` over edges in row order as finch-clust's ``update_adj``)
until the count is reached. Each step searches first neighbours of the current means
again, so it costs O(steps x k^2 x d) in exact mode; finch-clust runs a fixed number of
steps instead, which differs only in the rare case where one step merges two pairs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from dance.cluster._memory import check_finch_memory
from dance.cluster._neighbors import _check_rows, search_first_neighbors
from dance.config import NeighborConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FinchResult:
    """FINCH hierarchy: labels per level (level 0 finest) and an optional requested partition."""

    partitions: list[np.ndarray]
    num_clusters: list[int]
    requested: np.ndarray | None


def _components(neighbor: np.ndarray, edges: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Weakly connected components of the graph i -> neighbor[i] (restricted to `edges`)."""
    n = neighbor.size
    rows = np.arange(n) if edges is None else edges
    graph = sp.csr_matrix(
        (np.ones(rows.size, dtype=np.float32), (rows, neighbor[rows])), shape=(n, n)
    )
    count, labels = connected_components(graph, directed=True, connection="weak")
    return labels.astype(np.int32), int(count)


def cluster_means(
    data: np.ndarray, labels: np.ndarray, count: int, *, block_bytes: int = 256 * 2**20
) -> np.ndarray:
    """(count, d) float64 means of `data` rows per label, bit-equal to finch-clust's cool_mean.

    The float32 sums are taken a few columns at a time (each column's sum is the same
    whatever the others), so only the float64 means are held in full.
    """
    n, d = data.shape
    members = sp.csr_matrix(
        (np.ones(n, dtype=np.float32), (np.arange(n), labels)), shape=(n, count)
    ).T.tocsr()
    sizes = np.bincount(labels, minlength=count)[:, None]
    means = np.empty((count, d), dtype=np.float64)
    width = max(1, min(d, block_bytes // (4 * max(count, 1) + 4 * n)))
    for first in range(0, d, width):
        columns = slice(first, first + width)
        np.divide(members @ np.ascontiguousarray(data[:, columns]), sizes, out=means[:, columns])
    return means


def _requested_partition(
    data: np.ndarray, labels: np.ndarray, count: int, target: int, neighbors: NeighborConfig
) -> np.ndarray:
    """Merge the closest first-neighbour pair, one step at a time, from `count` to `target`."""
    while count > target:
        means = cluster_means(data, labels, count, block_bytes=neighbors.block_bytes)
        neighbor, distance = search_first_neighbors(means, neighbors, owned=True)
        shortest = np.argsort(distance)[:2]  # finch-clust's update_adj: two shortest edges
        merged, count = _components(neighbor, edges=shortest)
        labels = merged[labels]
    return labels


def _check_request(num_clusters: int | None) -> None:
    """Raise unless `num_clusters` is None or an int >= 1."""
    if num_clusters is None:
        return
    if isinstance(num_clusters, bool) or not isinstance(num_clusters, (int, np.integer)):
        raise TypeError(f"num_clusters must be an int or None, got {type(num_clusters).__name__}")
    if num_clusters < 1:
        raise ValueError(f"num_clusters must be >= 1, got {num_clusters}")


def finch(
    x: np.ndarray,
    *,
    num_clusters: int | None = None,
    neighbors: NeighborConfig | None = None,
    verbose: bool = False,
) -> FinchResult:
    """Cluster the rows of `x` (n, d) with FINCH under cosine distance; see the module doc."""
    neighbors = neighbors if neighbors is not None else NeighborConfig()
    _check_rows(x, finite=False)
    _check_request(num_clusters)
    report = log.info if verbose else log.debug
    # Before any work (the finiteness check reads every value): refuse what cannot fit.
    estimate, limit = check_finch_memory(x.shape[0], x.shape[1], x.dtype, neighbors)
    log.info(  # always stated: a job's log then shows what FINCH expected to need
        "FINCH on %d x %d rows: expected peak %s; %s",
        x.shape[0],
        x.shape[1],
        estimate.describe(),
        "memory not measurable here" if limit is None else f"{limit / 2**30:.2f} GiB allowed",
    )
    _check_rows(x)
    data = np.ascontiguousarray(x, dtype=np.float32)

    neighbor, _ = search_first_neighbors(data, neighbors, owned=False)
    labels, count = _components(neighbor)
    partitions, counts = [labels], [count]
    report("FINCH level 0: %d clusters", count)
    while count > 1:
        means = cluster_means(data, labels, count, block_bytes=neighbors.block_bytes)
        neighbor, _ = search_first_neighbors(means, neighbors, owned=True)
        merged, merged_count = _components(neighbor)
        if merged_count == 1 or count - merged_count <= 1:
            break
        labels, count = merged[labels], merged_count
        partitions.append(labels)
        counts.append(count)
        report("FINCH level %d: %d clusters", len(counts) - 1, count)

    requested = None
    if num_clusters is not None:
        requested = _pick_requested(data, partitions, counts, num_clusters, neighbors)
    return FinchResult(partitions=partitions, num_clusters=counts, requested=requested)


def _pick_requested(
    data: np.ndarray,
    partitions: list[np.ndarray],
    counts: list[int],
    target: int,
    neighbors: NeighborConfig,
) -> np.ndarray:
    """The level with exactly `target` clusters, else merged down from the next finer one."""
    if target in counts:
        return partitions[counts.index(target)]
    if target > counts[0]:
        log.warning(
            "requested %d clusters but FINCH's finest level has %d; returning that level",
            target,
            counts[0],
        )
        return partitions[0]
    level = max(i for i, c in enumerate(counts) if c >= target)
    labels = _requested_partition(data, partitions[level], counts[level], target, neighbors)
    return labels.astype(np.int32)
