"""The pose interface: PoseResult, the backend factory, annotations and the mediapipe backend."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from dance.config import PoseConfig
from dance.pose.estimator import (
    AnnotationPoseSource,
    PoseEstimator,
    PoseResult,
    build_pose_estimator,
)

_HAS_MEDIAPIPE = importlib.util.find_spec("mediapipe") is not None
_HAS_MMPOSE = importlib.util.find_spec("mmpose") is not None


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """One torch thread: tiny models are overhead-bound and threads spin on a busy machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _annotated_video(num_frames: int = 6) -> np.ndarray:
    """(T, 17, 3) keypoints whose x encodes the frame index, so rows are recognisable."""
    keypoints = np.zeros((num_frames, 17, 3), dtype=np.float32)
    keypoints[..., 0] = np.arange(num_frames)[:, None] * 10 + np.arange(17)[None, :]
    keypoints[..., 1] = 5.0 + np.arange(17)[None, :]
    keypoints[..., 2] = 1.0
    return keypoints


# --- PoseResult -----------------------------------------------------------------


def test_pose_result_missing_has_nan_boxes_and_no_found_frames() -> None:
    result = PoseResult.missing(3)
    assert len(result) == 3 and not result.found.any()
    assert np.isnan(result.boxes).all() and (result.keypoints[..., 2] == 0).all()


def test_pose_result_rejects_keypoints_that_are_not_coco17() -> None:
    with pytest.raises(ValueError, match=r"\(T, 17, 3\)"):
        PoseResult(keypoints=np.zeros((2, 33, 3)), boxes=np.zeros((2, 4)), found=np.ones(2, bool))


def test_pose_result_rejects_arrays_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="boxes"):
        PoseResult(keypoints=np.zeros((2, 17, 3)), boxes=np.zeros((3, 4)), found=np.ones(2, bool))


# --- annotations ------------------------------------------------------------------


def test_annotation_source_returns_the_given_keypoints_for_the_requested_frames() -> None:
    video = _annotated_video()
    source = AnnotationPoseSource({"v1": video}.__getitem__)
    result = source.for_video("v1", np.array([4, 1, 2]))
    np.testing.assert_array_equal(result.keypoints, video[[4, 1, 2]])
    assert result.found.all()


def test_annotation_source_boxes_bound_the_annotated_joints() -> None:
    source = AnnotationPoseSource({"v1": _annotated_video()}.__getitem__)
    result = source.for_video("v1", np.array([2]))
    np.testing.assert_array_equal(result.boxes, [[20.0, 5.0, 36.0, 21.0]])


def test_annotation_source_scores_two_column_keypoints_as_one() -> None:
    source = AnnotationPoseSource({"v1": _annotated_video()[..., :2]}.__getitem__)
    result = source.for_video("v1", np.array([0]))
    assert (result.keypoints[..., 2] == 1.0).all()


def test_annotation_source_marks_frames_without_visible_joints_not_found() -> None:
    video = _annotated_video()
    video[3, :, 2] = 0.0
    result = AnnotationPoseSource({"v1": video}.__getitem__).for_video("v1", np.array([3, 0]))
    assert result.found.tolist() == [False, True]
    assert np.isnan(result.boxes[0]).all() and np.isnan(result.keypoints[0, :, :2]).all()


def test_annotation_source_rejects_frames_outside_the_video() -> None:
    source = AnnotationPoseSource({"v1": _annotated_video(6)}.__getitem__)
    with pytest.raises(IndexError, match=r"'v1'.*6 frames"):
        source.for_video("v1", np.array([2, 6]))


def test_annotation_source_rejects_a_non_coco17_skeleton() -> None:
    source = AnnotationPoseSource(lambda video_id: np.zeros((4, 13, 3)))
    with pytest.raises(ValueError, match="COCO-17"):
        source.for_video("v1", np.array([0]))


# --- factory ----------------------------------------------------------------------


def test_factory_builds_the_vitpose_backend(tmp_path: Path, one_torch_thread: None) -> None:
    from dance.pose import ViTPoseEstimator, build_tiny_rtdetr, build_tiny_vitpose

    config = PoseConfig(
        backend="vitpose",
        model=build_tiny_vitpose(tmp_path / "pose"),
        detector=build_tiny_rtdetr(tmp_path / "det"),
        detector_threshold=0.4,
    )
    estimator = build_pose_estimator(config)
    assert isinstance(estimator, ViTPoseEstimator) and isinstance(estimator, PoseEstimator)
    assert estimator.detector_threshold == 0.4 and estimator.batch_size == 32


@pytest.mark.skipif(
    not _HAS_MEDIAPIPE, reason="mediapipe is not installed (pip install 'dance[mediapipe]')"
)
def test_factory_builds_the_mediapipe_backend() -> None:
    from dance.pose._mediapipe import MediaPipePoseEstimator

    estimator = build_pose_estimator(PoseConfig(backend="mediapipe"))
    try:
        assert isinstance(estimator, MediaPipePoseEstimator) and isinstance(
            estimator, PoseEstimator
        )
    finally:
        estimator.close()


@pytest.mark.skipif(
    _HAS_MMPOSE, reason="mmpose is importable here; the missing-package message cannot show"
)
def test_factory_explains_how_to_install_mmpose_when_it_is_absent() -> None:
    with pytest.raises(ImportError, match=r"pip install 'dance\[mmpose\]'.*docs/environment\.md"):
        build_pose_estimator(PoseConfig(backend="mmpose"))


def test_factory_points_annotations_to_the_annotation_source() -> None:
    with pytest.raises(ValueError, match="AnnotationPoseSource"):
        build_pose_estimator(PoseConfig(backend="annotations"))


# --- mediapipe on a real photo ---------------------------------------------------


@pytest.mark.skipif(
    not _HAS_MEDIAPIPE, reason="mediapipe is not installed (pip install 'dance[mediapipe]')"
)
def test_mediapipe_backend_finds_the_player_in_a_real_photo(shared_data: Path) -> None:
    from dance.pose._mediapipe import MediaPipePoseEstimator

    image = cv2.cvtColor(cv2.imread(str(shared_data / "messi5.jpg")), cv2.COLOR_BGR2RGB)
    height, width = image.shape[:2]
    with MediaPipePoseEstimator() as estimator:
        result = estimator.estimate(image[None])
    assert result.found.tolist() == [True]
    xs, ys = result.keypoints[0, :, 0], result.keypoints[0, :, 1]
    assert ((xs >= 0) & (xs <= width) & (ys >= 0) & (ys <= height)).all()
    x1, y1, x2, y2 = result.boxes[0]
    assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
