"""FINCH at scale: identical partitions to finch-clust, exact/ANN first neighbours, no n x n."""

from __future__ import annotations

import numpy as np
import pytest
from finch import FINCH
from memory_helpers import peak_bytes

from dance.cluster import NeighborConfig, finch, first_neighbors, recall_at_1

EXACT = NeighborConfig(mode="exact")


def canonical(labels: np.ndarray) -> np.ndarray:
    """Relabel clusters by first occurrence so equal partitions compare equal."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))
    return rank[inverse]


def blobs(n: int, d: int, centres: int, spread: float, seed: int) -> np.ndarray:
    """Gaussian blobs around random centres."""
    rng = np.random.default_rng(seed)
    middle = rng.normal(size=(centres, d))
    return (middle[rng.integers(0, centres, n)] + spread * rng.normal(size=(n, d))).astype(
        np.float32
    )


def uniform(n: int, d: int, seed: int) -> np.ndarray:
    """Uniform random rows in [0, 1)."""
    return np.random.default_rng(seed).random((n, d)).astype(np.float32)


def pose_like(n: int, seed: int, frames: int = 16) -> np.ndarray:
    """Smooth random 17-joint trajectories, min-max scaled per frame like normalised poses."""
    rng = np.random.default_rng(seed)
    base = rng.random((n, 1, 17, 2))
    drift = np.cumsum(0.02 * rng.normal(size=(n, frames, 17, 2)), axis=1)
    xy = base + drift
    low = xy.min(axis=2, keepdims=True)
    span = xy.max(axis=2, keepdims=True) - low
    return ((xy - low) / span).reshape(n, frames * 34).astype(np.float32)


DATASETS = {
    "blobs": lambda: blobs(4000, 32, 30, 0.8, seed=1),
    "uniform": lambda: uniform(3000, 16, seed=2),
    "pose_like": lambda: pose_like(2500, seed=3),
}


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_level_and_a_requested_count_equal_finch_clust(name: str) -> None:
    x = DATASETS[name]()
    # finch-clust is exact (dense pairwise path) when ann_threshold >= n.
    theirs, their_counts, their_requested = FINCH(x, req_clust=5, ann_threshold=10**9)
    ours = finch(x, num_clusters=5, neighbors=EXACT)
    assert ours.num_clusters == list(their_counts)
    for level, labels in enumerate(ours.partitions):
        assert labels.dtype == np.int32
        np.testing.assert_array_equal(canonical(labels), canonical(theirs[:, level]))
    np.testing.assert_array_equal(canonical(ours.requested), canonical(their_requested))
    assert len(np.unique(ours.requested)) == 5


def test_partitions_use_consecutive_labels_and_coarsen_monotonically() -> None:
    result = finch(blobs(1500, 8, 10, 0.5, seed=4), neighbors=EXACT)
    for count, labels in zip(result.num_clusters, result.partitions, strict=True):
        assert set(np.unique(labels).tolist()) == set(range(count))
    for fine, coarse in zip(result.partitions, result.partitions[1:], strict=False):
        # every fine cluster lies inside exactly one coarse cluster
        pairs = np.unique(np.stack([fine, coarse]), axis=1)
        assert pairs.shape[1] == len(np.unique(fine))
    assert result.requested is None


def test_a_requested_count_that_is_a_level_returns_that_level() -> None:
    x = blobs(1500, 8, 10, 0.5, seed=5)
    plain = finch(x, neighbors=EXACT)
    asked = finch(x, num_clusters=plain.num_clusters[1], neighbors=EXACT)
    np.testing.assert_array_equal(asked.requested, plain.partitions[1])


def test_a_request_above_the_finest_level_returns_the_finest_level() -> None:
    x = blobs(600, 8, 10, 0.5, seed=6)
    result = finch(x, num_clusters=10_000, neighbors=EXACT)
    np.testing.assert_array_equal(result.requested, result.partitions[0])


def test_finch_is_deterministic_and_rejects_bad_input() -> None:
    x = uniform(800, 8, seed=7)
    first = finch(x, num_clusters=3, neighbors=EXACT)
    second = finch(x.copy(), num_clusters=3, neighbors=EXACT)
    for a, b in zip(first.partitions, second.partitions, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first.requested, second.requested)
    with pytest.raises(ValueError, match="shape"):
        finch(x[:1])
    bad = x.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        finch(bad)
    with pytest.raises(ValueError, match="num_clusters"):
        finch(x, num_clusters=0)


def test_exact_first_neighbors_equal_brute_force_with_lowest_index_ties() -> None:
    rng = np.random.default_rng(8)
    x = rng.normal(size=(700, 12)).astype(np.float32)
    x[5] = x[100]  # exact duplicates: both are each other's first neighbour
    x[300] = 2.0 * x[200]  # same direction: cosine distance 0
    x[400] = x[50]
    x[450] = x[50]  # row 50 has two tied neighbours; the lowest index (400) wins
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    distance = 1.0 - unit @ unit.T
    np.fill_diagonal(distance, np.inf)
    expected = np.argmin(distance, axis=1)
    got = first_neighbors(x, NeighborConfig(mode="exact", exact_chunk_rows=64))
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)
    assert (got[5], got[100], got[300], got[200], got[50]) == (100, 5, 200, 300, 400)


def test_exact_search_is_independent_of_the_chunk_size() -> None:
    x = uniform(900, 10, seed=9)
    whole = first_neighbors(x, NeighborConfig(mode="exact", exact_chunk_rows=900))
    chunked = first_neighbors(x, NeighborConfig(mode="exact", exact_chunk_rows=37))
    np.testing.assert_array_equal(whole, chunked)


@pytest.mark.parametrize("index", ["ivf", "hnsw"])
def test_ann_first_neighbors_on_blobs_have_recall_at_least_095(index: str) -> None:
    x = blobs(5000, 64, 50, 0.5, seed=10)
    exact = first_neighbors(x, EXACT)
    approx = first_neighbors(x, NeighborConfig(mode="ann", ann_index=index))
    assert (approx != np.arange(x.shape[0])).all()
    assert recall_at_1(approx, exact) >= 0.95


def test_auto_mode_switches_to_ann_above_the_threshold() -> None:
    x = blobs(3000, 16, 20, 0.5, seed=11)
    exact = first_neighbors(x, EXACT)
    below = first_neighbors(x, NeighborConfig(ann_threshold=3000))
    np.testing.assert_array_equal(below, exact)
    above = first_neighbors(x, NeighborConfig(ann_threshold=2999, ivf_nprobe=1, ivf_nlist=64))
    assert recall_at_1(above, exact) < 1.0  # one probed list out of 64 misses neighbours


def test_recall_at_1_counts_matching_rows_and_rejects_mismatched_shapes() -> None:
    assert recall_at_1(np.array([1, 2, 3, 4]), np.array([1, 2, 0, 4])) == 0.75
    with pytest.raises(ValueError, match="equal-length"):
        recall_at_1(np.array([1, 2]), np.array([1, 2, 3]))


def test_exact_search_holds_one_block_not_an_n_by_n_matrix() -> None:
    x = uniform(20_000, 8, seed=12)  # a dense float32 20k x 20k matrix is 1.6 GB
    config = NeighborConfig(mode="exact", block_bytes=16 * 2**20)
    neighbors, peak = peak_bytes(lambda: first_neighbors(x, config))
    assert neighbors.shape == (20_000,)
    assert peak < 80 * 2**20


def test_finch_on_60k_rows_never_allocates_an_n_by_n_matrix() -> None:
    x = blobs(60_000, 8, 30, 0.3, seed=13)  # a dense float32 60k x 60k matrix is 14.4 GB
    result, peak = peak_bytes(lambda: finch(x, neighbors=NeighborConfig(mode="ann")))
    assert len(result.partitions) >= 3
    assert result.num_clusters[0] < 60_000 // 2
    assert peak < 200 * 2**20


def test_rows_an_index_misses_are_searched_exactly_block_by_block() -> None:
    from dance.cluster._exact_plain import streamed_first_neighbors

    x = uniform(500, 6, seed=14)
    x[450] = x[20]  # a tie across column blocks: the lower index must win
    x[451] = x[20]
    rows = np.array([0, 20, 99, 450, 499])
    expected = first_neighbors(x, NeighborConfig(mode="exact"))[rows]
    # A budget of 37 columns per tile: the tie crosses a tile boundary.
    index, distance = streamed_first_neighbors(x, rows, budget=37 * (4 * rows.size + 12 * 6))
    np.testing.assert_array_equal(index, expected)
    assert index[1] == 450 and distance[1] == pytest.approx(0.0, abs=1e-6)
