"""Small, tight lists for pruned exact search: the coarse lists, split until compact.

Pruning (``_exact_pruned``) skips list B for the rows of list A when B's rows are all
farther than a neighbour already found, judged from the centroids' angle and the two
lists' radii. That needs radii small against the gaps between clusters. With sqrt(n)
lists, rows drawn around more centres than that share lists and every radius spans
several clusters: on 100,000 positive-orthant rows around 2,000 centres (noise 0.1) the
316 coarse lists had a median radius of 28 degrees, wider than the 13 degree first
neighbours, and pruning could skip almost nothing.

So each coarse list is split by centred spherical k-means into lists of about
FINE_LIST_ROWS rows, and then every list that is loose for its own rows (radius above
LOOSE_RADIUS times the median angle from a member to its nearest other member) is
halved, and its halves checked again, for up to LOOSE_ROUNDS rounds: a list that
straddles two clusters is what makes every row scan it, and the rule follows the data's
own scale (FINCH's cluster means at later levels sit much closer together than the rows).
On the same rows that gives about 2,400 lists of median radius 10 degrees, and pruning
scans under 1 % of the pairs. The k-means here is a small seeded numpy loop per list, run
on a few threads; each split is seeded by its list, so the lists are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from dance.cluster._lists import InvertedLists, unit_rows
from dance.cluster._row_best import map_in_threads
from dance.cluster._tiles import TileCost, note_block, tile_sizes

# Rows per list after splitting: enough for an efficient matrix product per list, few
# enough that a list rarely straddles two clusters of real data.
FINE_LIST_ROWS = 128
# A list whose radius exceeds this many times its rows' median nearest-member angle is
# halved; halves are checked again, up to LOOSE_ROUNDS times (64 rows -> 1 at most).
LOOSE_RADIUS = 1.5
LOOSE_ROUNDS = 6
# Rows of a list whose nearest other member is measured (a seeded sample of larger lists).
_SPACING_ROWS = 256
# Members this similar to a row are copies of it (float32 products of equal unit rows).
_COPY_SIMILARITY = 1.0 - 1e-6
# Lists smaller than this are never split.
MIN_SPLIT_ROWS = 8
# Cosine slack on every bound: float32 products of unit rows err by ~1e-6.
MARGIN = 1e-4


def angle(cosine: np.ndarray) -> np.ndarray:
    """Angle of a float64 cosine, clipped to [-1, 1]."""
    return np.arccos(np.clip(cosine, -1.0, 1.0))


@dataclass(frozen=True)
class ListGeometry:
    """Per list: a unit centroid and a radius (largest member angle, widened).

    Centroids are float32: a float32 product of unit rows errs by far less than MARGIN,
    and the bounds' products run twice as fast as in float64.
    """

    centroids: np.ndarray
    radius: np.ndarray


def list_geometry(xn: np.ndarray, home: np.ndarray, count: int, budget: int) -> ListGeometry:
    """Centroid (normalised member sum) and radius of every list; empty lists get radius 0."""
    n = xn.shape[0]
    membership = sp.csr_matrix((np.ones(n, dtype=xn.dtype), (home, np.arange(n))), shape=(count, n))
    centroids = unit_rows(np.asarray(membership @ xn, dtype=np.float64)).astype(np.float32)
    radius = np.zeros(count, dtype=np.float64)
    step, _ = tile_sizes(n, 1, TileCost(0, 12 * xn.shape[1]), budget)
    for start in range(0, n, step):
        rows = slice(start, start + step)
        cosine = np.einsum(
            "ij,ij->i", np.asarray(xn[rows], dtype=np.float32), centroids[home[rows]]
        )
        np.maximum.at(radius, home[rows], angle(cosine.astype(np.float64) - MARGIN))
    return ListGeometry(centroids, radius)


def _spherical_kmeans(
    rows: np.ndarray, parts: int, iterations: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(mean, centroids) of centred spherical k-means on float32 `rows`; seeded."""
    mu = rows.mean(axis=0, dtype=np.float64).astype(np.float32)
    centred = unit_rows(rows - mu)
    m = centred.shape[0]
    centroids = centred[np.sort(rng.choice(m, size=parts, replace=False))]
    members = np.zeros((parts, m), dtype=np.float32)
    for _ in range(iterations):
        labels = np.argmax(centred @ centroids.T, axis=1)
        members[:] = 0
        members[labels, np.arange(m)] = 1
        sums = members @ centred
        norms = np.sqrt(np.einsum("ij,ij->i", sums, sums))
        # An emptied centroid keeps its place; the next assignment may refill it.
        filled = norms > 0
        centroids[filled] = sums[filled] / norms[filled, None]
    return mu, centroids


