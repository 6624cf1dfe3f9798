"""Concept layers: seeded inits, the motion and language fitting loops, checkpoints, resume."""

from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from two_worker_helpers import run_two_workers

from dance.errors import InputError
from dance.train._concept_layers import (
    LanguageData,
    LayerSettings,
    LayerState,
    MotionData,
    fit_language_layer,
    fit_motion_layer,
    new_concept_layer,
    validation_similarity,
)

D, M = 8, 4


def _motion_problem(rows: int, seed: int) -> MotionData:
    """Labels a linear rule of the features gives, with one video in 8 unlabelled."""
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(rows, D, generator=generator)
    rule = torch.randn(M, D, generator=torch.Generator().manual_seed(99))
    targets = (features @ rule.T > 0).to(torch.float32)
    known = torch.arange(rows) % 8 != 7
    return MotionData(features, targets, known)


def _language_problem(rows: int, seed: int) -> LanguageData:
    """Pseudo labels a noisy linear function of the features."""
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(rows, D, generator=generator)
    rule = torch.randn(M, D, generator=torch.Generator().manual_seed(98))
    noise = 0.3 * torch.randn(rows, M, generator=generator)
    return LanguageData(features, torch.sigmoid(features @ rule.T + noise))


def _checkpoint_round_trip(state: LayerState) -> LayerState:
    """Through safetensors bytes and JSON text, as the job's checkpoint stores it."""
    tensors, meta = state.to_tensors()
    return LayerState.from_tensors(load_safetensors(save_safetensors(tensors)),
                                   json.loads(json.dumps(meta)))


# --- init ------------------------------------------------------------------------------

def test_new_concept_layer_is_a_float32_bias_free_linear_from_the_seed_alone():
    first = new_concept_layer(D, M, "xavier", seed=5)
    torch.manual_seed(123)
    second = new_concept_layer(D, M, "xavier", seed=5)
    assert first.bias is None and first.weight.dtype == torch.float32
    assert first.weight.shape == (M, D)
    assert torch.equal(first.weight, second.weight)
    assert not torch.equal(first.weight, new_concept_layer(D, M, "xavier", seed=6).weight)


def test_new_concept_layer_leaves_the_global_generator_alone():
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    new_concept_layer(D, M, "default", seed=1)
    assert torch.equal(torch.rand(3), expected)


def test_xavier_and_default_inits_stay_within_their_uniform_bounds():
    # Xavier uniform: sqrt(6 / (fan_in + fan_out)); torch's Linear default: 1 / sqrt(fan_in).
    xavier = new_concept_layer(300, 100, "xavier", seed=0).weight
    default = new_concept_layer(300, 100, "default", seed=0).weight
    assert xavier.abs().max() <= math.sqrt(6 / 400) and xavier.abs().max() > 0.95 * math.sqrt(
        6 / 400
    )
    assert default.abs().max() <= 1 / math.sqrt(300)
    assert default.abs().max() > 0.95 / math.sqrt(300)


# --- motion loop -----------------------------------------------------------------------

def test_motion_fit_lowers_train_and_validation_loss():
    settings = LayerSettings(lr=1e-2, steps=200, eval_every=50, seed=0)
    state = fit_motion_layer(_motion_problem(64, 1), _motion_problem(32, 2), settings)
    steps = [entry[0] for entry in state.history]
    assert steps == [50, 100, 150, 200] and state.finished and state.step == 200
    assert state.history[-1][1] < 0.5 * state.history[0][1]
    assert state.history[-1][2] < state.history[0][2]


def test_motion_fit_keeps_the_weights_of_the_best_validation():
    # Validation labels are the train labels flipped: the better the fit, the worse the
    # validation, so the best is the first check, not the last step.
    train = _motion_problem(32, 1)
    val = MotionData(train.features, 1 - train.targets, train.known)
    seen: list[LayerState] = []
    settings = LayerSettings(lr=1e-2, steps=60, eval_every=20, seed=0)
    state = fit_motion_layer(train, val, settings, on_eval=seen.append)
    assert [s.step for s in seen] == [20, 40, 60]
    assert state.best_step == 20 and state.step == 60
    assert torch.equal(state.best_weight, seen[0].weight)
    assert not torch.equal(state.weight, state.best_weight)
    assert state.best_val_loss == min(entry[2] for entry in state.history)


