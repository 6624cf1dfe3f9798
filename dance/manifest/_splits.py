"""Seeded, order-independent per-class picks (how a val split is carved from train)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence


def stratified_pick(
    ids_by_class: Mapping[object, Sequence[str]], fraction: float, seed: int
) -> set[str]:
    """Pick round(fraction * n) ids per class (>= 1 when n >= 2, always leaving one), seeded.

    Selection ranks ids by a hash of (seed, video_id), so it does not depend on input order,
    and adding videos to one class never changes the pick of another.
    """
    chosen: set[str] = set()
    for ids in ids_by_class.values():
        n = len(ids)
        count = math.floor(fraction * n + 0.5)
        if n >= 2 and fraction > 0:
            count = max(count, 1)
        count = min(count, n - 1) if n else 0
        ranked = sorted(ids, key=lambda video_id: _rank_key(seed, video_id))
        chosen.update(ranked[:count])
    return chosen


def _rank_key(seed: int, video_id: str) -> bytes:
    """A seeded pseudo-random but stable sort key for one video id."""
    return hashlib.sha256(f"{seed}\x00{video_id}".encode()).digest()
