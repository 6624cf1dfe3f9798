"""Video Grad-CAM / HiResCAM (dance.posthoc) and `dance gradcam`.

Library tests use a tiny random VideoMAE classifier (16 frames of 32 px, tubelet 2, patch
8: a (8, 4, 4) token grid); the command tests use `tiny_trained` (conftest.py), whose
backbone is a bare tiny VideoMAE without a class head.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from dance.cli import app
from dance.encoders import VideoBackbone, build_tiny_videomae
from dance.errors import InputError
from dance.posthoc import TokenGrid, VideoCam, find_layer, grid_hooked, upsample_to_frames
from dance.video import open_video
from dance.workdir import manifest_uri, model_dir

GRID = (8, 4, 4)  # (T', H', W') of the tiny VideoMAE


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_tiny_videomae(str(tmp_path_factory.mktemp("gradcam") / "cls"), num_labels=3)


@pytest.fixture(scope="module")
def cam(classifier_dir: str) -> VideoCam:
    return VideoCam.for_backbone_head(VideoBackbone.from_pretrained(classifier_dir))


def _frames(height: int = 40, width: int = 56, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (16, height, width, 3), dtype=np.uint8)


def _token_gradients(cam: VideoCam, frames: np.ndarray, target: int) -> tuple:
    """(activations, gradients) of the last block's tokens, (N, C) each, by plain autograd."""
    backbone, seen = cam.backbone, {}
    _, layer = find_layer(backbone.encoder, None)

    def keep(module, args, output):
        output = output.detach().requires_grad_()
        seen["tokens"] = output
        return output

    handle = layer.register_forward_hook(keep)
    try:
        with torch.enable_grad():
            pixels = backbone.preprocess(frames[None])
            backbone.classifier(pixel_values=pixels).logits[0, target].backward()
    finally:
        handle.remove()
    return seen["tokens"][0].detach(), seen["tokens"].grad[0]


def test_token_grid_puts_a_hot_token_in_its_frame_and_cell(cam):
    t, h, w = 5, 2, 3
    hot = t * GRID[1] * GRID[2] + h * GRID[2] + w  # VideoMAE's tubelet order: t', h', w'
    _, layer = find_layer(cam.backbone.encoder, "encoder.layer.0")
    grids = []

    def plant(module, args, output):
        output = output.clone()
        output[:, hot] = 100.0
        return output

    planted = layer.register_forward_hook(plant)  # runs before the grid hook below
    try:
        grid = TokenGrid.for_config(cam.backbone.encoder.config)
        grid.register_forward_hook(lambda module, args, out: grids.append(out))
        with grid_hooked(layer, grid), torch.no_grad():
            cam.backbone.features(cam.backbone.preprocess(_frames()[None]))
    finally:
        planted.remove()
    (found,) = grids
    assert found.shape[2:] == GRID
    energy = found[0].abs().sum(dim=0)
    assert np.unravel_index(int(energy.argmax()), GRID) == (t, h, w)


def test_a_hot_grid_cell_lands_on_its_tubelet_frames_and_pixels():
    cam = torch.zeros(GRID)
    cam[5, 2, 3] = 1.0
    maps = upsample_to_frames(cam, 16, (32, 32))
    t, y, x = np.unravel_index(int(maps.argmax()), maps.shape)
    assert t in (10, 11) and 16 <= y < 24 and 24 <= x < 32  # tubelet 5 = frames 10-11


def test_gradcam_maps_have_the_frames_shape_and_lie_in_0_1(cam):
    result = cam.explain(_frames(40, 56), method="gradcam")
    assert result.maps.shape == (16, 40, 56) and result.maps.dtype == np.float32
    assert result.maps.min() >= 0 and result.maps.max() == pytest.approx(1.0)
    # a 40x56 frame is cropped to its centre 40x40 for the model: the sides carry no heat
    assert not result.maps[:, :, :8].any() and not result.maps[:, :, 48:].any()


def test_maps_can_be_drawn_at_another_resolution_of_the_same_frames(cam):
    result = cam.explain(_frames(40, 56), size=(80, 112))
    assert result.maps.shape == (16, 80, 112)


def test_hirescam_is_gradient_times_activation_summed_over_channels_then_relu(cam):
    frames = _frames()
    result = cam.explain(frames, method="hirescam")
    tokens, grads = _token_gradients(cam, frames, result.class_index)
    expected = torch.relu((grads * tokens).sum(dim=1)).reshape(GRID)
    np.testing.assert_allclose(result.grid, expected.numpy(), rtol=1e-4, atol=1e-6)


def test_gradcam_weights_each_channel_by_its_mean_gradient(cam):
    frames = _frames()
    result = cam.explain(frames, method="gradcam")
    tokens, grads = _token_gradients(cam, frames, result.class_index)
    expected = torch.relu(tokens @ grads.mean(dim=0)).reshape(GRID)
    np.testing.assert_allclose(result.grid, expected.numpy(), rtol=1e-4, atol=1e-6)


def test_the_predicted_class_is_explained_unless_one_is_given(cam):
    frames = _frames()
    predicted = cam.explain(frames)
    assert predicted.class_index == predicted.predicted_index
    other = (predicted.predicted_index + 1) % 3
    assert cam.explain(frames, class_index=other).class_index == other


