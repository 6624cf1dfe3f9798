"""Concept filters (docs/method.md section 4): length, parentheses, class echoes, duplicates."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np
import pytest

from dance.concepts.language import filter_concepts
from dance.config import LanguageConceptConfig

CONFIG = LanguageConceptConfig()  # 30 characters, 0.84 class cut-off, 0.90 duplicate cut-off


def unit(cos_with_first_axis: float, axis: int = 1, dim: int = 6) -> list[float]:
    """A unit vector whose cosine with e0 is `cos_with_first_axis`, the rest on `axis`."""
    vector = [0.0] * dim
    vector[0] = cos_with_first_axis
    vector[axis] = math.sqrt(1.0 - cos_with_first_axis**2)
    return vector


def axis(index: int, dim: int = 6) -> list[float]:
    """The unit vector e_index."""
    vector = [0.0] * dim
    vector[index] = 1.0
    return vector


class VectorEmbedder:
    """A deterministic text embedder: each known string maps to a chosen vector."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = vectors
        self.seen: list[str] = []

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        rows = np.array([self.vectors[text] for text in texts], dtype=np.float32).reshape(
            len(texts), -1
        )
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_a_concept_longer_than_30_characters_is_dropped_before_embedding() -> None:
    exactly_30 = "a" * 30
    embedder = VectorEmbedder({exactly_30: axis(1), "jumping": axis(0)})
    kept, report = filter_concepts([exactly_30, "b" * 31], ["jumping"], embedder, CONFIG)
    assert kept == [exactly_30]
    assert [(d.concept, d.rule) for d in report.dropped] == [("b" * 31, "too_long")]
    assert "b" * 31 not in embedder.seen


def test_parentheses_are_stripped_and_the_rename_is_reported() -> None:
    embedder = VectorEmbedder({"net": axis(1), "ball": axis(2), "tennis": axis(0)})
    kept, report = filter_concepts(["net (tennis)", "ball"], ["tennis"], embedder, CONFIG)
    assert kept == ["net", "ball"]
    assert report.renamed == {"net (tennis)": "net"}
    assert "net (tennis)" not in embedder.seen


def test_a_concept_repeating_another_after_stripping_is_dropped_as_a_repeat() -> None:
    embedder = VectorEmbedder({"ball": axis(1), "tennis": axis(0)})
    kept, report = filter_concepts(["ball", "Ball (small)"], ["tennis"], embedder, CONFIG)
    assert kept == ["ball"]
    assert [(d.concept, d.rule, d.partner) for d in report.dropped] == [
        ("Ball (small)", "repeat", "ball")
    ]


def test_a_concept_that_is_a_class_name_with_an_article_is_dropped() -> None:
    embedder = VectorEmbedder({"rope": axis(2), "Jump Rope": axis(0)})
    kept, report = filter_concepts(["The jump rope", "rope"], ["Jump Rope"], embedder, CONFIG)
    assert kept == ["rope"]
    (drop,) = report.dropped
    assert (drop.concept, drop.rule, drop.similarity, drop.partner) == (
        "The jump rope",
        "class_name",
        1.0,
        "Jump Rope",
    )


def test_a_concept_at_or_above_084_similarity_to_a_class_name_is_dropped() -> None:
    embedder = VectorEmbedder(
        {
            "swimming": axis(0),
            "diving": axis(3),
            "swimmer": unit(0.85, axis=1),
            "lane rope": unit(0.83, axis=2),
        }
    )
    kept, report = filter_concepts(
        ["swimmer", "lane rope"], ["diving", "swimming"], embedder, CONFIG
    )
    assert kept == ["lane rope"]
    (drop,) = report.dropped_by("class_similarity")
    assert drop.concept == "swimmer" and drop.partner == "swimming"
    assert drop.similarity == pytest.approx(0.85, abs=1e-6)


