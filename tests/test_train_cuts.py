"""The clip cut and the interpretability cut (hand-computed, boundary included)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from two_worker_helpers import run_two_workers

from dance.train._cuts import CutResult, DroppedConcept, clip_cut, interpretability_cut

# Top 2 per column: "a" 0.3, 0.2 -> 0.25; "b" 0.2, 0.2 -> 0.2 (the threshold: dropped);
# "c" 0.15, 0.1 -> 0.125.
LABELS = [[0.1, 0.2, 0.05], [0.3, 0.2, 0.15], [0.2, 0.1, 0.1], [0.0, 0.1, 0.0]]


def _f32(rows: list) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


def test_clip_cut_drops_concepts_whose_top_k_mean_is_at_or_below_the_threshold():
    cut = clip_cut(_f32(LABELS), ["a", "b", "c"], threshold=0.2, top_k=2)
    assert cut.kept == (0,)
    assert cut.kept_names == ("a",)
    assert [(d.index, d.name, d.rule) for d in cut.dropped] == [
        (1, "b", "clip_cut"), (2, "c", "clip_cut")
    ]
    assert [d.value for d in cut.dropped] == pytest.approx([0.2, 0.125], abs=1e-7)
    assert all(d.threshold == 0.2 for d in cut.dropped)


def test_clip_cut_uses_the_top_five_by_default():
    # "rare": one clear video, 0.9 / 5 = 0.18; "seen": 0.9 + 4 x 0.1 = 1.3, / 5 = 0.26.
    labels = torch.tensor([[0.9, 0.9], [0.0, 0.1], [0.0, 0.1], [0.0, 0.1], [0.0, 0.1],
                           [0.0, 0.0]], dtype=torch.float64)
    cut = clip_cut(labels, ["rare", "seen"])
    assert cut.kept_names == ("seen",)
    assert cut.dropped[0].value == pytest.approx(0.18, abs=1e-15)


def test_clip_cut_with_fewer_rows_than_k_averages_all_rows():
    cut = clip_cut(torch.tensor([[0.1], [0.5]], dtype=torch.float64), ["a"], 0.3, top_k=5)
    assert cut.dropped[0].value == pytest.approx(0.3, abs=1e-15)


def test_interpretability_cut_drops_similarities_at_or_below_the_threshold_and_nan():
    similarity = torch.tensor([0.31, 0.3, -0.5, math.nan], dtype=torch.float32)
    cut = interpretability_cut(similarity, ["w", "x", "y", "z"], threshold=0.3)
    assert cut.kept == (0,)
    assert [(d.name, d.rule) for d in cut.dropped] == [
        ("x", "interpretability_cut"), ("y", "interpretability_cut"),
        ("z", "interpretability_cut"),
    ]


def test_cut_result_to_json_is_plain_json_with_null_for_a_non_finite_value():
    result = CutResult(
        kept=(0,),
        kept_names=("w",),
        dropped=(DroppedConcept(1, "x", "interpretability_cut", 0.25, 0.3),
                 DroppedConcept(2, "z", "interpretability_cut", math.nan, 0.3)),
    )
    text = json.dumps(result.to_json(), allow_nan=False)
    assert json.loads(text) == {
        "kept": [0],
        "kept_names": ["w"],
        "dropped": [
            {"index": 1, "name": "x", "rule": "interpretability_cut", "value": 0.25,
             "threshold": 0.3},
            {"index": 2, "name": "z", "rule": "interpretability_cut", "value": None,
             "threshold": 0.3},
        ],
    }


def test_cut_result_reads_back_from_its_json():
    cut = clip_cut(_f32(LABELS), ["a", "b", "c"], threshold=0.2, top_k=2)
    assert CutResult.from_json(json.loads(json.dumps(cut.to_json()))) == cut


def test_cuts_refuse_a_name_count_that_differs_from_the_concepts():
    with pytest.raises(ValueError, match="2 names"):
        interpretability_cut(torch.zeros(3), ["a", "b"])


# Rank 0 holds one row (fewer than k = 3), rank 1 the other four; the top 3 of column 0
# (0.9, 0.5, 0.4) come from both, so a per-worker top-k would give a different mean.
SHARDED = [[0.9, 0.0], [0.5, 0.3], [0.1, 0.3], [0.4, 0.3], [0.0, 0.2]]


def _clip_cut_on_shard(collective, rank: int) -> dict[str, torch.Tensor]:
    rows = torch.tensor(SHARDED[:1] if rank == 0 else SHARDED[1:], dtype=torch.float64)
    cut = clip_cut(rows, ["a", "b"], threshold=0.58, top_k=3, collective=collective)
    return {
        "kept": torch.tensor(cut.kept),
        "dropped_values": torch.tensor([d.value for d in cut.dropped], dtype=torch.float64),
    }


@pytest.mark.slow
def test_two_workers_cut_by_the_global_top_k():
    whole = clip_cut(torch.tensor(SHARDED, dtype=torch.float64), ["a", "b"], 0.58, 3)
    # "a": (0.9 + 0.5 + 0.4) / 3 = 0.6 kept; "b": (0.3 + 0.3 + 0.3) / 3 = 0.3 dropped.
    assert whole.kept == (0,)
    for rank in run_two_workers(_clip_cut_on_shard):
        assert rank["kept"].tolist() == [0]
        assert rank["dropped_values"].tolist() == pytest.approx([0.3], abs=1e-15)
