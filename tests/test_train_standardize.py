"""Standardising concept activations with the train mean and unbiased std (hand-computed)."""

from __future__ import annotations

import math

import pytest
import torch
from two_worker_helpers import run_two_workers

from dance.errors import InputError
from dance.train._standardize import Standardizer

# Column 0: 1, 2, 6 -> mean 3, squared deviations 4 + 1 + 9 = 14, unbiased var 14 / 2 = 7.
# Column 1: 10, 10, 13 -> mean 11, squared deviations 1 + 1 + 4 = 6, unbiased var 6 / 2 = 3.
TRAIN = [[1.0, 10.0], [2.0, 10.0], [6.0, 13.0]]


def _t(rows: list[list[float]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def test_fit_takes_the_column_mean_and_the_unbiased_std():
    standardizer = Standardizer.fit(_t(TRAIN))
    assert standardizer.mean.tolist() == [3.0, 11.0]
    assert standardizer.std.tolist() == pytest.approx([math.sqrt(7), math.sqrt(3)], abs=1e-15)


def test_fit_keeps_the_activations_dtype():
    standardizer = Standardizer.fit(_t(TRAIN).to(torch.float32))
    assert standardizer.mean.dtype == standardizer.std.dtype == torch.float32


def test_apply_maps_the_mean_to_zero_and_one_std_above_it_to_one():
    standardizer = Standardizer.fit(_t(TRAIN))
    x = _t([[3.0, 11.0], [3.0 + math.sqrt(7), 11.0 - math.sqrt(3)]])
    expected = _t([[0.0, 0.0], [1.0, -1.0]])
    assert torch.allclose(standardizer.apply(x), expected, rtol=0, atol=1e-15)


def test_a_constant_concept_is_refused_with_its_index_and_name():
    constant = _t([[1.0, 5.0], [2.0, 5.0], [6.0, 5.0]])
    with pytest.raises(InputError, match=r"concept 1 \('a person swimming'\).*std 0.*cut"):
        Standardizer.fit(constant, names=["a ball", "a person swimming"])


def test_a_single_training_video_is_refused():
    with pytest.raises(InputError, match="at least 2 training videos"):
        Standardizer.fit(_t([[1.0, 2.0]]))


def test_apply_refuses_a_different_concept_count():
    with pytest.raises(ValueError, match="3 concepts"):
        Standardizer.fit(_t(TRAIN)).apply(torch.zeros(1, 3, dtype=torch.float64))


def _fit_on_shard(collective, rank: int) -> dict[str, torch.Tensor]:
    rows = _t(TRAIN)[:1] if rank == 0 else _t(TRAIN)[1:]
    standardizer = Standardizer.fit(rows, collective)
    return {"mean": standardizer.mean, "std": standardizer.std}


@pytest.mark.slow
def test_two_workers_fit_the_statistics_of_all_their_rows():
    whole = Standardizer.fit(_t(TRAIN))
    for rank in run_two_workers(_fit_on_shard):
        assert torch.allclose(rank["mean"], whole.mean, rtol=0, atol=1e-15)
        assert torch.allclose(rank["std"], whole.std, rtol=0, atol=1e-15)
