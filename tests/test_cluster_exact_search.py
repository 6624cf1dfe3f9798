"""Exact first-neighbour search paths: pruned by IVF lists, symmetric blocks, plain blocks.

All three pick the same neighbour (exact ties to the lowest index) except where two
candidates differ by float32 rounding: which one wins then depends on BLAS's summation
order, in finch-clust as well (its own matrix changes with BLAS's thread count). Pruning
must give up on rows without structure, and FINCH on rows large enough to prune equals
finch-clust on data without such near-ties.
"""

from __future__ import annotations

import numpy as np
import pytest
from finch import FINCH

from dance.cluster import NeighborConfig, finch, first_neighbors, l2_normalize
from dance.cluster._exact_pruned import pruned_exact_first_neighbors
from dance.cluster._exact_symmetric import exact_first_neighbors_float32
from dance.cluster._neighbors import PRUNING_MIN_ROWS, _exact_cpu

ROWS = PRUNING_MIN_ROWS + 1000


def clustered(n: int, d: int = 136, prototypes: int = 60, seed: int = 0) -> np.ndarray:
    """Noisy copies of smooth positive prototypes (like normalised pose clips)."""
    rng = np.random.default_rng(seed)
    proto = np.cumsum(rng.normal(size=(prototypes, d)), axis=1)
    proto -= proto.min(axis=1, keepdims=True)
    rows = proto[rng.integers(0, prototypes, n)] + rng.normal(size=(n, d))
    return rows.astype(np.float32)


def with_duplicates(x: np.ndarray) -> np.ndarray:
    """x with rows 10 and 4000 copied onto rows 3000 and 5000 (exact ties)."""
    x = x.copy()
    x[3000], x[5000] = x[10], x[4000]
    return x


def plain(xn: np.ndarray) -> np.ndarray:
    """Neighbours by the plain block pass (finch-clust's dense arithmetic)."""
    return _exact_cpu(xn, np.arange(xn.shape[0]), NeighborConfig())[0]


def test_pruned_search_finds_the_same_neighbours_as_the_full_pass() -> None:
    xn = l2_normalize(with_duplicates(clustered(ROWS)))
    found = pruned_exact_first_neighbors(xn, nprobe=2, iterations=10, seed=0)
    assert found is not None
    np.testing.assert_array_equal(found[0], exact_first_neighbors_float32(xn)[0])


def test_where_paths_differ_the_neighbours_are_tied_within_float32_rounding() -> None:
    xn = l2_normalize(clustered(ROWS, seed=5))  # a seed with one such near-tie
    found = pruned_exact_first_neighbors(xn, nprobe=2, iterations=10, seed=0)
    assert found is not None
    reference = plain(xn)
    differ = np.flatnonzero(found[0] != reference)
    assert 0 < differ.size <= 3
    x64 = xn.astype(np.float64)
    ours = np.einsum("ij,ij->i", x64[differ], x64[found[0][differ]])
    theirs = np.einsum("ij,ij->i", x64[differ], x64[reference[differ]])
    assert np.all(np.abs(ours - theirs) < 1e-6)


def test_duplicate_rows_tie_to_the_lowest_index_in_every_path() -> None:
    xn = l2_normalize(with_duplicates(clustered(ROWS)))
    pruned = pruned_exact_first_neighbors(xn, nprobe=2, iterations=10, seed=0)
    assert pruned is not None
    for index in (pruned[0], exact_first_neighbors_float32(xn)[0], plain(xn)):
        assert (index[10], index[3000], index[4000], index[5000]) == (3000, 10, 5000, 4000)


def test_pruned_search_ranks_float64_rows_like_the_plain_pass() -> None:
    xn = l2_normalize(clustered(ROWS, seed=1).astype(np.float64))
    found = pruned_exact_first_neighbors(xn, nprobe=2, iterations=10, seed=0)
    assert found is not None
    np.testing.assert_array_equal(found[0], plain(xn))


def test_pruned_search_gives_up_on_rows_without_structure() -> None:
    xn = l2_normalize(np.random.default_rng(2).random((ROWS, 64), dtype=np.float32) - 0.5)
    assert pruned_exact_first_neighbors(xn, nprobe=2, iterations=10, seed=0) is None
    # The public search then falls back to a full pass and still equals the plain one.
    np.testing.assert_array_equal(first_neighbors(xn, NeighborConfig(mode="exact")), plain(xn))


def test_symmetric_pass_equals_the_plain_pass() -> None:
    xn = l2_normalize(np.random.default_rng(3).random((3000, 48), dtype=np.float32))
    index, _, unresolved = exact_first_neighbors_float32(xn, block_rows=256)
    assert unresolved.size == 0
    np.testing.assert_array_equal(index, plain(xn))


def test_rows_below_similarity_one_half_are_left_to_the_plain_pass() -> None:
    xn = l2_normalize(np.random.default_rng(4).normal(size=(600, 64)).astype(np.float32))
    _, _, unresolved = exact_first_neighbors_float32(xn, block_rows=128)
    assert unresolved.size > 0  # centred Gaussian rows are nearly orthogonal
    np.testing.assert_array_equal(first_neighbors(xn, NeighborConfig(mode="exact")), plain(xn))


@pytest.mark.parametrize("pruning", [True, False])
def test_finch_on_rows_large_enough_to_prune_equals_finch_clust(pruning: bool) -> None:
    x = clustered(ROWS, seed=6)  # no first-neighbour near-ties (see the module doc)
    theirs, counts, _ = FINCH(x, ann_threshold=10**9, verbose=False)
    ours = finch(x, neighbors=NeighborConfig(mode="exact", exact_pruning=pruning))
    assert ours.num_clusters == [int(c) for c in counts]
    for level, labels in enumerate(ours.partitions):
        _, ours_canon = np.unique(labels, return_inverse=True)
        pairs = set(zip(ours_canon.tolist(), theirs[:, level].tolist(), strict=True))
        assert len(pairs) == counts[level]  # a bijection between the two labelings


def test_ivf_search_is_deterministic_and_nearly_exact_on_clustered_rows() -> None:
    x = clustered(ROWS, seed=6)
    config = NeighborConfig(mode="ann", ivf_nprobe=2)
    first, second = first_neighbors(x, config), first_neighbors(x, config)
    np.testing.assert_array_equal(first, second)
    assert np.mean(first == plain(l2_normalize(x))) >= 0.99
