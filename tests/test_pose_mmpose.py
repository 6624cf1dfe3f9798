"""The mmpose backend on a tiny random ViTPose-style model (run with `make test-mmpose`).

The model has random weights, so keypoints are only checked for shape, range,
determinism and geometry (which region they come from), never for accuracy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip(
    "mmpose",
    reason="mmpose is an optional extra with its own environment: run `make test-mmpose`",
)

import cv2
import torch
from safetensors.torch import load_file

from dance.config import PoseConfig
from dance.pose._boxes import crop_and_resize, crop_boxes
from dance.pose._mmpose import MMPoseEstimator, PersonBoxes, whole_frame_detector
from dance.pose._mmpose_loading import load_state_dict
from dance.pose._mmpose_vit import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    DancePlainViT,
    build_tiny_vitpose,
)
from dance.pose.estimator import PoseEstimator, PoseResult, build_pose_estimator

FRAME_H, FRAME_W = 120, 160


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """One torch thread: the tiny model is overhead-bound on a busy 2-core machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the tiny model's JSON config and safetensors checkpoint."""
    return build_tiny_vitpose(tmp_path_factory.mktemp("tiny_mmpose"), seed=0)


class FixedBoxes:
    """A person detector returning the same candidate boxes and scores for every frame."""

    def __init__(self, boxes: list[list[float]], scores: list[float]) -> None:
        self.boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        self.scores = np.asarray(scores, dtype=np.float64)

    def __call__(self, frames: np.ndarray) -> list[PersonBoxes]:
        return [(self.boxes, self.scores) for _ in range(frames.shape[0])]


PERSON = [40.0, 20.0, 90.0, 110.0]


@pytest.fixture(scope="module")
def estimator(tiny_folder: Path) -> MMPoseEstimator:
    """The tiny model with one fixed person box per frame, batches of 2 frames."""
    return MMPoseEstimator.from_folder(tiny_folder, FixedBoxes([PERSON], [0.9]), batch_size=2)


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    """Five random RGB frames, 160 x 120."""
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, size=(5, FRAME_H, FRAME_W, 3), dtype=np.uint8)


def test_estimator_satisfies_the_pose_estimator_protocol(estimator: MMPoseEstimator) -> None:
    assert isinstance(estimator, PoseEstimator)


def test_estimate_returns_one_pose_per_frame_inside_the_image(
    estimator: MMPoseEstimator, frames: np.ndarray
) -> None:
    result = estimator.estimate(frames)
    assert isinstance(result, PoseResult)
    assert result.keypoints.shape == (5, 17, 3) and result.keypoints.dtype == np.float32
    assert result.found.tolist() == [True] * 5
    xy = result.keypoints[..., :2]
    assert np.isfinite(result.keypoints).all()
    assert (xy[..., 0] >= 0).all() and (xy[..., 0] <= FRAME_W).all()
    assert (xy[..., 1] >= 0).all() and (xy[..., 1] <= FRAME_H).all()
    assert (result.keypoints[..., 2] >= 0).all()


def test_estimate_is_deterministic_across_loads(
    tiny_folder: Path, estimator: MMPoseEstimator, frames: np.ndarray
) -> None:
    again = MMPoseEstimator.from_folder(tiny_folder, FixedBoxes([PERSON], [0.9]), batch_size=3)
    np.testing.assert_array_equal(
        again.estimate(frames).keypoints, estimator.estimate(frames).keypoints
    )


def test_the_tiny_model_builder_is_seeded(tmp_path: Path, tiny_folder: Path) -> None:
    rebuilt = load_file(str(build_tiny_vitpose(tmp_path, seed=0) / CHECKPOINT_FILE))
    original = load_file(str(tiny_folder / CHECKPOINT_FILE))
    assert rebuilt.keys() == original.keys()
    assert all(torch.equal(rebuilt[name], original[name]) for name in original)


