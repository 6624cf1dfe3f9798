"""FINCH clustering at scale: first-neighbour search (exact or faiss ANN) and the hierarchy."""

from dance.cluster._exact_plain import l2_normalize
from dance.cluster._finch import FinchResult, cluster_means, finch
from dance.cluster._memory import (
    FinchMemoryError,
    MemoryEstimate,
    available_memory_bytes,
    estimate_finch_memory,
)
from dance.cluster._neighbors import first_neighbors, first_neighbors_with_distance, recall_at_1
from dance.config import NeighborConfig

__all__ = [
    "FinchMemoryError",
    "FinchResult",
    "MemoryEstimate",
    "NeighborConfig",
    "available_memory_bytes",
    "cluster_means",
    "estimate_finch_memory",
    "finch",
    "first_neighbors",
    "first_neighbors_with_distance",
    "l2_normalize",
    "recall_at_1",
]
