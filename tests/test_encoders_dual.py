"""Video-text dual encoders: tiny random X-CLIP and CLIP saved, loaded and embedded like real ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dance.encoders import (
    DualEncoder,
    ModelLoadError,
    VideoTextEncoder,
    build_tiny_clip,
    build_tiny_xclip,
)

TEXTS = ["A video of a bicycle", "A video of a swimming pool", "A video of a kitchen"]


@pytest.fixture(scope="module")
def xclip_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_tiny_xclip(str(tmp_path_factory.mktemp("xclip")))


@pytest.fixture(scope="module")
def xclip(xclip_dir: str) -> DualEncoder:
    return DualEncoder.from_pretrained(xclip_dir, kind="xclip")


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_tiny_clip(str(tmp_path_factory.mktemp("clip")))


@pytest.fixture(scope="module")
def clip(clip_dir: str) -> DualEncoder:
    return DualEncoder.from_pretrained(clip_dir, kind="clip_frames")


def random_clips(batch: int, seed: int, frames: int = 8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (batch, frames, 36, 48, 3), dtype=np.uint8)


def assert_unit_rows(rows: np.ndarray) -> None:
    assert rows.dtype == np.float32 and np.isfinite(rows).all()
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("name", ["xclip", "clip"])
def test_video_embeddings_are_unit_rows_of_the_shared_size(
    name: str, request: pytest.FixtureRequest
) -> None:
    encoder: DualEncoder = request.getfixturevalue(name)
    videos = encoder.embed_videos(random_clips(3, seed=0))
    assert encoder.embed_dim == 16 and videos.shape == (3, 16)
    assert_unit_rows(videos)


@pytest.mark.parametrize("name", ["xclip", "clip"])
def test_text_embeddings_are_unit_rows_of_the_shared_size(
    name: str, request: pytest.FixtureRequest
) -> None:
    encoder: DualEncoder = request.getfixturevalue(name)
    texts = encoder.embed_texts(TEXTS)
    assert texts.shape == (3, 16)
    assert_unit_rows(texts)
    assert np.abs(texts[0] - texts[1]).max() > 1e-3  # different texts, different rows


@pytest.mark.parametrize("name", ["xclip", "clip"])
def test_embeddings_are_deterministic_across_calls_and_loads(
    name: str, request: pytest.FixtureRequest
) -> None:
    encoder: DualEncoder = request.getfixturevalue(name)
    path = request.getfixturevalue(f"{name}_dir")
    reloaded = DualEncoder.from_pretrained(path, kind=encoder.kind)
    clips = random_clips(2, seed=1)
    np.testing.assert_array_equal(encoder.embed_videos(clips), encoder.embed_videos(clips))
    np.testing.assert_array_equal(encoder.embed_videos(clips), reloaded.embed_videos(clips))
    np.testing.assert_array_equal(encoder.embed_texts(TEXTS), reloaded.embed_texts(TEXTS))


@pytest.mark.parametrize("name", ["xclip", "clip"])
def test_pseudo_labels_are_cosines_between_videos_and_texts(
    name: str, request: pytest.FixtureRequest
) -> None:
    encoder: DualEncoder = request.getfixturevalue(name)
    videos, texts = encoder.embed_videos(random_clips(2, seed=2)), encoder.embed_texts(TEXTS)
    cosine = videos @ texts.T
    assert cosine.shape == (2, 3)
    assert np.all(np.abs(cosine) <= 1 + 1e-5)
    assert np.ptp(cosine) > 0  # the labels separate concepts and videos


def test_a_text_embeds_the_same_alone_and_padded_inside_a_batch(xclip: DualEncoder) -> None:
    batch = xclip.embed_texts(["a", "A video of someone riding a horse on a beach at sunset"])
    np.testing.assert_allclose(xclip.embed_texts(["a"])[0], batch[0], atol=1e-5)


def test_a_video_embeds_the_same_alone_and_inside_a_batch(xclip: DualEncoder) -> None:
    clips = random_clips(3, seed=3)
    np.testing.assert_allclose(
        xclip.embed_videos(clips[1:2])[0], xclip.embed_videos(clips)[1], atol=1e-5
    )


def test_texts_longer_than_the_context_are_truncated_not_refused(clip: DualEncoder) -> None:
    assert clip.embed_texts(["a very long concept " * 40]).shape == (1, 16)


def test_no_texts_give_an_empty_matrix(clip: DualEncoder) -> None:
    assert clip.embed_texts([]).shape == (0, 16)


def test_a_bare_string_is_refused_instead_of_embedded_letter_by_letter(clip: DualEncoder) -> None:
    with pytest.raises(TypeError, match="wrap a single text in a list"):
        clip.embed_texts("A video of a bicycle")


def test_clip_frames_averages_frame_features(clip: DualEncoder) -> None:
    # A clip of one image repeated embeds like that image alone.
    frame = random_clips(1, seed=4, frames=1)
    repeated = np.repeat(frame, 8, axis=1)
    np.testing.assert_allclose(clip.embed_videos(repeated), clip.embed_videos(frame), atol=1e-5)


def test_xclip_refuses_a_clip_length_its_frame_transformer_was_not_built_for(
    xclip: DualEncoder,
) -> None:
    with pytest.raises(ValueError, match="takes exactly 8"):
        xclip.embed_videos(random_clips(1, seed=5, frames=16))


def test_dual_encoders_satisfy_the_plug_in_protocol(xclip: DualEncoder, clip: DualEncoder) -> None:
    assert isinstance(xclip, VideoTextEncoder) and isinstance(clip, VideoTextEncoder)


def test_the_checkpoint_ships_its_tokenizer_and_safetensors_weights(xclip_dir: str) -> None:
    names = {p.name for p in Path(xclip_dir).iterdir()}
    assert {
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "preprocessor_config.json",
    } <= names


def test_a_kind_that_does_not_match_the_checkpoint_names_the_right_kind(xclip_dir: str) -> None:
    with pytest.raises(ModelLoadError, match="use kind='xclip'"):
        DualEncoder.from_pretrained(xclip_dir, kind="clip_frames")


def test_a_missing_model_directory_is_named_in_the_error(tmp_path: Path) -> None:
    missing = tmp_path / "absent"
    with pytest.raises(ModelLoadError, match="does not exist") as error:
        DualEncoder.from_pretrained(str(missing))
    assert str(missing) in str(error.value)
