"""DANCE-Synth ground truth per key clip: the motion primitive most of its frames show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dance import storage

ClipKey = tuple[str, int]


class MissingGroundTruth(ValueError):
    """The ground truth has no primitives for a clip's video."""


@dataclass(frozen=True)
class ClipPrimitives:
    """Per clip: majority primitive (ties: lowest id), its share of frames, distinct count."""

    majority: np.ndarray
    purity: np.ndarray
    distinct: np.ndarray


def read_frame_primitives(truth_uri: str) -> dict[str, np.ndarray]:
    """video_id -> per-frame primitive ids, from DANCE-Synth's ground_truth.parquet."""
    truth = storage.read_parquet(truth_uri, columns=["video_id", "primitives"])
    return {
        vid: np.asarray(prims, dtype=np.int64)
        for vid, prims in zip(
            truth["video_id"].to_pylist(), truth["primitives"].to_pylist(), strict=True
        )
    }


def clip_frame_windows(clips: pa.Table) -> dict[ClipKey, tuple[int, int]]:
    """(video_id, clip_index) -> [start, end) frame window of every row of a clips table."""
    return {
        (vid, idx): (start, end)
        for vid, idx, start, end in zip(
            clips["video_id"].to_pylist(),
            clips["clip_index"].to_pylist(),
            clips["start"].to_pylist(),
            clips["end"].to_pylist(),
            strict=True,
        )
    }


def clip_primitives(
    keys: Sequence[ClipKey],
    windows: dict[ClipKey, tuple[int, int]],
    per_frame: dict[str, np.ndarray],
) -> ClipPrimitives:
    """Majority primitive, purity and distinct primitives of each clip's frames, in key order."""
    majority = np.empty(len(keys), dtype=np.int64)
    purity = np.empty(len(keys), dtype=np.float64)
    distinct = np.empty(len(keys), dtype=np.int64)
    for i, (vid, idx) in enumerate(keys):
        frames = per_frame.get(vid)
        if frames is None or frames.size == 0:
            raise MissingGroundTruth(
                f"the ground truth has no primitives for video {vid!r}; use the "
                "ground_truth.parquet of the DANCE-Synth dataset the clips were made from"
            )
        start, end = windows[(vid, idx)]
        # Clamped so a window past the last annotated frame still reads one frame.
        segment = frames[min(start, frames.size - 1) : max(min(end, frames.size), start + 1)]
        counts = np.bincount(segment)
        majority[i] = int(np.argmax(counts))
        purity[i] = counts.max() / segment.size
        distinct[i] = np.count_nonzero(counts)
    return ClipPrimitives(majority=majority, purity=purity, distinct=distinct)
