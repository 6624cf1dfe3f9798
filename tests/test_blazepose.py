"""BlazePoseEstimator: COCO-17 output, real-photo detection, and accuracy on DANCE-Synth."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from dance.config import SynthConfig
from dance.pose import BlazePoseEstimator
from dance.synth import generate_dataset, load_ground_truth, normalised_joint_errors

mediapipe_missing = False
try:
    import mediapipe  # noqa: F401
except ImportError:
    mediapipe_missing = True
needs_mediapipe = pytest.mark.skipif(
    mediapipe_missing, reason="mediapipe is not installed (pip install 'dance[mediapipe]')"
)
FRAMES_PER_VIDEO = 4


@pytest.fixture(scope="module")
def estimator() -> Iterator[BlazePoseEstimator]:
    """One BlazePose graph for the module."""
    if mediapipe_missing:
        pytest.skip("mediapipe is not installed (pip install 'dance[mediapipe]')")
    with BlazePoseEstimator() as est:
        yield est


def test_missing_mediapipe_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mediapipe", None)
    monkeypatch.setitem(sys.modules, "mediapipe.python.solutions", None)
    with pytest.raises(ImportError, match=r"pip install 'dance\[mediapipe\]'"):
        BlazePoseEstimator()


@needs_mediapipe
def test_finds_the_person_in_a_real_photo(estimator: BlazePoseEstimator, shared_data: Path) -> None:
    import cv2

    image = cv2.cvtColor(cv2.imread(str(shared_data / "messi5.jpg")), cv2.COLOR_BGR2RGB)
    pose = estimator.estimate(image)
    assert pose is not None and pose.shape == (17, 3)
    width = image.shape[1]
    assert (pose[:, 0] > 0).all() and (pose[:, 0] < width).all()
    assert pose[:, 2].mean() > 0.5
    # The nose is above the hips in an upright player.
    assert pose[0, 1] < pose[11:13, 1].min()


@needs_mediapipe
def test_no_person_gives_none(estimator: BlazePoseEstimator) -> None:
    assert estimator.estimate(np.full((160, 160, 3), 90, np.uint8)) is None


@needs_mediapipe
def test_rejects_a_non_rgb_frame_with_a_hint(estimator: BlazePoseEstimator) -> None:
    with pytest.raises(ValueError, match="RGB uint8"):
        estimator.estimate(np.zeros((32, 32), np.float32))


@needs_mediapipe
def test_closed_estimator_refuses_work() -> None:
    est = BlazePoseEstimator()
    est.close()
    with pytest.raises(RuntimeError, match="closed"):
        est.estimate(np.zeros((64, 64, 3), np.uint8))


@needs_mediapipe
def test_detects_and_localises_the_synth_person(
    estimator: BlazePoseEstimator, tmp_path: Path
) -> None:
    """On tiny, >= 90 % of sampled frames have a person; mean error < 10 % of person height.

    Person height: the vertical extent of the visible ground-truth joints in that frame.
    """
    import decord

    generate_dataset(SynthConfig.preset_config("tiny", workers=1), str(tmp_path))
    found, errors, total = 0, [], 0
    for video_id, gt in sorted(load_ground_truth(str(tmp_path)).items()):
        folder = "videos_shifted" if gt.shifted else "videos"
        reader = decord.VideoReader(str(tmp_path / folder / f"{video_id}.mp4"))
        for index in np.linspace(0, len(reader) - 1, FRAMES_PER_VIDEO).round().astype(int):
            pose = estimator.estimate(reader[int(index)].asnumpy())
            total += 1
            if pose is not None:
                found += 1
                errors.append(np.nanmean(normalised_joint_errors(pose, gt.keypoints[index])))
    assert found / total >= 0.9
    assert float(np.mean(errors)) < 0.10