def _split(
    xn: np.ndarray,
    members: np.ndarray,
    parts: int,
    *,
    iterations: int,
    seed: tuple[int, ...],
    budget: int,
) -> np.ndarray:
    """Labels (0..parts-1) splitting `members` into `parts` lists by centred k-means.

    k-means trains on as many members as fit the budget (a seeded sample of a huge list);
    every member then goes to its nearest centroid, as in Quantizer.nearest.
    """
    parts = min(parts, members.size)
    if parts < 2:
        return np.zeros(members.size, dtype=np.int64)
    rng = np.random.default_rng(seed)
    # float32 rows and their centred copy, the (rows, parts) products and memberships.
    fits = max(parts, budget // (8 * xn.shape[1] + 8 * parts))
    train = members if members.size <= fits else np.sort(rng.choice(members, fits, False))
    note_block(train.size * (8 * xn.shape[1] + 8 * parts))
    rows = np.asarray(xn[train], dtype=np.float32)
    mu, centroids = _spherical_kmeans(rows, parts, iterations, rng)
    offsets = centroids @ mu
    labels = np.empty(members.size, dtype=np.int64)
    cost = TileCost(4, 4 * xn.shape[1])
    step, _ = tile_sizes(members.size, parts, cost, budget)
    note_block(cost.of(min(step, members.size), parts))
    for start in range(0, members.size, step):
        rows = np.asarray(xn[members[start : start + step]], dtype=np.float32)
        labels[start : start + rows.shape[0]] = np.argmax(rows @ centroids.T - offsets, axis=1)
    return labels


def _loose(xn: np.ndarray, members: np.ndarray, rng: np.random.Generator, budget: int) -> bool:
    """Whether a list's radius exceeds LOOSE_RADIUS x its rows' median nearest-member angle
    (both measured on a seeded sample of a list too large for the budget)."""
    if members.size < MIN_SPLIT_ROWS:
        return False
    fits = max(2, budget // (8 * xn.shape[1] + 4 * _SPACING_ROWS))
    if members.size > fits:
        members = np.sort(rng.choice(members, fits, replace=False))
    note_block(members.size * (8 * xn.shape[1] + 4 * _SPACING_ROWS))
    rows = np.asarray(xn[members], dtype=np.float32)
    centroid = unit_rows(rows.sum(axis=0, dtype=np.float64)[None, :])[0].astype(np.float32)
    radius = angle(float((rows @ centroid).min()))
    queries = np.sort(rng.choice(members.size, min(_SPACING_ROWS, members.size), replace=False))
    sims = rows[queries] @ rows.T
    sims[np.arange(queries.size), queries] = -np.inf
    # Copies of a row say nothing about the spacing: the nearest member that is no copy.
    sims[sims >= _COPY_SIMILARITY] = -np.inf
    nearest = sims.max(axis=1)
    nearest = nearest[np.isfinite(nearest)]
    return bool(nearest.size and radius > LOOSE_RADIUS * np.median(angle(nearest)))


def _relabel(home: np.ndarray) -> tuple[np.ndarray, int]:
    """Labels made consecutive (0..count-1) in order of first label value; and the count."""
    used, home = np.unique(home, return_inverse=True)
    return home.astype(np.int64), int(used.size)


def fine_lists(
    xn: np.ndarray,
    coarse_home: np.ndarray,
    coarse_count: int,
    *,
    iterations: int,
    seed: int,
    budget: int,
) -> tuple[InvertedLists, ListGeometry]:
    """Split the coarse lists into compact lists (module doc): (lists, their geometry).

    Splits run on a few threads (single-threaded BLAS each); each is seeded by its list
    and round, so the lists do not depend on which thread split them.
    """

    def split(job: tuple[np.ndarray, int, tuple[int, ...]]) -> np.ndarray | None:
        """Labels of one job (members, parts, seed); parts 0: halve only if loose."""
        members, parts, job_seed = job
        if parts == 0:
            if not _loose(xn, members, np.random.default_rng(job_seed), budget):
                return None
            parts = 2
        return _split(xn, members, parts, iterations=iterations, seed=job_seed, budget=budget)

    coarse = InvertedLists.from_home(coarse_home, coarse_count)
    jobs = [
        (coarse.members(lst), -(-int(size) // FINE_LIST_ROWS), (seed, 0, lst))
        for lst, size in enumerate(coarse.sizes())
        if size
    ]
    home = np.zeros(coarse_home.size, dtype=np.int64)
    count = 0
    checks = []
    for (members, parts, _), labels in zip(jobs, map_in_threads(jobs, split), strict=True):
        home[members] = count + labels
        checks += [members[labels == part] for part in range(parts)]
        count += parts
    for round_ in range(1, LOOSE_ROUNDS + 1):
        jobs = [
            (members, 0, (seed, round_, int(home[members[0]])))
            for members in checks
            if members.size
        ]
        checks = []
        for (members, _, _), labels in zip(jobs, map_in_threads(jobs, split), strict=True):
            if labels is None or labels.min() == labels.max():
                continue
            home[members[labels == 1]] = count
            count += 1
            checks += [members[labels == 0], members[labels == 1]]
        if not checks:
            break
    home, count = _relabel(home)
    return InvertedLists.from_home(home, count), list_geometry(xn, home, count, budget)
