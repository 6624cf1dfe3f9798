"""Penn Action adapter: .mat labels to a manifest, and its 13 joints to COCO-17 keypoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from dance.datasets import (
    PENN_ACTION_CLASSES,
    load_penn_action_keypoints,
    penn_action_manifest,
)
from dance.manifest import ManifestError


def _label(root: Path, video_id: str, action: str, train: int, frames: int = 3) -> None:
    """A labels/<id>.mat with the release's fields; joint j at (10j + t, 100 + j)."""
    (root / "labels").mkdir(parents=True, exist_ok=True)
    t = np.arange(frames)[:, None]
    j = np.arange(13)[None, :]
    visibility = np.ones((frames, 13))
    visibility[:, 12] = 0  # right ankle hidden
    scipy.io.savemat(
        root / "labels" / f"{video_id}.mat",
        {
            "action": action,
            "pose": "front",
            "train": train,
            "x": (10.0 * j + t).astype(np.float64),
            "y": (100.0 + j + 0 * t).astype(np.float64),
            "visibility": visibility,
            "nframes": frames,
            "dimensions": np.array([[240, 320, frames]]),
        },
    )


def _frames(root: Path, video_id: str) -> None:
    (root / "frames" / video_id).mkdir(parents=True)
    (root / "frames" / video_id / "000001.jpg").touch()


def test_labels_give_class_and_official_split_and_frame_folders_are_the_uri(
    tmp_path: Path,
) -> None:
    _label(tmp_path, "0001", "baseball_pitch", 1)
    _label(tmp_path, "0002", "tennis_serve", -1)
    _frames(tmp_path, "0001")
    _frames(tmp_path, "0002")
    manifest = penn_action_manifest(str(tmp_path))
    assert manifest.class_names == list(PENN_ACTION_CLASSES)
    assert len(manifest.class_names) == 15
    rows = {row["video_id"]: row for row in manifest.table.to_pylist()}
    assert rows["0001"]["split"] == "train" and rows["0001"]["label"] == 0
    assert rows["0002"]["split"] == "test" and rows["0002"]["label"] == 14
    assert rows["0001"]["uri"] == str(tmp_path / "frames" / "0001")


def test_a_video_file_is_preferred_over_a_frame_folder(tmp_path: Path) -> None:
    _label(tmp_path, "0007", "squat", 1)
    _frames(tmp_path, "0007")
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "0007.mp4").touch()
    manifest = penn_action_manifest(str(tmp_path))
    assert manifest.table.column("uri").to_pylist() == [str(tmp_path / "videos" / "0007.mp4")]


def test_keypoints_map_penn_joints_onto_coco_17(tmp_path: Path) -> None:
    _label(tmp_path, "0003", "pushup", 1, frames=4)
    keypoints = load_penn_action_keypoints(str(tmp_path), "0003")
    assert keypoints.shape == (4, 17, 3) and keypoints.dtype == np.float32
    # Penn head (joint 0) -> COCO nose; Penn left shoulder (1) -> COCO 5; right ankle (12) -> 16.
    np.testing.assert_array_equal(keypoints[2, 0], [2.0, 100.0, 1.0])
    np.testing.assert_array_equal(keypoints[2, 5], [12.0, 101.0, 1.0])
    np.testing.assert_array_equal(keypoints[2, 16], [122.0, 112.0, 0.0])
    # Eyes and ears are not annotated: score 0, placed on the head.
    np.testing.assert_array_equal(keypoints[:, 1:5, 2], 0.0)
    np.testing.assert_array_equal(keypoints[3, 1:5, :2], np.tile([3.0, 100.0], (4, 1)))


def test_keypoints_of_an_unknown_video_name_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"no label file for video_id '9999'"):
        load_penn_action_keypoints(str(tmp_path), "9999")


def test_an_unknown_action_is_named(tmp_path: Path) -> None:
    _label(tmp_path, "0001", "yoga", 1)
    _frames(tmp_path, "0001")
    with pytest.raises(ManifestError, match=r"unknown action.*0001.mat: yoga"):
        penn_action_manifest(str(tmp_path))


def test_a_label_without_its_video_is_listed(tmp_path: Path) -> None:
    _label(tmp_path, "0001", "bowl", 1)
    _label(tmp_path, "0002", "bowl", -1)
    _frames(tmp_path, "0001")
    with pytest.raises(ManifestError, match=r"1 video\(s\) listed but not found.*'0002'"):
        penn_action_manifest(str(tmp_path))


def test_a_bad_train_flag_is_refused(tmp_path: Path) -> None:
    _label(tmp_path, "0001", "bowl", 0)
    _frames(tmp_path, "0001")
    with pytest.raises(ManifestError, match=r"'train' must be 1 \(train\) or -1 \(test\)"):
        penn_action_manifest(str(tmp_path))


def test_a_root_without_labels_says_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"no labels/ folder.*labels/NNNN.mat"):
        penn_action_manifest(str(tmp_path))
    (tmp_path / "labels").mkdir()
    with pytest.raises(ManifestError, match="holds no .mat label files"):
        penn_action_manifest(str(tmp_path))
