"""Exact first-neighbour search paths: pruned by IVF lists, symmetric blocks, plain blocks.

Every path finds the truly nearest row (float64; exact ties to the lowest index): the
fast float32 paths flag rows whose two best candidates are within float32 rounding of
each other, and those are decided in float64. Pruning gives up on rows without
structure; float64 rows and rows below similarity 0.5 follow finch-clust's arithmetic;
FINCH on rows large enough to prune equals finch-clust where finch-clust's float32
rounding picks the nearest row too; where it does not, its pick is farther by < 1e-6.
"""

from __future__ import annotations

import numpy as np
import pytest
from finch import FINCH
from sklearn.metrics import pairwise_distances

from dance.cluster import FinchResult, NeighborConfig, finch, first_neighbors, l2_normalize
from dance.cluster._exact_plain import plain_first_neighbors
from dance.cluster._exact_pruned import PruningPlan, plan_pruning
from dance.cluster._exact_symmetric import exact_first_neighbors_float32
from dance.cluster._lists import ivf_lists, train_quantizer
from dance.cluster._neighbors import MAX_SCANNED_FRACTION, PRUNING_MIN_ROWS

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
    """Neighbours by the plain block pass (finch-clust's dense float32 arithmetic)."""
    return plain_first_neighbors(xn, np.arange(xn.shape[0]), budget=2**24, max_rows=4096)[0]


def pruning_plan(xn: np.ndarray) -> PruningPlan | None:
    """The pruning plan of the default config for unit rows `xn`."""
    quantizer = train_quantizer(
        xn, ivf_lists(xn.shape[0], None), train_rows=0, iterations=10, seed=0
    )
    return plan_pruning(xn, quantizer, iterations=10, seed=0, budget=2**28)


def nearest_in_float64(xn: np.ndarray) -> np.ndarray:
    """The truly nearest other row (float64; all similarities >= 1 tie; lowest index)."""
    sims = np.minimum(xn.astype(np.float64) @ xn.T.astype(np.float64), 1.0)
    np.fill_diagonal(sims, -np.inf)
    return np.argmax(sims >= sims.max(axis=1, keepdims=True) - 1e-12, axis=1)


def assert_same_hierarchy(
    ours: FinchResult, theirs: np.ndarray, counts: np.ndarray, requested: np.ndarray
) -> None:
    """Every level and the requested partition of `ours` equal finch-clust's, up to labels."""
    assert ours.num_clusters == [int(c) for c in counts]
    for level, labels in enumerate([*ours.partitions, ours.requested]):
        theirs_level = requested if level == len(ours.partitions) else theirs[:, level]
        _, ours_canon = np.unique(labels, return_inverse=True)
        pairs = set(zip(ours_canon.tolist(), theirs_level.tolist(), strict=True))
        assert len(pairs) == len(np.unique(theirs_level))  # a bijection


EXACT, FULL_PASS = NeighborConfig(mode="exact"), NeighborConfig(mode="exact", exact_pruning=False)
CONFIGS = pytest.mark.parametrize("config", [EXACT, FULL_PASS], ids=["pruned", "full-pass"])


def test_pruning_applies_to_clustered_rows() -> None:
    plan = pruning_plan(l2_normalize(clustered(ROWS)))
    assert plan is not None and plan.scanned_fraction <= MAX_SCANNED_FRACTION


@CONFIGS
@pytest.mark.parametrize("seed", [5, 8])  # both hold rows whose two best are float32-close
def test_exact_search_finds_the_truly_nearest_row(config: NeighborConfig, seed: int) -> None:
    xn = l2_normalize(clustered(ROWS, seed=seed))
    np.testing.assert_array_equal(first_neighbors(xn, config), nearest_in_float64(xn))


def test_rows_float32_ranks_wrongly_are_flagged_as_near_ties() -> None:
    xn = l2_normalize(clustered(ROWS, seed=8))
    index, _, _, near = exact_first_neighbors_float32(xn)
    wrong = np.flatnonzero(index != nearest_in_float64(xn))
    assert wrong.size > 0 and set(wrong) <= set(near)


@CONFIGS
def test_duplicate_rows_tie_to_the_lowest_index(config: NeighborConfig) -> None:
    index = first_neighbors(with_duplicates(clustered(ROWS)), config)
    assert (index[10], index[3000], index[4000], index[5000]) == (3000, 10, 5000, 4000)


def test_float64_rows_are_ranked_like_the_plain_pass() -> None:
    xn = l2_normalize(clustered(ROWS, seed=1).astype(np.float64))
    plan = pruning_plan(xn)
    assert plan is not None and plan.scanned_fraction <= MAX_SCANNED_FRACTION
    np.testing.assert_array_equal(first_neighbors(xn, EXACT), plain(xn))


def test_pruning_gives_up_on_rows_without_structure() -> None:
    xn = l2_normalize(np.random.default_rng(2).random((ROWS, 64), dtype=np.float32))
    plan = pruning_plan(xn)
    assert plan is None or plan.scanned_fraction > MAX_SCANNED_FRACTION
    # The public search then makes a full pass, with the same answer.
    np.testing.assert_array_equal(first_neighbors(xn, EXACT), nearest_in_float64(xn))


