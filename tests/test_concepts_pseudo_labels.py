"""Pseudo labels are cosines between video and concept-text embeddings (Eq. 3), cached by content."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pytest

from dance.concepts.pseudo_labels import pseudo_label_table, pseudo_labels, text_embedding_key

TEMPLATE = "A video of {concept}"


class CountingEmbedder:
    """Maps known texts to fixed vectors and counts the texts it embeds."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = vectors
        self.calls = 0

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        rows = np.array([self.vectors[t] for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def embedder() -> CountingEmbedder:
    """Concept texts on the x and y axes of a 2-D space."""
    return CountingEmbedder({"A video of ball": [1.0, 0.0], "A video of court": [0.0, 1.0]})


VIDEO_IDS = ["v1", "v2", "v3"]
VIDEOS = np.array([[3.0, 4.0], [-1.0, 0.0], [0.0, 2.0]])


def test_labels_are_plain_cosines_without_softmax_or_temperature() -> None:
    labels = pseudo_labels(VIDEO_IDS, VIDEOS, ["ball", "court"], embedder(), TEMPLATE, "enc")
    expected = np.array([[0.6, 0.8], [-1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    assert labels.dtype == np.float32 and labels.shape == (3, 2)
    np.testing.assert_allclose(labels, expected, atol=1e-6)


def test_each_row_follows_its_video_id_not_the_row_order() -> None:
    order = [2, 0, 1]
    labels = pseudo_labels(VIDEO_IDS, VIDEOS, ["ball", "court"], embedder(), TEMPLATE, "enc")
    permuted = pseudo_labels(
        [VIDEO_IDS[i] for i in order], VIDEOS[order], ["ball", "court"], embedder(), TEMPLATE, "enc"
    )
    by_id = dict(zip([VIDEO_IDS[i] for i in order], permuted, strict=True))
    for row, video_id in enumerate(VIDEO_IDS):
        np.testing.assert_array_equal(labels[row], by_id[video_id])


def test_cached_text_embeddings_are_reused_without_calling_the_embedder(tmp_path) -> None:
    model = embedder()
    first = pseudo_labels(
        VIDEO_IDS, VIDEOS, ["ball", "court"], model, TEMPLATE, "enc", str(tmp_path)
    )
    second = pseudo_labels(
        VIDEO_IDS, VIDEOS, ["ball", "court"], model, TEMPLATE, "enc", str(tmp_path)
    )
    assert model.calls == 1
    np.testing.assert_array_equal(first, second)


def test_the_cache_key_changes_with_concepts_template_and_encoder() -> None:
    base = text_embedding_key(["ball", "court"], TEMPLATE, "enc")
    assert base == text_embedding_key(["ball", "court"], TEMPLATE, "enc")
    assert base != text_embedding_key(["court", "ball"], TEMPLATE, "enc")
    assert base != text_embedding_key(["ball", "court"], "A photo of {concept}", "enc")
    assert base != text_embedding_key(["ball", "court"], TEMPLATE, "other-encoder")


def test_another_encoder_id_does_not_read_the_first_encoders_cache(tmp_path) -> None:
    model = embedder()
    pseudo_labels(VIDEO_IDS, VIDEOS, ["ball"], model, TEMPLATE, "enc-a", str(tmp_path))
    pseudo_labels(VIDEO_IDS, VIDEOS, ["ball"], model, TEMPLATE, "enc-b", str(tmp_path))
    assert model.calls == 2


def test_a_zero_video_embedding_is_rejected_naming_the_video() -> None:
    videos = VIDEOS.copy()
    videos[1] = 0.0
    with pytest.raises(ValueError, match=r"\['v2'\]"):
        pseudo_labels(VIDEO_IDS, videos, ["ball"], embedder(), TEMPLATE, "enc")


def test_mismatched_ids_and_rows_are_rejected() -> None:
    with pytest.raises(ValueError, match="3 video_ids"):
        pseudo_labels(VIDEO_IDS, VIDEOS[:2], ["ball"], embedder(), TEMPLATE, "enc")


def test_repeated_video_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="repeat"):
        pseudo_labels(["v1", "v1", "v3"], VIDEOS, ["ball"], embedder(), TEMPLATE, "enc")


def test_a_template_without_the_concept_placeholder_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"\{concept\}"):
        pseudo_labels(VIDEO_IDS, VIDEOS, ["ball"], embedder(), "A video", "enc")


def test_text_and_video_dimensions_must_agree_naming_the_encoder() -> None:
    with pytest.raises(ValueError, match="'enc' have 2 dimensions"):
        pseudo_labels(VIDEO_IDS, np.ones((3, 5)), ["ball"], embedder(), TEMPLATE, "enc")


def test_the_label_table_is_keyed_by_video_id() -> None:
    labels = pseudo_labels(VIDEO_IDS, VIDEOS, ["ball", "court"], embedder(), TEMPLATE, "enc")
    table = pseudo_label_table(VIDEO_IDS, labels, "objects")
    assert table.schema.field("objects").type == pa.list_(pa.float32())
    rows = {r["video_id"]: r["objects"] for r in table.to_pylist()}
    np.testing.assert_allclose(rows["v1"], [0.6, 0.8], atol=1e-6)
    assert set(rows) == set(VIDEO_IDS)


def test_labels_from_the_tiny_dual_encoder_match_its_own_dot_products(tmp_path) -> None:
    from dance.encoders import DualEncoder, build_tiny_clip

    encoder = DualEncoder.from_pretrained(
        build_tiny_clip(str(tmp_path / "clip")), kind="clip_frames"
    )
    clips = np.random.default_rng(0).integers(0, 256, size=(2, 2, 32, 32, 3), dtype=np.uint8)
    videos = encoder.embed_videos(clips)
    concepts = ["ball", "court", "rope"]
    labels = pseudo_labels(
        ["a", "b"], videos, concepts, encoder, TEMPLATE, encoder.name_or_path, str(tmp_path / "c")
    )
    texts = encoder.embed_texts([f"A video of {c}" for c in concepts])
    np.testing.assert_allclose(labels, videos @ texts.T, atol=1e-5)
    assert np.all(np.abs(labels) <= 1.0 + 1e-6)