def test_of_a_near_duplicate_pair_the_one_less_similar_to_all_others_is_dropped() -> None:
    # "ball" and "balls" are 0.95 alike; "net" is closer to "balls", so "ball" goes.
    embedder = VectorEmbedder(
        {
            "tennis": axis(5),
            "ball": [1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "balls": [0.95, math.sqrt(1 - 0.95**2), 0.0, 0.0, 0.0, 0.0],
            "net": [0.0, 0.6, 0.8, 0.0, 0.0, 0.0],
        }
    )
    kept, report = filter_concepts(["ball", "balls", "net"], ["tennis"], embedder, CONFIG)
    assert kept == ["balls", "net"]
    (drop,) = report.dropped_by("duplicate")
    assert (drop.concept, drop.partner) == ("ball", "balls")
    assert drop.similarity == pytest.approx(0.95, abs=1e-6)


def test_a_pair_just_below_090_similarity_is_kept() -> None:
    embedder = VectorEmbedder({"tennis": axis(5), "cup": axis(0), "mug": unit(0.89)})
    kept, report = filter_concepts(["cup", "mug"], ["tennis"], embedder, CONFIG)
    assert kept == ["cup", "mug"] and report.dropped == []


def test_cut_offs_come_from_the_config() -> None:
    embedder = VectorEmbedder({"tennis": axis(5), "cup": axis(0), "mug": unit(0.89)})
    strict = CONFIG.model_copy(update={"duplicate_similarity_cutoff": 0.85})
    kept, _ = filter_concepts(["cup", "mug"], ["tennis"], embedder, strict)
    assert len(kept) == 1


def test_the_filters_run_in_order_and_report_every_drop_as_json() -> None:
    embedder = VectorEmbedder(
        {
            "skiing": axis(0),
            "skis": unit(0.9, axis=1),
            "snow": axis(2),
            # 0.96 like "snow" and equally similar to the rest: a tie drops the later one.
            "snowfield": [0.0, 0.0, 0.96, math.sqrt(1 - 0.96**2), 0.0, 0.0],
            "poles": axis(4),
        }
    )
    concepts = ["a very long description of ski poles", "skis", "snow", "snowfield", "poles (ski)"]
    kept, report = filter_concepts(concepts, ["skiing"], embedder, CONFIG)
    assert kept == report.kept == ["snow", "poles"]
    assert [d.rule for d in report.dropped] == ["too_long", "class_similarity", "duplicate"]
    assert json.loads(json.dumps(report.to_dict()))["dropped"][2]["partner"] == "snow"


def test_the_same_input_gives_the_same_output() -> None:
    vectors = {"run": axis(0), "track": unit(0.95), "shoes": unit(0.93, axis=2), "x": axis(3)}
    first = filter_concepts(["track", "shoes", "x"], ["run"], VectorEmbedder(vectors), CONFIG)
    second = filter_concepts(["track", "shoes", "x"], ["run"], VectorEmbedder(vectors), CONFIG)
    assert first == second


def test_an_embedder_returning_the_wrong_row_count_is_a_clear_error() -> None:
    class Broken:
        def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
            return np.ones((1, 4), dtype=np.float32)

    with pytest.raises(ValueError, match="one row per text"):
        filter_concepts(["ball", "net"], ["tennis"], Broken(), CONFIG)


def test_filters_work_with_the_dual_encoder_text_tower(tiny_clip) -> None:
    kept, report = filter_concepts(
        ["a running track", "the running", "shoes (red)"], ["running"], tiny_clip, CONFIG
    )
    assert "the running" not in kept and report.dropped_by("class_name")[0].partner == "running"
    assert report.renamed == {"shoes (red)": "shoes"}
    assert set(kept) <= {"a running track", "shoes"}
    assert (kept, report) == filter_concepts(
        ["a running track", "the running", "shoes (red)"], ["running"], tiny_clip, CONFIG
    )


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """The tiny random CLIP's text tower, as saved and loaded through from_pretrained."""
    from dance.encoders import DualEncoder, build_tiny_clip

    path = build_tiny_clip(str(tmp_path_factory.mktemp("tiny_clip")))
    return DualEncoder.from_pretrained(path, kind="clip_frames")