def test_rows_below_similarity_one_half_are_left_to_the_plain_pass() -> None:
    xn = l2_normalize(np.random.default_rng(4).normal(size=(600, 64)).astype(np.float32))
    _, _, low, _ = exact_first_neighbors_float32(xn, block_rows=128)
    assert low.size > 0  # centred Gaussian rows are nearly orthogonal
    np.testing.assert_array_equal(first_neighbors(xn, FULL_PASS), plain(xn))


@CONFIGS
def test_finch_on_rows_large_enough_to_prune_equals_finch_clust(config: NeighborConfig) -> None:
    x = clustered(ROWS, seed=5)  # finch-clust's float32 picks the nearest row everywhere
    theirs, counts, _ = FINCH(x, ann_threshold=10**9, verbose=False)
    ours = finch(x, neighbors=config)
    assert ours.num_clusters == [int(c) for c in counts]
    for level, labels in enumerate(ours.partitions):
        _, ours_canon = np.unique(labels, return_inverse=True)
        pairs = set(zip(ours_canon.tolist(), theirs[:, level].tolist(), strict=True))
        assert len(pairs) == counts[level]  # a bijection between the two labelings


@CONFIGS
def test_finch_equals_finch_clust_given_exact_first_neighbours(config: NeighborConfig) -> None:
    x = clustered(ROWS, seed=8)  # finch-clust's own float32 search errs on 3 rows here
    xn = l2_normalize(x)
    theirs, counts, requested = FINCH(
        x, initial_rank=nearest_in_float64(xn), req_clust=20, ann_threshold=10**9, verbose=False
    )
    ours = finch(x, num_clusters=20, neighbors=config)
    assert_same_hierarchy(ours, theirs, counts, requested)


def test_where_finch_clust_picks_another_neighbour_it_is_farther_by_rounding_only() -> None:
    x = clustered(ROWS, seed=8)
    dense = pairwise_distances(x, x, metric="cosine")  # finch-clust's first level
    np.fill_diagonal(dense, 1e12)
    theirs, ours = np.argmin(dense, axis=1), first_neighbors(x, EXACT)
    differ = np.flatnonzero(ours != theirs)
    assert 0 < differ.size <= 5
    unit = l2_normalize(x).astype(np.float64)  # the float32 unit rows both searches see
    gain = np.einsum("ij,ij->i", unit[differ], unit[ours[differ]] - unit[theirs[differ]])
    assert np.all((gain > 0) & (gain < 1e-6))


def test_ivf_search_is_deterministic_and_nearly_exact_on_clustered_rows() -> None:
    x = clustered(ROWS, seed=6)
    config = NeighborConfig(mode="ann")  # nprobe 4 (of 77 lists)
    first, second = first_neighbors(x, config), first_neighbors(x, config)
    np.testing.assert_array_equal(first, second)
    assert np.mean(first == plain(l2_normalize(x))) >= 0.99


def positive_orthant(n: int, d: int = 136, centres: int = 200, seed: int = 0) -> np.ndarray:
    """Rows around centres drawn uniformly in [0, 1]^d, plus Gaussian noise (0.1): every
    row points roughly the same way, as min-max normalised pose clips do."""
    rng = np.random.default_rng(seed)
    middle = rng.random((centres, d))
    return (middle[rng.integers(0, centres, n)] + 0.1 * rng.normal(size=(n, d))).astype(np.float32)


def test_centred_lists_keep_positive_orthant_rows_from_piling_into_one_list() -> None:
    import faiss

    from dance.cluster._lists import Quantizer

    xn = l2_normalize(positive_orthant(10_000))
    nlist = ivf_lists(10_000, None)
    centred = train_quantizer(xn, nlist, train_rows=0, iterations=10, seed=0)
    plain = faiss.Kmeans(136, nlist, niter=10, spherical=True, seed=0, verbose=False)
    plain.train(np.ascontiguousarray(xn[np.random.default_rng(0).choice(10_000, 4000, False)]))
    uncentred = Quantizer(plain.centroids, np.zeros(nlist, dtype=np.float32))

    def most_probed(quantizer: Quantizer) -> float:
        """Fraction of rows probing the most probed list (nprobe 4)."""
        return np.bincount(quantizer.nearest(xn, 4, 2**28).ravel()).max() / 10_000

    assert most_probed(uncentred) > 0.3  # one list near the rows' common axis
    assert most_probed(centred) < 0.1


def test_pruning_pays_on_positive_orthant_rows() -> None:
    plan = pruning_plan(l2_normalize(positive_orthant(ROWS)))
    assert plan is not None and plan.scanned_fraction < 0.05


@CONFIGS
def test_finch_on_positive_orthant_rows_equals_finch_clust_given_exact_first_neighbours(
    config: NeighborConfig,
) -> None:
    x = positive_orthant(ROWS, seed=3)
    theirs, counts, requested = FINCH(
        x,
        initial_rank=nearest_in_float64(l2_normalize(x)),
        req_clust=50,
        ann_threshold=10**9,
        verbose=False,
    )
    ours = finch(x, num_clusters=50, neighbors=config)
    assert_same_hierarchy(ours, theirs, counts, requested)


def test_auto_mode_finds_the_truly_nearest_row_on_positive_orthant_rows() -> None:
    x = positive_orthant(ROWS, seed=4)
    np.testing.assert_array_equal(
        first_neighbors(x, NeighborConfig()), nearest_in_float64(l2_normalize(x))
    )
