"""Explanations account for the whole logit; edits make new bundles and leave the parent alone."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from dance.errors import InputError
from dance.explain import (
    ClassEdit,
    compare_predictions,
    concept_index,
    edit_classes,
    explain_videos,
    logits_with_activation,
)
from dance.train import DanceModel

NAMES = {"motion": ["arms_up", "squat_down", "swing"], "object": ["bat", "ball"],
         "scene": ["beach", "gym"]}
CLASSES = ["bat_swing", "beach_throw", "squat", "raise_arms"]
DIM = 6


def _model(seed: int = 0) -> DanceModel:
    rng = np.random.default_rng(seed)
    total = sum(len(v) for v in NAMES.values())
    weight = rng.normal(size=(len(CLASSES), total))
    weight[np.abs(weight) < 0.4] = 0.0  # sparse, as the elastic net leaves it
    return DanceModel(
        kind="dance",
        concept_weights={t: rng.normal(size=(len(v), DIM)) for t, v in NAMES.items()},
        mean=rng.normal(size=total), std=rng.uniform(0.5, 2.0, size=total),
        final_weight=weight, final_bias=rng.normal(size=len(CLASSES)),
        concept_names=NAMES, class_names=CLASSES,
    )


def _features(rows: int = 16, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, DIM)).astype(np.float32)


def _ids(rows: int = 16) -> list[str]:
    return [f"video_{i:02d}" for i in range(rows)]


def test_contributions_plus_bias_equal_the_logit_of_every_video():
    model, features = _model(), _features()
    logits = model.logits(features)
    for row, explanation in enumerate(explain_videos(model, _ids(), features)):
        assert explanation.class_index == int(logits[row].argmax())
        total = explanation.bias + sum(explanation.by_type.values())
        assert total == pytest.approx(float(logits[row, explanation.class_index]), abs=1e-5)
        assert explanation.logit == pytest.approx(total, abs=1e-9)


def test_an_explanation_of_a_given_class_accounts_for_that_class_logit():
    model, features = _model(), _features()
    explanations = explain_videos(model, _ids(), features, classes=[2] * 16)
    logits = model.logits(features)
    for row, explanation in enumerate(explanations):
        assert explanation.class_name == "squat"
        assert explanation.bias + sum(explanation.by_type.values()) == pytest.approx(
            float(logits[row, 2]), abs=1e-5)


def test_the_top_concepts_are_the_largest_contributions_overall_and_per_type():
    model, features = _model(), _features()
    explanation = explain_videos(model, _ids(), features, top_k=3)[0]
    values = model.contributions(features[:1], [explanation.class_index])[0].double()
    assert [c.index for c in explanation.top] == torch.argsort(-values)[:3].tolist()
    assert [c.contribution for c in explanation.top] == sorted(
        (c.contribution for c in explanation.top), reverse=True)
    for kind, top in explanation.top_by_type.items():
        assert all(c.type == kind for c in top) and len(top) == min(3, len(NAMES[kind]))


def test_an_absent_concept_with_a_weight_is_shown_as_not():
    model, features = _model(), _features()
    parts = [c for e in explain_videos(model, _ids(), features, top_k=7) for c in e.top]
    absent = [c for c in parts if c.activation < 0 and c.weight != 0]
    present = [c for c in parts if c.activation >= 0]
    assert absent and all(c.shown_name == f"NOT {c.name}" for c in absent)
    assert present and all(c.shown_name == c.name for c in present)


def test_type_shares_sum_to_one():
    explanation = explain_videos(_model(), _ids(), _features())[0]
    assert sum(explanation.shares().values()) == pytest.approx(1.0)


def test_setting_an_activation_changes_only_that_concepts_part_of_the_logits():
    model, features = _model(), _features()
    k = concept_index(model, "bat")
    edited = logits_with_activation(model, features, k, 0.0)
    z = model.standardized(features)
    expected = model.logits(features) - z[:, k:k + 1] * model.final.weight[:, k]
    assert torch.allclose(edited, expected, atol=1e-5)


def test_a_class_edit_sets_or_shifts_one_weight_and_records_it():
    model = _model()
    c, k = CLASSES.index("squat"), concept_index(model, "gym")
    edited = edit_classes(model, [ClassEdit("squat", "gym", value=1.5),
                                  ClassEdit("squat", "bat", shift=-0.25)])
    kb = concept_index(model, "bat")
    assert float(edited.final.weight[c, k]) == 1.5
    assert float(edited.final.weight[c, kb]) == pytest.approx(float(model.final.weight[c, kb]) - 0.25)
    changed = (edited.final.weight != model.final.weight).nonzero().tolist()
    assert sorted(changed) == sorted([[c, k], [c, kb]])
    assert [e["concept"] for e in edited.metadata["edits"][-1]["edits"]] == ["gym", "bat"]


def test_an_edited_bundle_reloads_to_its_edited_predictions_and_the_parent_is_unchanged(
    tmp_path: Path,
):
    parent_dir = tmp_path / "model"
    _model().save_pretrained(str(parent_dir))
    parent_bytes = hashlib.sha256((parent_dir / "model.safetensors").read_bytes()).hexdigest()
    parent = DanceModel.from_pretrained(str(parent_dir))
    edited = edit_classes(parent, [ClassEdit("beach_throw", "beach", shift=3.0)])
    edited.save_pretrained(str(tmp_path / "model_edit1"))
    reloaded = DanceModel.from_pretrained(str(tmp_path / "model_edit1"))
    features = _features()
    assert torch.equal(reloaded.logits(features), edited.logits(features))
    assert not torch.equal(reloaded.logits(features), parent.logits(features))
    record = reloaded.metadata["edits"][-1]
    assert record["parent"] == {"path": str(parent_dir), "weights_sha256": parent_bytes}
    assert hashlib.sha256((parent_dir / "model.safetensors").read_bytes()).hexdigest() == parent_bytes


def test_an_edit_naming_an_unknown_class_or_concept_is_refused_by_name():
    with pytest.raises(InputError, match="no class 'volleyball'"):
        edit_classes(_model(), [ClassEdit("volleyball", "bat", value=1.0)])
    with pytest.raises(InputError, match="no concept named 'net'"):
        edit_classes(_model(), [ClassEdit("squat", "net", value=1.0)])


def test_an_edit_needs_exactly_one_of_value_and_shift():
    with pytest.raises(InputError, match="exactly one of"):
        ClassEdit("squat", "bat")
    with pytest.raises(InputError, match="exactly one of"):
        ClassEdit("squat", "bat", value=1.0, shift=1.0)


def test_compare_predictions_counts_fixed_broken_and_unchanged():
    outcome = compare_predictions([0, 1, 2, 3, 0], before=[0, 0, 2, 1, 1], after=[0, 1, 1, 2, 1])
    assert (outcome.fixed, outcome.broken, outcome.unchanged_correct, outcome.unchanged_wrong) == (
        1, 1, 1, 2)
    assert outcome.accuracy_before == pytest.approx(0.4) and outcome.accuracy_change == 0.0