def test_the_largest_box_above_threshold_is_the_person(
    tiny_folder: Path, frames: np.ndarray
) -> None:
    small, large, larger_but_unsure = [10, 10, 30, 40], PERSON, [0, 0, 150, 115]
    detector = FixedBoxes([small, large, larger_but_unsure], [0.9, 0.8, 0.1])
    with MMPoseEstimator.from_folder(tiny_folder, detector, detector_threshold=0.25) as est:
        result = est.estimate(frames[:2])
    np.testing.assert_array_equal(result.boxes, np.array([large, large], dtype=np.float32))


def test_frames_without_a_confident_person_are_missing(
    tiny_folder: Path, frames: np.ndarray
) -> None:
    detector = FixedBoxes([PERSON], [0.2])
    with MMPoseEstimator.from_folder(tiny_folder, detector, detector_threshold=0.25) as est:
        result = est.estimate(frames[:2])
    assert result.found.tolist() == [False, False]
    assert np.isnan(result.keypoints[..., :2]).all() and (result.keypoints[..., 2] == 0).all()


def test_regions_are_the_box_maths_of_the_vitpose_backend(estimator: MMPoseEstimator) -> None:
    boxes = np.array([PERSON, [0.0, 0.0, 30.0, 100.0]])
    expected = crop_boxes(boxes, 10, (3, 4), FRAME_W, FRAME_H)
    np.testing.assert_allclose(estimator.regions(boxes, FRAME_W, FRAME_H), expected)


def test_mmpose_crops_the_same_pixels_as_dance_box_maths(
    estimator: MMPoseEstimator, frames: np.ndarray
) -> None:
    # Smooth waves (up to ~25 grey levels per pixel): a half-pixel misalignment shows up
    # as ~10 levels, OpenCV's 1/32-pixel fixed-point sampling as at most ~2.
    grid_y, grid_x = np.mgrid[0:FRAME_H, 0:FRAME_W].astype(np.float64)
    waves = [np.sin(grid_x / 5), np.cos(grid_y / 6), np.sin((grid_x + grid_y) / 7)]
    smooth = np.round(127.5 + 127 * np.stack(waves, axis=-1)).astype(np.uint8)
    regions = estimator.regions(np.array([PERSON, [100.0, 10.0, 160.0, 60.0]]), FRAME_W, FRAME_H)
    crops = estimator.crops(np.stack([smooth, smooth]), regions)
    width, height = estimator.input_size
    assert (width, height) == (192, 256)
    for crop, region in zip(crops, regions):
        expected = crop_and_resize(smooth, region, width, height)
        difference = np.abs(crop.astype(int) - expected.astype(int))
        assert difference.max() <= 2, f"region {region}: max difference {difference.max()}"
        assert difference.mean() < 0.5, f"region {region}: mean difference {difference.mean()}"


def test_keypoints_come_from_inside_the_crop_region(
    estimator: MMPoseEstimator, frames: np.ndarray
) -> None:
    region = estimator.regions(np.array([PERSON]), FRAME_W, FRAME_H)[0]
    keypoints = estimator.estimate(frames).keypoints
    # Heatmap pixels span the region edge to edge (UDP); refinement moves < 1 heatmap pixel.
    slack_x = (region[2] - region[0]) / (48 - 1)
    slack_y = (region[3] - region[1]) / (64 - 1)
    assert (keypoints[..., 0] >= region[0] - slack_x).all()
    assert (keypoints[..., 0] <= region[2] + slack_x).all()
    assert (keypoints[..., 1] >= region[1] - slack_y).all()
    assert (keypoints[..., 1] <= region[3] + slack_y).all()


def test_a_pth_state_dict_loads_like_the_safetensors_checkpoint(
    tmp_path: Path, tiny_folder: Path, estimator: MMPoseEstimator, frames: np.ndarray
) -> None:
    state = load_file(str(tiny_folder / CHECKPOINT_FILE))
    torch.save({"state_dict": state}, tmp_path / "model.pth")
    est = MMPoseEstimator(
        tiny_folder / CONFIG_FILE, tmp_path / "model.pth", FixedBoxes([PERSON], [0.9])
    )
    np.testing.assert_array_equal(
        est.estimate(frames[:2]).keypoints, estimator.estimate(frames[:2]).keypoints
    )


