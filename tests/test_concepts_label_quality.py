"""Pseudo-label quality: ROC-AUC of the Eq. 3 cosine against the videos' ground truth."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from dance.concepts import (
    DiscoverSummary,
    LanguageOutputs,
    concept_auc,
    concept_truth_names,
    pseudo_label_quality,
    quality_headline,
)
from dance.manifest import Manifest, ManifestRecord


def test_a_perfect_ranking_scores_one_and_a_reversed_one_zero() -> None:
    present = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=bool)
    scores = np.array([[0.9, 0.9], [0.8, 0.8], [0.1, 0.1], [0.2, 0.2]])
    figures = concept_auc(scores, present, ["ball", "net"])
    assert figures["per_concept"] == {"ball": 1.0, "net": 0.0}
    assert figures["mean_auc"] == 0.5 and figures["concepts"] == 2 and figures["videos"] == 4


def test_the_auc_counts_correctly_ordered_positive_negative_pairs() -> None:
    # positives 0.3, 0.7 vs negatives 0.5, 0.1: 3 of 4 pairs ordered right -> 0.75
    present = np.array([[True], [True], [False], [False]])
    scores = np.array([[0.3], [0.7], [0.5], [0.1]])
    assert concept_auc(scores, present, ["ball"])["per_concept"]["ball"] == 0.75


def test_a_concept_present_in_all_or_no_videos_is_skipped() -> None:
    present = np.array([[1, 0, 1], [1, 0, 0]], dtype=bool)
    figures = concept_auc(np.array([[0.2, 0.1, 0.3], [0.1, 0.2, 0.1]]), present, ["a", "b", "c"])
    assert figures["skipped"] == ["a", "b"] and list(figures["per_concept"]) == ["c"]


def test_no_scorable_concept_gives_no_mean() -> None:
    figures = concept_auc(np.zeros((2, 1)), np.ones((2, 1), dtype=bool), ["a"])
    assert figures["mean_auc"] is None and figures["concepts"] == 0


def test_a_concept_means_the_ground_truth_name_it_equals_ignoring_case() -> None:
    assert concept_truth_names(["Ball", "net"], ["ball", "court"]) == {"Ball": "ball"}


def test_the_answer_key_maps_synonyms_and_a_null_leaves_a_concept_unscored() -> None:
    key = {"soccer ball": "ball", "sunscreen": None}
    meant = concept_truth_names(["soccer ball", "sunscreen"], ["ball"], key)
    assert meant == {"soccer ball": "ball"}


def test_a_renamed_concept_is_looked_up_by_its_answer_line() -> None:
    key = {"<b>soccer ball</b>": "ball"}
    meant = concept_truth_names(
        ["soccer ball"], ["ball"], key, {"<b>soccer ball</b>": "soccer ball"}
    )
    assert meant == {"soccer ball": "ball"}


def _manifest() -> Manifest:
    records = [
        ManifestRecord(f"v{i}", f"/videos/v{i}.mp4", "throw", "train" if i < 4 else "test")
        for i in range(8)
    ]
    return Manifest.from_records(records)


def _language(objects: np.ndarray, known: np.ndarray) -> LanguageOutputs:
    return LanguageOutputs(
        objects=["Ball", "soccer ball", "sunscreen"],
        scenes=["beach"],
        object_labels=objects.astype(np.float32),
        scene_labels=np.linspace(0, 1, 8, dtype=np.float32)[:, None],
        known=known,
        report={"objects": {"renamed": {}}, "scenes": {"renamed": {}}},
        label_mode="pseudo_labels",
        encoder_id="tiny",
    )


def test_quality_is_measured_per_split_against_each_videos_annotations() -> None:
    manifest = _manifest()
    holds_ball = [True, False, True, False, True, True, False, False]
    annotations = pa.table(
        {
            "video_id": [f"v{i}" for i in range(8)],
            "objects": [["ball"] if b else ["rope"] for b in holds_ball],
            "scenes": [["beach"] if i % 2 else ["snow"] for i in range(8)],
        }
    )
    # "Ball" ranks every ball video first; "soccer ball" (the key's synonym) ranks them last.
    ball = np.where(holds_ball, 0.3, 0.1)
    objects = np.stack([ball, -ball, np.zeros(8)], axis=1)
    key = {"objects": {"soccer ball": "ball", "sunscreen": None}}
    quality = pseudo_label_quality(manifest, _language(objects, np.ones(8, bool)), annotations, key)
    assert quality["objects"]["truth_names"] == {"Ball": "ball", "soccer ball": "ball"}
    assert quality["objects"]["unscored"] == ["sunscreen"]
    for split in ("train", "test"):
        assert quality["objects"][split]["per_concept"] == {"Ball": 1.0, "soccer ball": 0.0}
        assert quality["objects"][split]["videos"] == 4
    # scene labels rise with the index; beach videos are the odd ones
    assert quality["scenes"]["train"]["per_concept"]["beach"] == pytest.approx(0.75)
    headline = quality_headline(quality)
    assert headline["objects"]["test"] == {"mean_auc": 0.5, "concepts": 2}


def test_videos_without_labels_are_left_out() -> None:
    manifest = _manifest()
    annotations = pa.table(
        {
            "video_id": [f"v{i}" for i in range(8)],
            "objects": [["ball"] if i % 2 else [] for i in range(8)],
            "scenes": [[] for _ in range(8)],
        }
    )
    known = np.array([True, True, True, False, True, True, True, True])
    quality = pseudo_label_quality(manifest, _language(np.zeros((8, 3)), known), annotations)
    assert quality["objects"]["train"]["videos"] == 3 and quality["objects"]["test"]["videos"] == 4


def test_the_summary_reports_mean_test_and_train_auc_per_type() -> None:
    figures = {"mean_auc": 0.9375, "concepts": 12, "videos": 80, "per_concept": {}, "skipped": []}
    quality = {"objects": {"train": figures, "test": figures}}
    summary = DiscoverSummary(
        videos=1, videos_ok=1, videos_motion_known=1, videos_ok_without_kept_clip=0,
        videos_language_known=1, clips_kept=1, clips_clustered=1, motion_concepts=2,
        partition_level=1, objects=12, scenes=0, language_source="answers",
        label_mode="pseudo_labels", label_quality=quality,
    )  # fmt: skip
    text = summary.describe()
    assert (
        "object pseudo labels vs ground truth: mean ROC-AUC on test 0.938 over 12 concepts, "
        "on train 0.938 over 12" in text
    )
    assert "scene pseudo labels" not in text
    assert summary.to_dict()["label_quality"] == quality
