"""The vitpose backend (RT-DETR + ViTPose) on tiny random checkpoints saved to a tmp dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from dance.pose import (
    PoseEstimator,
    PoseResult,
    ViTPoseEstimator,
    build_tiny_rtdetr,
    build_tiny_vitpose,
)
from dance.pose._heatmaps import decode_heatmaps


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Run on one torch thread: tiny models are overhead-bound, and on a busy 2-core
    machine idle-spinning intra-op threads made them up to 50x slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(pose model dir, detector dir) of tiny random checkpoints."""
    root = tmp_path_factory.mktemp("tiny_pose")
    return build_tiny_vitpose(root / "vitpose"), build_tiny_rtdetr(root / "rtdetr")


@pytest.fixture(scope="module")
def estimator(tiny_models: tuple[str, str]) -> ViTPoseEstimator:
    """An estimator that accepts every detection (threshold 0), so every frame has a person."""
    model, detector = tiny_models
    return ViTPoseEstimator(
        model, detector, detector_threshold=0.0, batch_size=4, detector_batch_size=3
    )


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    """Seven random RGB frames, 48 x 64."""
    return np.random.default_rng(7).integers(0, 256, size=(7, 48, 64, 3), dtype=np.uint8)


def _gaussian_heatmap(x: float, y: float, height: int = 64, width: int = 48) -> np.ndarray:
    """A unit-peak Gaussian centred at pixel-index coordinates (x, y)."""
    grid_y, grid_x = np.mgrid[0:height, 0:width].astype(float)
    return np.exp(-((grid_x - x) ** 2 + (grid_y - y) ** 2) / (2 * 2.0**2))


def test_decode_heatmaps_finds_a_peak_to_sub_pixel_accuracy() -> None:
    heatmaps = np.stack([_gaussian_heatmap(20.3, 30.8), _gaussian_heatmap(5.7, 50.2)])[None]
    decoded = decode_heatmaps(torch.from_numpy(heatmaps).float())
    np.testing.assert_allclose(decoded[0, :, :2], [[20.3, 30.8], [5.7, 50.2]], atol=0.05)


def test_decode_heatmaps_scores_each_joint_with_its_heatmap_maximum() -> None:
    heatmaps = np.stack([0.3 * _gaussian_heatmap(10.0, 10.0), 0.9 * _gaussian_heatmap(30.0, 40.0)])
    decoded = decode_heatmaps(torch.from_numpy(heatmaps[None]).float())
    np.testing.assert_allclose(decoded[0, :, 2], [0.3, 0.9], rtol=1e-5)


def test_estimator_satisfies_the_pose_estimator_protocol(estimator: ViTPoseEstimator) -> None:
    assert isinstance(estimator, PoseEstimator)


def test_estimate_returns_one_pose_per_frame(
    estimator: ViTPoseEstimator, frames: np.ndarray
) -> None:
    result = estimator.estimate(frames)
    assert isinstance(result, PoseResult)
    assert result.keypoints.shape == (7, 17, 3) and result.keypoints.dtype == np.float32
    assert result.boxes.shape == (7, 4)
    assert result.found.tolist() == [True] * 7


def test_estimate_keeps_keypoints_and_boxes_inside_the_image(
    estimator: ViTPoseEstimator, frames: np.ndarray
) -> None:
    result = estimator.estimate(frames)
    xs, ys = result.keypoints[..., 0], result.keypoints[..., 1]
    assert np.isfinite(result.keypoints).all()
    assert ((xs >= 0) & (xs <= 64) & (ys >= 0) & (ys <= 48)).all()
    assert ((result.boxes[:, [0, 2]] >= 0) & (result.boxes[:, [0, 2]] <= 64)).all()
    assert ((result.boxes[:, [1, 3]] >= 0) & (result.boxes[:, [1, 3]] <= 48)).all()


def test_estimate_is_deterministic_across_loads(
    tiny_models: tuple[str, str], estimator: ViTPoseEstimator, frames: np.ndarray
) -> None:
    model, detector = tiny_models
    other = ViTPoseEstimator(model, detector, detector_threshold=0.0)
    first, second = estimator.estimate(frames), other.estimate(frames)
    np.testing.assert_array_equal(first.keypoints, second.keypoints)
    np.testing.assert_array_equal(first.boxes, second.boxes)


