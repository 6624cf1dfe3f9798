"""BlazePose tracking mode: one call is one video; calls do not leak into each other."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mediapipe", reason="mediapipe is an optional extra: pip install 'dance[mediapipe]'")

from dance.config import PoseConfig, SynthConfig
from dance.pose.estimator import build_pose_estimator
from dance.synth import generate_dataset, load_ground_truth, normalised_joint_errors
from dance.video import open_video


@pytest.fixture(scope="module")
def two_videos(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[np.ndarray, np.ndarray]]:
    """Frames and ground-truth keypoints of two tiny DANCE-Synth videos of different classes."""
    root = Path(tmp_path_factory.mktemp("synth"))
    generate_dataset(SynthConfig.preset_config("tiny", workers=1), str(root), progress=False)
    truth = load_ground_truth(str(root))
    chosen = sorted(truth)[:: len(truth) // 2][:2]
    videos = []
    for video_id in chosen:
        with open_video(str(root / "videos" / f"{video_id}.mp4")) as reader:
            frames = reader.get_frames(range(reader.info.num_frames))
        videos.append((frames, truth[video_id].keypoints))
    return videos


def test_the_factory_builds_a_tracking_estimator_by_default() -> None:
    estimator = build_pose_estimator(PoseConfig(backend="mediapipe"))
    try:
        assert estimator.tracks_over_time is True
    finally:
        estimator.close()


def test_tracking_finds_and_localises_the_person_through_a_video(two_videos) -> None:
    frames, truth = two_videos[0]
    estimator = build_pose_estimator(PoseConfig(backend="mediapipe", mediapipe_tracking=True))
    try:
        result = estimator.estimate(frames)
    finally:
        estimator.close()
    assert result.found.mean() >= 0.9
    errors = [
        normalised_joint_errors(result.keypoints[t], truth[t])
        for t in np.flatnonzero(result.found)
    ]
    assert float(np.nanmean(errors)) < 0.1


def test_a_tracking_call_does_not_depend_on_the_previous_video(two_videos) -> None:
    (first, _), (second, _) = two_videos
    config = PoseConfig(backend="mediapipe", mediapipe_tracking=True)
    warm, fresh = build_pose_estimator(config), build_pose_estimator(config)
    try:
        warm.estimate(first)
        after_first = warm.estimate(second)
        alone = fresh.estimate(second)
    finally:
        warm.close()
        fresh.close()
    np.testing.assert_array_equal(after_first.found, alone.found)
    np.testing.assert_allclose(after_first.keypoints, alone.keypoints, equal_nan=True)