def test_the_dance_target_explains_the_logit_of_the_embedded_clip(cam):
    from dance.train import DanceModel

    rng = np.random.default_rng(2)
    model = DanceModel(
        kind="dance", concept_weights={"motion": rng.normal(size=(4, 32)).astype(np.float32)},
        mean=np.zeros(4, np.float32), std=np.ones(4, np.float32),
        final_weight=rng.normal(size=(3, 4)).astype(np.float32),
        final_bias=np.zeros(3, np.float32), concept_names={"motion": ["m0", "m1", "m2", "m3"]},
        class_names=["a", "b", "c"],
    )
    frames = _frames()
    result = VideoCam.for_dance(cam.backbone, model).explain(frames)
    logits = model.logits(cam.backbone.embed(frames[None]))[0]
    assert result.class_index == int(logits.argmax())
    assert result.score == pytest.approx(float(logits.max()), rel=1e-5)
    assert result.maps.shape == (16, 40, 56)


def test_a_layer_that_does_not_exist_is_refused_with_the_valid_names(cam):
    with pytest.raises(InputError, match=r"encoder\.layer\.0, encoder\.layer\.1"):
        cam.explain(_frames(), layer="encoder.layer.7")


def test_an_unknown_class_is_refused_with_the_valid_names(cam):
    with pytest.raises(InputError, match="LABEL_0, LABEL_1, LABEL_2"):
        cam.class_index("jump")


def test_the_backbone_target_needs_a_class_head(tmp_path):
    bare = VideoBackbone.from_pretrained(build_tiny_videomae(str(tmp_path / "bare")))
    with pytest.raises(InputError, match="no classification head"):
        VideoCam.for_backbone_head(bare)


# --- `dance gradcam` ------------------------------------------------------------------


def _synth_video(cfg) -> str:
    from dance.manifest import Manifest

    return Manifest.read(manifest_uri(cfg.workdir)).table["uri"][0].as_py()


def _check_outputs(out: Path, entry: dict, video: str, num_frames: int) -> None:
    """The GIF and maps of one video match its sampled frames at the video's resolution."""
    with open_video(video) as reader:
        height, width = reader.info.height, reader.info.width
    assert entry["status"] == "ok" and entry["frames"] == num_frames
    assert entry["size"] == [height, width]
    assert Path(video).name not in json.dumps(entry["outputs"])  # names are a hash
    with Image.open(out / entry["outputs"]["gif"]) as gif:
        assert gif.n_frames == num_frames and gif.size == (width, height)
    maps = np.load(out / entry["outputs"]["maps"])
    assert maps.shape == (num_frames, height, width) and maps.dtype == np.float32
    assert 0 <= maps.min() and maps.max() <= 1


def _gradcam(*args: str):
    return CliRunner().invoke(app, ["gradcam", *args])


def test_gradcam_on_a_synth_video_writes_an_overlay_of_its_sampled_frames(tiny_trained, tmp_path):
    video = _synth_video(tiny_trained)
    result = _gradcam("--model", model_dir(tiny_trained.workdir), video, "--out", str(tmp_path),
                      "--method", "hirescam")
    assert result.exit_code == 0, result.output
    (entry,) = json.loads((tmp_path / "gradcam.json").read_text())["videos"]
    _check_outputs(tmp_path, entry, video, tiny_trained.backbone.num_frames)
    assert entry["method"] == "hirescam" and entry["layer"] == "encoder.layer.1"


def test_gradcam_on_a_real_video_writes_an_overlay_at_its_resolution(
    tiny_trained, shared_data, tmp_path
):
    video = shared_data / "acrobacia.mp4"
    if not video.is_file():
        pytest.skip(f"{video} is absent")
    result = _gradcam("--model", model_dir(tiny_trained.workdir), str(video), "--out",
                      str(tmp_path))
    assert result.exit_code == 0, result.output
    (entry,) = json.loads((tmp_path / "gradcam.json").read_text())["videos"]
    _check_outputs(tmp_path, entry, str(video), tiny_trained.backbone.num_frames)


def test_a_corrupt_video_is_reported_and_the_others_are_done(tiny_trained, tmp_path):
    corrupt = tmp_path / "x.mp4"
    corrupt.write_bytes(np.random.default_rng(1).bytes(4096))
    video = _synth_video(tiny_trained)
    out = tmp_path / "out"
    result = _gradcam("--model", model_dir(tiny_trained.workdir), str(corrupt), video,
                      "--out", str(out))
    assert result.exit_code == 1, result.output
    assert f"failed: {corrupt}:" in result.stderr
    bad, good = json.loads((out / "gradcam.json").read_text())["videos"]
    assert bad["status"] == "failed" and bad["error"]
    _check_outputs(out, good, video, tiny_trained.backbone.num_frames)


def test_the_backbone_target_on_a_headless_backbone_is_a_clear_error(tiny_trained, tmp_path):
    result = _gradcam("--model", model_dir(tiny_trained.workdir), _synth_video(tiny_trained),
                      "--out", str(tmp_path), "--target", "backbone")
    assert result.exit_code == 2
    assert "no classification head" in result.stderr and "--target dance" in result.stderr