def test_a_batch_of_eight_crops_matches_crops_one_by_one(
    estimator: ViTPoseEstimator, frames: np.ndarray
) -> None:
    boxes = np.tile([[8.0, 4.0, 40.0, 44.0]], (8, 1))
    crops, _ = estimator.crop_persons(np.concatenate([frames, frames[:1]]), boxes)
    batched = estimator.estimate_crops(crops, batch_size=8)
    single = np.concatenate(
        [estimator.estimate_crops(crops[i : i + 1], batch_size=1) for i in range(8)]
    )
    np.testing.assert_allclose(batched, single, atol=1e-3)


def test_detector_batches_give_the_same_boxes_as_single_frames(
    tiny_models: tuple[str, str], estimator: ViTPoseEstimator, frames: np.ndarray
) -> None:
    model, detector = tiny_models
    single = ViTPoseEstimator(model, detector, detector_threshold=0.0, detector_batch_size=1)
    np.testing.assert_allclose(estimator.detect(frames)[0], single.detect(frames)[0], atol=1e-3)


def test_crops_pooled_across_videos_give_each_video_its_own_pose(
    estimator: ViTPoseEstimator, frames: np.ndarray
) -> None:
    video_a, video_b = frames[:3], frames[3:]
    parts = []
    for video in (video_a, video_b):
        boxes, found = estimator.detect(video)
        crops, regions = estimator.crop_persons(video[found], boxes[found])
        parts.append((crops, regions))
    pooled = estimator.estimate_crops(np.concatenate([parts[0][0], parts[1][0]]))
    pose_b = estimator.keypoints_to_image(pooled[3:], parts[1][1], 64, 48)
    np.testing.assert_allclose(pose_b, estimator.estimate(video_b).keypoints, atol=1e-3)


def test_a_threshold_no_score_exceeds_finds_nobody(
    tiny_models: tuple[str, str], frames: np.ndarray
) -> None:
    model, detector = tiny_models
    strict = ViTPoseEstimator(model, detector, detector_threshold=1.0)
    result = strict.estimate(frames[:3])
    assert not result.found.any()
    assert np.isnan(result.boxes).all()
    assert np.isnan(result.keypoints[..., :2]).all() and (result.keypoints[..., 2] == 0).all()


def test_estimate_of_no_frames_is_an_empty_result(estimator: ViTPoseEstimator) -> None:
    result = estimator.estimate(np.zeros((0, 48, 64, 3), dtype=np.uint8))
    assert result.keypoints.shape == (0, 17, 3) and len(result) == 0


def test_estimate_rejects_frames_that_are_not_rgb_uint8(estimator: ViTPoseEstimator) -> None:
    with pytest.raises(ValueError, match=r"RGB uint8 of shape \(T, H, W, 3\)"):
        estimator.estimate(np.zeros((2, 48, 64, 3), dtype=np.float32))


def test_estimate_crops_rejects_crops_of_the_wrong_size(estimator: ViTPoseEstimator) -> None:
    with pytest.raises(ValueError, match=r"\(N, 256, 192, 3\)"):
        estimator.estimate_crops(np.zeros((1, 64, 48, 3), dtype=np.uint8))


def test_a_closed_estimator_refuses_work(tiny_models: tuple[str, str], frames: np.ndarray) -> None:
    model, detector = tiny_models
    with ViTPoseEstimator(model, detector) as closing:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        closing.estimate(frames[:1])


def test_loading_a_missing_checkpoint_names_the_config_field(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="pose.model"):
        ViTPoseEstimator(str(tmp_path / "absent_pose"), str(tmp_path / "absent_det"))


def test_the_detector_batch_defaults_to_eight_frames_on_a_cpu(tiny_models: tuple[str, str]) -> None:
    from dance.config import PoseConfig

    model, detector = tiny_models
    built = ViTPoseEstimator.from_config(PoseConfig(model=model, detector=detector))
    assert built.detector_batch_size == 8


def test_a_configured_detector_batch_is_used(tiny_models: tuple[str, str]) -> None:
    from dance.config import PoseConfig

    model, detector = tiny_models
    config = PoseConfig(model=model, detector=detector, detector_batch_size=5)
    assert ViTPoseEstimator.from_config(config).detector_batch_size == 5