def test_motion_fit_validates_after_the_last_step_off_the_schedule():
    settings = LayerSettings(lr=1e-2, steps=25, eval_every=10, seed=0)
    state = fit_motion_layer(_motion_problem(16, 1), _motion_problem(16, 2), settings)
    assert [entry[0] for entry in state.history] == [10, 20, 25]


def test_motion_fit_refuses_training_data_without_any_motion_label():
    train = _motion_problem(16, 1)
    unlabelled = MotionData(train.features, train.targets, torch.zeros(16, dtype=torch.bool))
    settings = LayerSettings(lr=1e-2, steps=5, eval_every=5, seed=0)
    with pytest.raises(InputError, match="no train video has motion labels"):
        fit_motion_layer(unlabelled, train, settings)


# --- language loop ---------------------------------------------------------------------

def test_language_fit_stops_at_the_first_validation_that_does_not_improve():
    # Negated validation pseudo labels negate every cube, so the validation loss is minus
    # the train loss: the first check sets the best, the second cannot improve on it.
    train = _language_problem(64, 1)
    val = LanguageData(train.features, -train.targets)
    settings = LayerSettings(lr=1e-2, steps=1000, eval_every=10, seed=0)
    state = fit_language_layer(train, val, settings)
    assert [entry[0] for entry in state.history] == [10, 20]
    assert state.finished and state.step == 20 and state.best_step == 10
    assert state.history[1][2] >= state.history[0][2]


def test_language_fit_runs_to_the_step_budget_while_validation_improves():
    train = _language_problem(64, 1)
    settings = LayerSettings(lr=1e-3, steps=60, eval_every=20, seed=0)
    state = fit_language_layer(train, train, settings)
    assert [entry[0] for entry in state.history] == [20, 40, 60]
    assert state.best_step == 60 and torch.equal(state.best_weight, state.weight)


def test_language_fit_per_sample_trains_a_different_layer():
    train, val = _language_problem(64, 1), _language_problem(32, 2)
    per_concept = fit_language_layer(train, val, LayerSettings(1e-2, 40, 20, 0, "concept"))
    per_sample = fit_language_layer(train, val, LayerSettings(1e-2, 40, 20, 0, "sample"))
    assert not torch.allclose(per_concept.weight, per_sample.weight)


def test_validation_similarity_is_the_per_concept_cos3_of_the_layer_outputs():
    # Identity layer: the activations are the features. Hand-computed in test_train_losses:
    # columns (1, 2, 3) vs (0, 1, 5) give 35 / sqrt(1588); (0, 3, 0) vs (1, 0, 2), -9 / sqrt(132).
    layer = new_concept_layer(2, 2, "default", seed=0)
    with torch.no_grad():
        layer.weight.copy_(torch.eye(2))
    val = LanguageData(torch.tensor([[1.0, 0.0], [2.0, 3.0], [3.0, 0.0]]),
                       torch.tensor([[0.0, 1.0], [1.0, 0.0], [5.0, 2.0]]))
    assert validation_similarity(layer, val).tolist() == pytest.approx(
        [35 / math.sqrt(1588), -9 / math.sqrt(132)], abs=1e-6
    )


# --- checkpoints and resume -------------------------------------------------------------

def test_a_motion_fit_resumed_from_its_first_checkpoint_ends_bit_identical():
    train, val = _motion_problem(64, 1), _motion_problem(32, 2)
    settings = LayerSettings(lr=1e-2, steps=90, eval_every=30, seed=3)
    seen: list[LayerState] = []
    uninterrupted = fit_motion_layer(train, val, settings, on_eval=seen.append)
    resumed = fit_motion_layer(train, val, settings, resume=_checkpoint_round_trip(seen[0]))
    assert torch.equal(resumed.weight, uninterrupted.weight)
    assert torch.equal(resumed.best_weight, uninterrupted.best_weight)
    assert resumed.history == uninterrupted.history
    assert (resumed.step, resumed.best_step) == (uninterrupted.step, uninterrupted.best_step)


def test_a_language_fit_resumed_from_its_first_checkpoint_ends_bit_identical():
    train = _language_problem(64, 1)
    settings = LayerSettings(lr=1e-3, steps=60, eval_every=20, seed=3)
    seen: list[LayerState] = []
    uninterrupted = fit_language_layer(train, train, settings, on_eval=seen.append)
    resumed = fit_language_layer(train, train, settings, resume=_checkpoint_round_trip(seen[0]))
    assert len(seen) == 3
    assert torch.equal(resumed.weight, uninterrupted.weight)
    assert torch.equal(resumed.best_weight, uninterrupted.best_weight)
    assert resumed.history == uninterrupted.history


