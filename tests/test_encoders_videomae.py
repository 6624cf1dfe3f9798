"""The VideoMAE backbone: tiny random checkpoints saved, loaded and embedded like real ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dance.encoders import ModelLoadError, VideoBackbone, build_tiny_videomae

NUM_LABELS = 3


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny fine-tuned-style checkpoint (VideoMAEForVideoClassification, with fc_norm)."""
    return build_tiny_videomae(str(tmp_path_factory.mktemp("videomae_cls")), num_labels=NUM_LABELS)


@pytest.fixture(scope="module")
def backbone(classifier_dir: str) -> VideoBackbone:
    return VideoBackbone.from_pretrained(classifier_dir)


def random_clips(
    batch: int, seed: int, frames: int = 16, height: int = 40, width: int = 56
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (batch, frames, height, width, 3), dtype=np.uint8)


def test_loaded_backbone_reports_its_dimensions(backbone: VideoBackbone) -> None:
    assert (backbone.feature_dim, backbone.num_frames, backbone.image_size) == (32, 16, 32)


def test_the_saved_checkpoint_is_safetensors_with_a_preprocessor_config(
    classifier_dir: str,
) -> None:
    names = {p.name for p in Path(classifier_dir).iterdir()}
    assert {"config.json", "model.safetensors", "preprocessor_config.json"} <= names
    assert not any(name.endswith((".bin", ".pt", ".pth", ".pkl")) for name in names)


def test_embed_gives_one_finite_float32_row_per_clip(backbone: VideoBackbone) -> None:
    features = backbone.embed(random_clips(3, seed=0))
    assert features.shape == (3, 32) and features.dtype == np.float32
    assert np.isfinite(features).all()


def test_embed_is_deterministic_across_calls_and_loads(
    backbone: VideoBackbone, classifier_dir: str
) -> None:
    clips = random_clips(2, seed=1)
    first = backbone.embed(clips)
    np.testing.assert_array_equal(first, backbone.embed(clips))
    np.testing.assert_array_equal(first, VideoBackbone.from_pretrained(classifier_dir).embed(clips))


def test_a_clip_embeds_the_same_alone_and_inside_a_batch(backbone: VideoBackbone) -> None:
    clips = random_clips(4, seed=2)
    batched = backbone.embed(clips)
    alone = backbone.embed(clips[2:3])
    np.testing.assert_allclose(alone[0], batched[2], atol=1e-5)


def test_different_clips_get_different_features(backbone: VideoBackbone) -> None:
    features = backbone.embed(random_clips(2, seed=3))
    assert np.abs(features[0] - features[1]).max() > 1e-3


def test_the_feature_is_what_the_fine_tuned_classifier_head_reads(
    backbone: VideoBackbone, classifier_dir: str
) -> None:
    from transformers import VideoMAEForVideoClassification

    model = VideoMAEForVideoClassification.from_pretrained(
        classifier_dir, use_safetensors=True
    ).eval()
    clips = random_clips(2, seed=4)
    with torch.inference_mode():
        logits = model(pixel_values=backbone.preprocess(clips)).logits
        from_features = model.classifier(torch.from_numpy(backbone.embed(clips)))
    torch.testing.assert_close(from_features, logits, atol=1e-5, rtol=1e-5)


def test_a_bare_encoder_checkpoint_gives_the_plain_token_mean(tmp_path: Path) -> None:
    from transformers import VideoMAEModel

    path = build_tiny_videomae(str(tmp_path / "bare"))
    backbone = VideoBackbone.from_pretrained(path)
    model = VideoMAEModel.from_pretrained(path, use_safetensors=True).eval()
    clips = random_clips(2, seed=5)
    with torch.inference_mode():
        expected = model(pixel_values=backbone.preprocess(clips)).last_hidden_state.mean(1)
    np.testing.assert_allclose(backbone.embed(clips), expected.numpy(), atol=1e-6)


