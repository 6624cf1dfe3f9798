"""DanceModel: features -> concepts -> classes, and its safetensors + JSON bundle."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from dance import storage
from dance.errors import DanceError, InputError
from dance.train._model import PREDICTIONS_SCHEMA, DanceModel
from dance.train._model_io import INDEX_FILE, WEIGHTS_FILE, BundleError

FEATURE_DIM = 6
CLASS_NAMES = ["bowing", "burpee", "jumping jacks", "squat"]
NAMES = {
    "motion": ["motion_000", "motion_001", "motion_002"],
    # Names are data: a name that looks like code must come back as the same string.
    "object": ["barbell", "__import__('os').system('echo pwned')"],
    "scene": ["gym", "salle de sport \u00e0 Paris"],
}
METADATA = {
    "config": {"train": {"lam": 7e-4, "alpha": 0.99}},
    "stage_records": {"discover": {"digest": "abc123"}},
    "metrics": {"val_top1": 0.91},
    "backbone": {"id": "videomae-base", "sha256": "0" * 64},
    "dual_encoder": {"id": "convnext", "path": "/models/dual", "sha256": "1" * 64},
    "cuts": {"object": {"clip_cut": [], "interpretability_cut": []}},
    "solver": {"name": "fista", "objective": 0.123, "kkt_residual": 1e-9},
}


def _dance_model(seed: int = 0) -> DanceModel:
    """A small random DANCE model: D=6, 3 motion + 2 object + 2 scene concepts, 4 classes."""
    rng = np.random.default_rng(seed)
    counts = {t: len(names) for t, names in NAMES.items()}
    total = sum(counts.values())
    return DanceModel(
        kind="dance",
        concept_weights={t: rng.normal(size=(m, FEATURE_DIM)) for t, m in counts.items()},
        mean=rng.normal(size=total),
        std=rng.uniform(0.5, 2.0, size=total),
        final_weight=rng.normal(size=(len(CLASS_NAMES), total)),
        final_bias=rng.normal(size=len(CLASS_NAMES)),
        concept_names=NAMES,
        class_names=CLASS_NAMES,
        concept_sources={"motion": "finch", "object": "llm", "scene": "llm"},
        metadata=METADATA,
    )


def _features(rows: int = 8, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, FEATURE_DIM)).astype(np.float32)


def _hand_model() -> DanceModel:
    """D=2, two motion concepts W_m = [[1, 0], [1, 1]], mean (1, 2), std (2, 4), 2 classes."""
    return DanceModel(
        kind="dance",
        concept_weights={"motion": np.array([[1.0, 0.0], [1.0, 1.0]])},
        mean=np.array([1.0, 2.0]),
        std=np.array([2.0, 4.0]),
        final_weight=np.array([[1.0, -1.0], [0.5, 2.0]]),
        final_bias=np.array([0.25, -0.5]),
        concept_names={"motion": ["motion_000", "motion_001"]},
        class_names=["a", "b"],
    )


HAND_FEATURES = np.array([[3.0, 1.0], [1.0, 5.0]])


def _saved(tmp_path: Path, model: DanceModel | None = None) -> str:
    directory = str(tmp_path / "bundle")
    (model or _dance_model()).save_pretrained(directory)
    return directory


def _edit_index(directory: str, edit: Any) -> None:
    path = Path(directory) / INDEX_FILE
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))


# -- computation ------------------------------------------------------------------------


def test_standardisation_matches_hand_computed_values() -> None:
    # activations: (3, 1) -> (3, 4) and (1, 5) -> (1, 6); z = (a - (1, 2)) / (2, 4)
    model = _hand_model()
    assert torch.equal(
        model.concept_activations(HAND_FEATURES), torch.tensor([[3.0, 4.0], [1.0, 6.0]])
    )
    assert torch.equal(model.standardized(HAND_FEATURES), torch.tensor([[1.0, 0.5], [0.0, 1.0]]))


def test_logits_match_hand_computed_values() -> None:
    # z = [[1, .5], [0, 1]]; class a: z0 - z1 + .25; class b: .5 z0 + 2 z1 - .5
    logits = _hand_model().logits(HAND_FEATURES)
    assert torch.equal(logits, torch.tensor([[0.75, 1.0], [-0.75, 1.5]]))


def test_contributions_are_standardised_activation_times_the_predicted_class_weight() -> None:
    # both rows predict class b (weights .5, 2): row 0 z = (1, .5), row 1 z = (0, 1)
    contributions = _hand_model().contributions(HAND_FEATURES)
    assert torch.equal(contributions, torch.tensor([[0.5, 1.0], [0.0, 2.0]]))


def test_contributions_for_given_classes_use_those_classes() -> None:
    contributions = _hand_model().contributions(HAND_FEATURES, classes=[0, 0])
    assert torch.equal(contributions, torch.tensor([[1.0, -0.5], [0.0, -1.0]]))


def test_contributions_plus_bias_sum_to_the_logit_of_their_class() -> None:
    model = _dance_model().double()  # float64 so the two summation orders agree to 1e-12
    features = _features().astype(np.float64)
    logits = model.logits(features)
    for classes in (None, [3, 2, 1, 0, 0, 1, 2, 3]):
        chosen = logits.argmax(1) if classes is None else torch.tensor(classes)
        total = model.contributions(features, classes).sum(1) + model.final.bias[chosen]
        torch.testing.assert_close(total, logits[torch.arange(8), chosen], rtol=0, atol=1e-12)


def test_columns_are_ordered_motion_object_scene() -> None:
    model = _dance_model()
    assert model.concept_names == NAMES["motion"] + NAMES["object"] + NAMES["scene"]
    assert model.concept_types == ["motion"] * 3 + ["object"] * 2 + ["scene"] * 2
    assert model.type_slices == {"motion": slice(0, 3), "object": slice(3, 5), "scene": slice(5, 7)}


def test_a_model_without_motion_concepts_has_an_empty_motion_slice() -> None:
    model = DanceModel(
        kind="cbm",
        concept_weights={"motion": np.zeros((0, 2)), "object": np.eye(2)},
        mean=np.zeros(2),
        std=np.ones(2),
        final_weight=np.eye(2),
        final_bias=np.zeros(2),
        concept_names={"motion": [], "object": ["ball", "rope"]},
        class_names=["a", "b"],
    )
    assert model.type_slices == {"motion": slice(0, 0), "object": slice(0, 2), "scene": slice(2, 2)}
    assert model.concept_types == ["object", "object"]


def test_predict_gives_top_k_best_first_and_the_top_two_margin() -> None:
    result = _hand_model().predict(HAND_FEATURES, top_k=5)  # k is capped at C = 2
    assert result.prediction.tolist() == [1, 1]
    assert result.top_k.tolist() == [[1, 0], [1, 0]]
    assert torch.equal(result.margin, torch.tensor([0.25, 2.25]))


def test_predict_breaks_ties_by_the_lower_class_index() -> None:
    model = DanceModel(
        kind="linear_probe",
        concept_weights={},
        mean=np.zeros(1),
        std=np.ones(1),
        final_weight=np.zeros((3, 1)),
        final_bias=np.array([0.0, 1.0, 1.0]),
        concept_names={},
        class_names=["a", "b", "c"],
    )
    result = model.predict(np.zeros((1, 1)), top_k=3)
    assert result.top_k.tolist() == [[1, 2, 0]]
    assert result.margin.tolist() == [0.0]


def test_predictions_table_has_one_row_per_video_with_top5_and_margin() -> None:
    model = _dance_model()
    features = _features(3)
    table = model.predictions_table(["v0", "v1", "v2"], features, [0, 3, 1])
    assert table.schema == PREDICTIONS_SCHEMA
    result = model.predict(features, top_k=5)
    assert table["video_id"].to_pylist() == ["v0", "v1", "v2"]
    assert table["label"].to_pylist() == [0, 3, 1]
    assert table["prediction"].to_pylist() == result.prediction.tolist()
    assert table["top5"].to_pylist() == result.top_k.tolist()  # 4 classes: 4 entries each
    assert np.array_equal(table["margin"].to_numpy(), result.margin.numpy())


def test_features_of_the_wrong_width_are_an_input_error_naming_the_backbone() -> None:
    with pytest.raises(InputError, match="5 columns but this model expects 6.*videomae-base"):
        _dance_model().logits(np.zeros((2, 5), dtype=np.float32))


def test_the_model_is_frozen() -> None:
    model = _dance_model()
    assert not any(p.requires_grad for p in model.parameters())
    assert not model.logits(_features()).requires_grad


def test_a_zero_std_is_refused() -> None:
    with pytest.raises(ValueError, match="std must be positive"):
        DanceModel(
            kind="linear_probe",
            concept_weights={},
            mean=np.zeros(2),
            std=np.array([1.0, 0.0]),
            final_weight=np.eye(2),
            final_bias=np.zeros(2),
            concept_names={},
            class_names=["a", "b"],
        )


def test_metadata_that_is_not_json_ready_is_refused() -> None:
    with pytest.raises(TypeError, match="metadata must be JSON-ready"):
        DanceModel(**{**_hand_arguments(), "metadata": {"when": object()}})


def _hand_arguments() -> dict[str, Any]:
    model = _hand_model()
    return {
        "kind": "dance",
        "concept_weights": {"motion": model.concepts["motion"].weight},
        "mean": model.standardize.mean,
        "std": model.standardize.std,
        "final_weight": model.final.weight,
        "final_bias": model.final.bias,
        "concept_names": model.concept_names_by_type,
        "class_names": model.class_names,
    }


# -- bundle round trips -----------------------------------------------------------------


def test_round_trip_gives_identical_logits(tmp_path: Path) -> None:
    model = _dance_model()
    loaded = DanceModel.from_pretrained(_saved(tmp_path, model))
    assert torch.equal(loaded.logits(_features()), model.logits(_features()))


def test_round_trip_keeps_names_sources_and_metadata_as_data(tmp_path: Path) -> None:
    loaded = DanceModel.from_pretrained(_saved(tmp_path))
    assert loaded.kind == "dance"
    assert loaded.concept_names_by_type == NAMES
    assert loaded.class_names == CLASS_NAMES
    assert loaded.concept_sources == {"motion": "finch", "object": "llm", "scene": "llm"}
    assert loaded.metadata == METADATA


def test_a_bundle_is_two_files_with_fixed_tensor_names(tmp_path: Path) -> None:
    directory = _saved(tmp_path)
    assert sorted(p.name for p in Path(directory).iterdir()) == [INDEX_FILE, WEIGHTS_FILE]
    document = json.loads((Path(directory) / INDEX_FILE).read_text())
    assert (document["format"], document["format_version"]) == ("dance.model", 1)
    assert document["tensors"] == {
        "concepts.motion.weight": {"shape": [3, 6], "dtype": "float32"},
        "concepts.object.weight": {"shape": [2, 6], "dtype": "float32"},
        "concepts.scene.weight": {"shape": [2, 6], "dtype": "float32"},
        "standardize.mean": {"shape": [7], "dtype": "float32"},
        "standardize.std": {"shape": [7], "dtype": "float32"},
        "final.weight": {"shape": [4, 7], "dtype": "float32"},
        "final.bias": {"shape": [4], "dtype": "float32"},
    }
    data = (Path(directory) / WEIGHTS_FILE).read_bytes()
    assert document["weights_sha256"] == hashlib.sha256(data).hexdigest()


def test_saving_over_a_bundle_replaces_it(tmp_path: Path) -> None:
    directory = _saved(tmp_path, _dance_model(seed=0))
    replacement = _dance_model(seed=7)
    replacement.save_pretrained(directory)
    loaded = DanceModel.from_pretrained(directory)
    assert torch.equal(loaded.logits(_features()), replacement.logits(_features()))


def test_a_linear_probe_bundle_has_no_concept_layer_and_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    probe = DanceModel(
        kind="linear_probe",
        concept_weights={},
        mean=rng.normal(size=FEATURE_DIM),
        std=rng.uniform(0.5, 2.0, size=FEATURE_DIM),
        final_weight=rng.normal(size=(4, FEATURE_DIM)),
        final_bias=rng.normal(size=4),
        concept_names={},
        class_names=CLASS_NAMES,
    )
    loaded = DanceModel.from_pretrained(_saved(tmp_path, probe))
    features = _features()
    expected_z = (torch.from_numpy(features) - probe.standardize.mean) / probe.standardize.std
    assert len(loaded.concepts) == 0
    assert torch.equal(loaded.standardized(features), expected_z)
    assert torch.equal(loaded.logits(features), probe.logits(features))
    assert loaded.concept_types == ["feature"] * FEATURE_DIM
    assert loaded.concept_names[:2] == ["feature_0000", "feature_0001"]


def test_a_cbm_bundle_without_motion_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    cbm = DanceModel(
        kind="cbm",
        concept_weights={"object": rng.normal(size=(2, FEATURE_DIM))},
        mean=np.zeros(2),
        std=np.ones(2),
        final_weight=rng.normal(size=(4, 2)),
        final_bias=np.zeros(4),
        concept_names={"object": NAMES["object"]},
        class_names=CLASS_NAMES,
        concept_sources={"object": "annotations"},
    )
    loaded = DanceModel.from_pretrained(_saved(tmp_path, cbm))
    assert torch.equal(loaded.logits(_features()), cbm.logits(_features()))
    assert loaded.concept_sources == {"object": "annotations"}


def test_loading_never_unpickles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = _saved(tmp_path)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the bundle loader unpickled something")

    for module, name in (
        (pickle, "load"),
        (pickle, "loads"),
        (pickle, "Unpickler"),
        (torch, "load"),
    ):
        monkeypatch.setattr(module, name, refuse)
    loaded = DanceModel.from_pretrained(directory)
    assert loaded.class_names == CLASS_NAMES


@pytest.mark.s3
def test_round_trip_through_s3_gives_identical_logits(s3_bucket: str) -> None:
    model = _dance_model()
    directory = storage.join(s3_bucket, "models", "dance")
    model.save_pretrained(directory)
    loaded = DanceModel.from_pretrained(directory)
    assert torch.equal(loaded.logits(_features()), model.logits(_features()))


# -- broken bundles ---------------------------------------------------------------------


def test_a_missing_directory_is_a_bundle_error_naming_it(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere")
    with pytest.raises(BundleError, match=f"{missing} does not exist.*save_pretrained"):
        DanceModel.from_pretrained(missing)


@pytest.mark.parametrize("name", [INDEX_FILE, WEIGHTS_FILE])
def test_a_missing_file_is_a_bundle_error_naming_it(tmp_path: Path, name: str) -> None:
    directory = _saved(tmp_path)
    (Path(directory) / name).unlink()
    with pytest.raises(BundleError, match=f"{name} is missing; copy the whole bundle"):
        DanceModel.from_pretrained(directory)


def test_a_truncated_safetensors_file_fails_the_sha256_check(tmp_path: Path) -> None:
    directory = _saved(tmp_path)
    weights = Path(directory) / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(BundleError, match=f"{WEIGHTS_FILE} does not match the sha256.*truncated"):
        DanceModel.from_pretrained(directory)


def test_an_unparsable_safetensors_file_is_a_bundle_error(tmp_path: Path) -> None:
    directory = _saved(tmp_path)
    garbage = b"\x08\x00\x00\x00\x00\x00\x00\x00not json"
    (Path(directory) / WEIGHTS_FILE).write_bytes(garbage)
    _edit_index(directory, lambda d: d.update(weights_sha256=hashlib.sha256(garbage).hexdigest()))
    with pytest.raises(BundleError, match="is not a readable safetensors file"):
        DanceModel.from_pretrained(directory)


def test_a_json_naming_a_missing_tensor_is_a_bundle_error(tmp_path: Path) -> None:
    directory = _saved(tmp_path)
    spec = {"shape": [1, 6], "dtype": "float32"}
    _edit_index(directory, lambda d: d["tensors"].update({"concepts.extra.weight": spec}))
    with pytest.raises(
        BundleError, match="names tensor 'concepts.extra.weight', which .* not hold"
    ):
        DanceModel.from_pretrained(directory)


def test_a_shape_mismatch_is_a_bundle_error_naming_the_tensor(tmp_path: Path) -> None:
    directory = _saved(tmp_path)
    _edit_index(directory, lambda d: d["tensors"]["final.weight"].update(shape=[4, 8]))
    with pytest.raises(BundleError, match=r"'final.weight' .* is float32 \[4, 7\] .* \[4, 8\]"):
        DanceModel.from_pretrained(directory)


def test_malformed_json_is_a_bundle_error(tmp_path: Path) -> None:
    directory = _saved(tmp_path)
    (Path(directory) / INDEX_FILE).write_text('{"format": "dance.model", ')
    with pytest.raises(BundleError, match=f"{INDEX_FILE} is not valid UTF-8 JSON"):
        DanceModel.from_pretrained(directory)


def test_a_newer_format_version_asks_for_a_newer_dance(tmp_path: Path) -> None:
    directory = _saved(tmp_path)
    _edit_index(directory, lambda d: d.update(format_version=2))
    with pytest.raises(BundleError, match="format version 2; .* reads version 1 only: .* upgrade"):
        DanceModel.from_pretrained(directory)


def test_a_json_of_another_format_is_not_a_bundle(tmp_path: Path) -> None:
    directory = _saved(tmp_path)
    _edit_index(directory, lambda d: d.update(format="something.else"))
    with pytest.raises(BundleError, match="is not a dance model bundle"):
        DanceModel.from_pretrained(directory)


def test_names_that_disagree_with_the_tensors_are_a_bundle_error(tmp_path: Path) -> None:
    directory = _saved(tmp_path)
    _edit_index(directory, lambda d: d["class_names"].pop())
    with pytest.raises(BundleError, match="do not make a model .*class_names must be 4 strings"):
        DanceModel.from_pretrained(directory)


def test_concepts_that_disagree_with_the_listed_tensors_are_malformed(tmp_path: Path) -> None:
    directory = _saved(tmp_path)
    _edit_index(directory, lambda d: d["concepts"].pop("scene"))
    with pytest.raises(BundleError, match="is malformed: a 'dance' model with concepts"):
        DanceModel.from_pretrained(directory)


def test_bundle_errors_are_input_errors_the_cli_prints_as_one_line() -> None:
    assert issubclass(BundleError, InputError) and issubclass(BundleError, DanceError)