def test_resuming_does_not_change_the_checkpoint_it_started_from():
    train, val = _motion_problem(32, 1), _motion_problem(16, 2)
    settings = LayerSettings(lr=1e-2, steps=40, eval_every=20, seed=0)
    seen: list[LayerState] = []
    fit_motion_layer(train, val, settings, on_eval=seen.append)
    before = seen[0].to_tensors()[0]
    fit_motion_layer(train, val, settings, resume=seen[0])
    after = seen[0].to_tensors()[0]
    assert all(torch.equal(before[name], after[name]) for name in before)


def test_a_finished_state_resumes_to_itself():
    train, val = _motion_problem(16, 1), _motion_problem(16, 2)
    settings = LayerSettings(lr=1e-2, steps=10, eval_every=10, seed=0)
    state = fit_motion_layer(train, val, settings)
    assert fit_motion_layer(train, val, settings, resume=state) is state


def test_resuming_with_other_settings_is_refused():
    train, val = _motion_problem(16, 1), _motion_problem(16, 2)
    state = fit_motion_layer(train, val, LayerSettings(lr=1e-2, steps=20, eval_every=10, seed=0))
    with pytest.raises(InputError, match="restore those settings"):
        fit_motion_layer(train, val, LayerSettings(lr=1e-3, steps=20, eval_every=10, seed=0),
                         resume=state)


def test_a_checkpoint_missing_a_tensor_is_refused_by_name():
    train, val = _motion_problem(16, 1), _motion_problem(16, 2)
    state = fit_motion_layer(train, val, LayerSettings(lr=1e-2, steps=10, eval_every=10, seed=0))
    tensors, meta = state.to_tensors()
    del tensors["best_weight"]
    with pytest.raises(InputError, match="'best_weight'"):
        LayerState.from_tensors(tensors, meta)


def test_best_layer_holds_the_best_weights():
    train, val = _motion_problem(16, 1), _motion_problem(16, 2)
    state = fit_motion_layer(train, val, LayerSettings(lr=1e-2, steps=10, eval_every=10, seed=0))
    assert torch.equal(state.best_layer().weight, state.best_weight)


# --- two workers -----------------------------------------------------------------------

def _fit_on_shard(collective, rank: int) -> dict[str, torch.Tensor]:
    """Rank 0 takes the first 40 rows of each split, rank 1 the rest (uneven shards)."""
    torch.set_num_threads(1)

    def shard(data, cut: int):
        rows = slice(0, cut) if rank == 0 else slice(cut, None)
        return type(data)(*(getattr(data, f)[rows] for f in data.__dataclass_fields__))

    motion = fit_motion_layer(shard(_motion_problem(64, 1), 40), shard(_motion_problem(32, 2), 20),
                              LayerSettings(lr=1e-2, steps=60, eval_every=20, seed=0), collective)
    language_settings = LayerSettings(lr=1e-2, steps=60, eval_every=20, seed=0, per="sample")
    language = fit_language_layer(shard(_language_problem(64, 1), 40),
                                  shard(_language_problem(32, 2), 20), language_settings,
                                  collective)
    return {
        "motion": motion.best_weight,
        "motion_val": torch.tensor([entry[2] for entry in motion.history]),
        "language": language.best_weight,
        "language_steps": torch.tensor([entry[0] for entry in language.history]),
    }


@pytest.mark.slow
def test_two_workers_fit_the_layers_one_process_fits():
    motion = fit_motion_layer(_motion_problem(64, 1), _motion_problem(32, 2),
                              LayerSettings(lr=1e-2, steps=60, eval_every=20, seed=0))
    language = fit_language_layer(
        _language_problem(64, 1), _language_problem(32, 2),
        LayerSettings(lr=1e-2, steps=60, eval_every=20, seed=0, per="sample"),
    )
    for rank in run_two_workers(_fit_on_shard):
        assert torch.allclose(rank["motion"], motion.best_weight, rtol=0, atol=1e-5)
        assert rank["motion_val"].tolist() == pytest.approx(
            [entry[2] for entry in motion.history], abs=1e-5
        )
        assert torch.allclose(rank["language"], language.best_weight, rtol=0, atol=1e-5)
        assert rank["language_steps"].tolist() == [entry[0] for entry in language.history]
