"""Video-TCAV's experiment (dance.posthoc): layer tensors, one run, and the table over runs.

The layer tests use a tiny random VideoMAE classifier (16 frames of 32 px, tubelet 2,
patch 8: a (8, 4, 4) token grid of 32 channels).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dance.encoders import VideoBackbone, build_tiny_videomae
from dance.errors import InputError
from dance.posthoc import (
    RunScores,
    VideoCam,
    layer_activations,
    layer_gradients,
    tcav_run,
    tcav_table,
)

TOKENS = 8 * 4 * 4


@pytest.fixture(scope="module")
def cam(tmp_path_factory: pytest.TempPathFactory) -> VideoCam:
    path = build_tiny_videomae(str(tmp_path_factory.mktemp("tcav") / "cls"), num_labels=3)
    return VideoCam.for_backbone_head(VideoBackbone.from_pretrained(path))


def _clips(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8) for _ in range(count)]


def _blob(direction: torch.Tensor, count: int, seed: int, noise: float = 0.1) -> torch.Tensor:
    """`count` examples around `direction`, with Gaussian noise of this scale."""
    draws = torch.randn(count, len(direction), generator=torch.Generator().manual_seed(seed))
    return direction + noise * draws


# -- layer tensors ---------------------------------------------------------------------------


def test_flattened_activations_hold_every_token_channel(cam):
    channels = cam.backbone.encoder.config.hidden_size
    acts = layer_activations(cam, _clips(3), "encoder.layer.0")
    assert acts.shape == (3, channels * TOKENS)


def test_mean_pooled_activations_are_the_token_average_of_the_flattened_ones(cam):
    clips, channels = _clips(2), cam.backbone.encoder.config.hidden_size
    flat = layer_activations(cam, clips, "encoder.layer.1")
    pooled = layer_activations(cam, clips, "encoder.layer.1", pooling="mean")
    assert torch.allclose(pooled, flat.view(2, channels, TOKENS).mean(2), atol=1e-5)


def test_pooled_gradients_are_the_token_sum_so_a_uniform_shift_keeps_its_derivative(cam):
    clips, channels = _clips(2), cam.backbone.encoder.config.hidden_size
    flat = layer_gradients(cam, clips, "encoder.layer.1", class_index=1)
    pooled = layer_gradients(cam, clips, "encoder.layer.1", class_index=1, pooling="mean")
    assert torch.allclose(pooled, flat.view(2, channels, TOKENS).sum(2), atol=1e-5)


def test_batching_does_not_change_the_activations(cam):
    clips = _clips(3)
    whole = layer_activations(cam, clips, "encoder.layer.0", batch_size=8)
    one_by_one = layer_activations(cam, clips, "encoder.layer.0", batch_size=1)
    assert torch.allclose(whole, one_by_one, atol=1e-5)


def test_an_unknown_layer_names_the_valid_ones(cam):
    with pytest.raises(InputError, match="encoder.layer.0, encoder.layer.1"):
        layer_activations(cam, _clips(1), "encoder.layer.9")


def test_a_class_outside_the_model_is_refused(cam):
    with pytest.raises(InputError, match="has 3"):
        layer_gradients(cam, _clips(1), "encoder.layer.0", class_index=3)


# -- one run and the table -------------------------------------------------------------------


def _experiment(runs: int = 10) -> list[RunScores]:
    """Concepts along +e0 ('up') and -e0 ('down'); class 'a' has gradients around +e0.

    The gradients spread enough that random CAVs split them (random sign-counts vary
    around 0.5), while every one of them points along +e0.
    """
    e0 = torch.zeros(32)
    e0[0] = 1.0
    concepts = {"up": _blob(e0, 10, 1), "down": _blob(-e0, 10, 2)}
    random_sets = [_blob(torch.zeros(32), 10, 10 + r) for r in range(runs)]
    gradients = {"a": _blob(e0, 12, 3, noise=0.3)}
    return [
        tcav_run("g", "encoder.layer.0", run, concepts, random_sets, gradients, seed=0)
        for run in range(runs)
    ]


def test_a_run_scores_the_concept_the_gradients_point_to_at_one():
    first = _experiment(runs=2)[0]
    assert first.scores[("a", "up")][0] == 1.0
    assert first.scores[("a", "down")][0] == 0.0


def test_a_run_reports_each_concepts_cav_accuracy():
    first = _experiment(runs=2)[0]
    assert set(first.accuracies) == {"up", "down"} and first.accuracies["up"] == 1.0


def test_the_table_marks_a_concept_the_gradients_follow_as_significant():
    rows, _ = tcav_table(_experiment(), {("g", "up"): "spatiotemporal"})
    up = next(row for row in rows if row["concept"] == "up")
    assert up["significant"] and up["sign_count"] == 1.0 and up["kind"] == "spatiotemporal"


def test_the_table_counts_one_hypothesis_per_class_layer_and_concept():
    rows, hypotheses = tcav_table(_experiment(), {})
    assert hypotheses == 2 == len(rows)
    assert all(row["p_corrected"] == min(1.0, row["p"] * 2) for row in rows)


def test_runs_in_any_order_give_the_same_table():
    cells = _experiment()
    assert tcav_table(cells, {})[0] == tcav_table(cells[::-1], {})[0]


def test_a_run_needs_two_random_sets():
    e0 = torch.ones(4)
    with pytest.raises(InputError, match="at least 2"):
        tcav_run("g", "l", 0, {"up": _blob(e0, 4, 0)}, [_blob(e0, 4, 1)], {"a": _blob(e0, 2, 2)})


def test_a_concept_with_one_clip_is_refused_naming_it():
    e0 = torch.ones(4)
    sets = [_blob(e0, 4, 1), _blob(e0, 4, 2)]
    with pytest.raises(InputError, match="'lonely' has 1 example"):
        tcav_run("g", "l", 0, {"lonely": _blob(e0, 1, 0)}, sets, {"a": _blob(e0, 2, 2)})
