"""A key clip's ground-truth primitive: the one most of its frames show."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from dance.synth.clip_primitives import (
    MissingGroundTruth,
    clip_frame_windows,
    clip_primitives,
)

PER_FRAME = {"v1": np.array([3, 3, 3, 5, 5, 7, 7, 7]), "v2": np.array([2, 1, 1, 2])}


def test_majority_purity_and_distinct_count_of_each_window() -> None:
    windows = {("v1", 0): (0, 4), ("v1", 1): (3, 8), ("v2", 0): (0, 4)}
    found = clip_primitives([("v1", 0), ("v1", 1), ("v2", 0)], windows, PER_FRAME)
    assert found.majority.tolist() == [3, 7, 1]  # v2 ties 1 and 2: the lower id
    assert found.purity.tolist() == [0.75, 0.6, 0.5]
    assert found.distinct.tolist() == [2, 2, 2]


def test_a_window_past_the_last_annotated_frame_reads_the_last_frame() -> None:
    found = clip_primitives([("v2", 0)], {("v2", 0): (6, 9)}, PER_FRAME)
    assert found.majority.tolist() == [2] and found.purity.tolist() == [1.0]


def test_a_video_missing_from_the_ground_truth_is_named() -> None:
    with pytest.raises(MissingGroundTruth, match="'v9'"):
        clip_primitives([("v9", 0)], {("v9", 0): (0, 4)}, PER_FRAME)


def test_windows_are_keyed_by_video_and_clip_index() -> None:
    clips = pa.table(
        {"video_id": ["a", "a"], "clip_index": [0, 1], "start": [0, 10], "end": [16, 26]}
    )
    assert clip_frame_windows(clips) == {("a", 0): (0, 16), ("a", 1): (10, 26)}