def test_preprocess_normalises_with_the_saved_mean_and_std(backbone: VideoBackbone) -> None:
    clips = np.full((1, 16, 48, 64, 3), (200, 100, 50), dtype=np.uint8)
    pixels = backbone.preprocess(clips)
    assert pixels.shape == (1, 16, 3, 32, 32)
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    expected = (np.array([200, 100, 50]) / 255 - mean) / std
    np.testing.assert_allclose(pixels[0, 0, :, 5, 7].numpy(), expected, atol=1e-5)


def test_preprocess_crops_the_centre_of_a_wide_frame(backbone: VideoBackbone) -> None:
    # 32 x 64 needs no resize; the centre crop keeps columns 16..47 only.
    clips = np.zeros((1, 16, 32, 64, 3), dtype=np.uint8)
    clips[..., 16:48, :] = 255
    pixels = backbone.preprocess(clips)
    assert torch.unique(pixels[0, :, 0]).numel() == 1  # all 255: nothing outside the centre


def test_preprocess_matches_the_hugging_face_image_processor(
    backbone: VideoBackbone, classifier_dir: str
) -> None:
    # transformers' own processor (PIL backend here): within 2 grey levels after normalising.
    from transformers import VideoMAEImageProcessor

    processor = VideoMAEImageProcessor.from_pretrained(classifier_dir)
    rng = np.random.default_rng(6)
    coarse = rng.integers(0, 256, (16, 6, 10, 3), dtype=np.uint8)
    frames = np.repeat(np.repeat(coarse, 8, axis=1), 8, axis=2)  # 48 x 80, smooth blocks
    ours = backbone.preprocess(frames[None])[0].numpy()
    theirs = np.asarray(processor(list(frames), return_tensors="np")["pixel_values"]).reshape(
        ours.shape
    )
    assert np.abs(ours - theirs).max() <= 2 / 255 / 0.224
    assert np.abs(ours - theirs).mean() < 0.01


def test_embed_refuses_clips_of_the_wrong_length(backbone: VideoBackbone) -> None:
    with pytest.raises(ValueError, match="takes exactly 16"):
        backbone.embed(random_clips(1, seed=7, frames=8))


def test_embed_refuses_float_frames(backbone: VideoBackbone) -> None:
    with pytest.raises(ValueError, match="uint8"):
        backbone.embed(random_clips(1, seed=8).astype(np.float32))


def test_a_missing_model_directory_is_named_in_the_error(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "model"
    with pytest.raises(ModelLoadError, match="does not exist") as error:
        VideoBackbone.from_pretrained(str(missing))
    assert str(missing) in str(error.value)


def test_a_directory_without_weights_lists_the_expected_files(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelLoadError, match=r"not a model directory: missing \*\.safetensors"):
        VideoBackbone.from_pretrained(str(tmp_path))


def test_pickled_weights_are_refused(tmp_path: Path, classifier_dir: str) -> None:
    (tmp_path / "config.json").write_text(Path(classifier_dir, "config.json").read_text())
    (tmp_path / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(ModelLoadError, match="would be unpickled"):
        VideoBackbone.from_pretrained(str(tmp_path))


def test_a_checkpoint_lacking_weights_is_refused_not_randomly_filled(tmp_path: Path) -> None:
    # A bare encoder labelled as a classifier: fc_norm and the head would be random.
    path = Path(build_tiny_videomae(str(tmp_path / "bare")))
    config = json.loads((path / "config.json").read_text())
    config["architectures"] = ["VideoMAEForVideoClassification"]
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="fc_norm.weight"):
        VideoBackbone.from_pretrained(str(path))


def test_an_unreachable_hub_id_suggests_a_local_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    # Offline mode: the hub client refuses every request, so nothing touches the network.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelLoadError, match="pass a local directory") as error:
        VideoBackbone.from_pretrained("dance-tests/no-such-videomae")
    assert "'dance-tests/no-such-videomae'" in str(error.value)


def test_the_tiny_builder_is_seeded(tmp_path: Path, backbone: VideoBackbone) -> None:
    rebuilt = build_tiny_videomae(str(tmp_path / "again"), num_labels=NUM_LABELS)
    clips = random_clips(1, seed=9)
    np.testing.assert_array_equal(
        VideoBackbone.from_pretrained(rebuilt).embed(clips), backbone.embed(clips)
    )