def test_a_checkpoint_for_another_model_is_refused_by_name(
    tmp_path: Path, tiny_folder: Path
) -> None:
    state = load_file(str(tiny_folder / CHECKPOINT_FILE))
    state["backbone.extra.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "model.pth")
    with pytest.raises(ValueError, match="unexpected.*backbone.extra.weight"):
        MMPoseEstimator(tiny_folder / CONFIG_FILE, tmp_path / "model.pth")


def test_a_pickled_object_checkpoint_is_refused(tmp_path: Path) -> None:
    torch.save(
        {"state_dict": {"w": torch.zeros(1)}, "meta": FixedBoxes([PERSON], [1.0])},
        tmp_path / "model.pth",
    )
    with pytest.raises(ValueError, match="weights_only=True"):
        load_state_dict(tmp_path / "model.pth")


def test_a_python_config_is_refused_with_the_conversion_hint(
    tmp_path: Path, tiny_folder: Path
) -> None:
    (tmp_path / "config.py").write_text("model = dict()\n")
    with pytest.raises(ValueError, match="never executed.*Config.fromfile"):
        MMPoseEstimator(tmp_path / "config.py", tiny_folder / CHECKPOINT_FILE)


def test_plain_vit_gives_a_patch_grid_feature_map_with_mmpretrain_names() -> None:
    arch = {"embed_dims": 16, "num_layers": 1, "num_heads": 2, "feedforward_channels": 32}
    vit = DancePlainViT(arch, img_size=(256, 192), patch_cfg={"padding": 2}).eval()
    (features,) = vit(torch.zeros(2, 3, 256, 192))
    assert features.shape == (2, 16, 16, 12)
    names = set(vit.state_dict())
    assert {
        "patch_embed.projection.weight",
        "pos_embed",
        "layers.0.ln1.weight",
        "layers.0.attn.qkv.weight",
        "layers.0.attn.proj.weight",
        "layers.0.ln2.weight",
        "layers.0.ffn.layers.0.0.weight",
        "layers.0.ffn.layers.1.weight",
        "ln1.weight",
    } <= names


def test_plain_vit_refuses_an_input_of_another_size() -> None:
    arch = {"embed_dims": 16, "num_layers": 1, "num_heads": 2, "feedforward_channels": 32}
    vit = DancePlainViT(arch, img_size=(256, 192))
    with pytest.raises(ValueError, match="img_size"):
        vit(torch.zeros(1, 3, 224, 224))


def test_build_pose_estimator_gives_the_mmpose_backend(tiny_folder: Path) -> None:
    config = PoseConfig(backend="mmpose", model=str(tiny_folder), detector="whole_frame")
    estimator = build_pose_estimator(config)
    assert isinstance(estimator, MMPoseEstimator)
    assert estimator.person_detector is whole_frame_detector


def test_build_pose_estimator_refuses_a_detector_this_environment_lacks(
    tiny_folder: Path,
) -> None:
    config = PoseConfig(backend="mmpose", model=str(tiny_folder))
    with pytest.raises(ValueError, match="pose.detector=whole_frame"):
        build_pose_estimator(config)


def test_runs_on_a_real_photo(shared_data: Path, tiny_folder: Path) -> None:
    # Random weights: only the shape and range of the output are meaningful.
    image = cv2.imread(str(shared_data / "messi5.jpg"))
    assert image is not None, "messi5.jpg could not be read"
    frame = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)[None]
    height, width = frame.shape[1:3]
    with MMPoseEstimator.from_folder(tiny_folder) as est:
        result = est.estimate(frame)
    assert result.found.tolist() == [True]
    np.testing.assert_array_equal(result.boxes[0], [0, 0, width, height])
    xy = result.keypoints[0, :, :2]
    assert ((xy >= 0) & (xy <= [width, height])).all()
