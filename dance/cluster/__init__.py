"""FINCH clustering at scale: first-neighbour search (exact or faiss ANN) and the hierarchy."""

from dance.cluster._finch import FinchResult, cluster_means, finch
from dance.cluster._neighbors import (
    NeighborConfig,
    first_neighbors,
    first_neighbors_with_distance,
    l2_normalize,
    recall_at_1,
)

__all__ = [
    "FinchResult",
    "NeighborConfig",
    "cluster_means",
    "finch",
    "first_neighbors",
    "first_neighbors_with_distance",
    "l2_normalize",
    "recall_at_1",
]
