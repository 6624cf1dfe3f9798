"""Checks of the explanations: fidelity, deletion curve, suggested edits, reversed videos.

The model here has identity concept layers and unit standardisation, so a feature row is
its own standardised concept activation and every expected number can be read off it.
"""

from __future__ import annotations

import numpy as np
import pytest

from dance.explain import (
    compare_reversed,
    deletion_curve,
    edit_classes,
    explain_videos,
    explanation_fidelity,
    suggest_class_edits,
)
from dance.train import DanceModel

NAMES = {"motion": ["arms_up", "arms_down"], "object": ["bat", "racket"], "scene": ["beach"]}
CLASSES = ["raise_arms", "lower_arms", "bat_swing", "racket_swing"]


def _model(weight: np.ndarray) -> DanceModel:
    sizes = [len(v) for v in NAMES.values()]
    total = sum(sizes)
    eye = np.eye(total)
    starts = np.cumsum([0, *sizes])
    return DanceModel(
        kind="dance",
        concept_weights={t: eye[starts[i]:starts[i + 1]] for i, t in enumerate(NAMES)},
        mean=np.zeros(total), std=np.ones(total),
        final_weight=weight, final_bias=np.zeros(len(CLASSES)),
        concept_names=NAMES, class_names=CLASSES,
    )


# each class rests on one concept: raise_arms on arms_up, ..., racket_swing on racket
ONE_CONCEPT_EACH = np.array([
    [2.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 2.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 2.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 2.0, 0.0],
])
FACTORS = {"raise_arms": "motion", "lower_arms": "motion", "bat_swing": "object",
           "racket_swing": "object"}


def _videos(labels: list[int], strength: float = 3.0) -> np.ndarray:
    """One row per label with that class's concept on (and beach a little on)."""
    x = np.zeros((len(labels), 5), np.float32)
    x[np.arange(len(labels)), labels] = strength
    x[:, 4] = 0.5
    return x


def test_fidelity_is_one_when_every_top_concept_is_of_the_separating_type():
    model, labels = _model(ONE_CONCEPT_EACH), [0, 1, 2, 3]
    x = _videos(labels)
    result = explanation_fidelity(model, explain_videos(model, list("abcd"), x), labels, FACTORS)
    assert result.share == 1.0 and result.videos == 4
    assert result.by_factor["motion"]["share"] == 1.0


def test_fidelity_counts_a_top_concept_of_another_type_as_a_miss():
    weight = ONE_CONCEPT_EACH.copy()
    weight[0] = [0.0, 0.0, 0.0, 0.0, 2.0]  # raise_arms now rests on the beach
    model, labels = _model(weight), [0]
    x = _videos(labels)
    result = explanation_fidelity(model, explain_videos(model, ["a"], x), labels, FACTORS)
    assert result.share == 0.0 and result.contributions == 1


def test_fidelity_leaves_out_wrong_predictions_and_classes_without_a_factor():
    model = _model(ONE_CONCEPT_EACH)
    x = _videos([0, 1])
    labels = [1, 1]  # the first video is predicted raise_arms: wrong, left out
    result = explanation_fidelity(model, explain_videos(model, ["a", "b"], x), labels,
                                  {"raise_arms": "motion"})  # lower_arms has no factor here
    assert result.videos == 0 and result.contributions == 0 and result.share == 0.0


def test_fidelity_chance_is_the_share_of_the_factors_type_among_the_class_weights():
    weight = ONE_CONCEPT_EACH.copy()
    weight[0] = [2.0, 0.0, 1.0, 0.0, 0.0]  # one motion and one object weight
    model, labels = _model(weight), [0]
    result = explanation_fidelity(model, explain_videos(model, ["a"], _videos(labels)), labels,
                                  FACTORS)
    assert result.chance == pytest.approx(0.5)


def test_deleting_the_top_concept_breaks_predictions_that_deleting_a_random_one_mostly_keeps():
    model = _model(ONE_CONCEPT_EACH)
    labels = [0, 1, 2, 3] * 5
    curve = deletion_curve(model, _videos(labels), labels, ks=(0, 1), repeats=20, seed=3)
    assert curve.top[0] == curve.random[0] == 1.0
    assert curve.top[1] < 0.5 < curve.random[1]


def test_the_deletion_curve_is_the_same_for_the_same_seed():
    model, labels = _model(ONE_CONCEPT_EACH), [0, 1, 2, 3]
    first = deletion_curve(model, _videos(labels), labels, ks=(1, 2), seed=7)
    assert deletion_curve(model, _videos(labels), labels, ks=(1, 2), seed=7) == first


def _val_with_missed_bat_swings() -> tuple[np.ndarray, list[int]]:
    """Two bat_swing videos with a weak bat, a racket in view (so predicted racket_swing)
    and arms_down, a concept bat_swing gives zero weight, strongly on."""
    labels = [0, 1, 2, 3, 2, 2]
    x = _videos(labels)
    x[4:, 2] = 0.4
    x[4:, 3] = 0.9  # below the tests' min_activation: not itself a candidate
    x[4:, 1] = 2.5
    return x, labels


def test_a_suggested_edit_turns_on_a_zero_weight_concept_active_on_the_missed_videos():
    model = _model(ONE_CONCEPT_EACH)
    x, labels = _val_with_missed_bat_swings()
    suggestions = suggest_class_edits(model, x, labels, per_class=1, min_activation=1.0)
    assert [(s.edit.class_name, s.edit.concept) for s in suggestions] == [("bat_swing",
                                                                          "arms_down")]
    assert suggestions[0].edit.value == 2.0  # the class's largest weight
    assert suggestions[0].misclassified_videos == 2
    edited = edit_classes(model, [s.edit for s in suggestions])
    assert (edited.logits(x).argmax(1).numpy() == labels).all()


def test_an_edit_that_would_lower_validation_accuracy_is_not_suggested():
    weight = ONE_CONCEPT_EACH.copy()
    weight[1, 1] = 1.0  # lower_arms weighs arms_down less than bat_swing's edit would
    model = _model(weight)
    x, labels = _val_with_missed_bat_swings()
    x = np.vstack([x, _videos([1, 1])])  # three lower_arms videos the edit would take
    labels = [*labels, 1, 1]
    assert suggest_class_edits(model, x, labels, per_class=1, min_activation=1.0) == []


def test_reversed_videos_predicted_as_their_pair_give_a_pair_rate_of_one():
    model = _model(ONE_CONCEPT_EACH)
    forward, backward = _videos([0, 1]), _videos([1, 0])
    result = compare_reversed(model, ["up", "down"], forward, backward, [0, 1],
                              partners={0: 1, 1: 0}, top_k=1)
    assert result.pair_rate == 1.0 and result.pair_rate_forward == 0.0
    assert result.changed == 1.0 and result.top_kept == 0.0
    assert result.videos[0].reversed == 1


def test_a_video_that_reads_the_same_backwards_keeps_its_prediction_and_top_concepts():
    model = _model(ONE_CONCEPT_EACH)
    x = _videos([2])
    result = compare_reversed(model, ["swing"], x, x.copy(), [2], partners={0: 1, 1: 0})
    assert result.changed == 0.0 and result.top_kept == 1.0 and result.pair_videos == 0


def test_reversal_rows_must_be_aligned():
    model = _model(ONE_CONCEPT_EACH)
    with pytest.raises(ValueError, match="aligned"):
        compare_reversed(model, ["a", "b"], _videos([0, 1]), _videos([0]), [0, 1])
