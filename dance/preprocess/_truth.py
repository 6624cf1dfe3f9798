"""Annotated keypoints for the `annotations` pose backend and for scoring predictions."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dance import storage
from dance.config import DanceConfig
from dance.errors import InputError


def ground_truth_uri(cfg: DanceConfig) -> str | None:
    """preprocess.ground_truth, else DANCE-Synth's <dataset.root>/ground_truth.parquet if present."""
    if cfg.preprocess.ground_truth is not None:
        return cfg.preprocess.ground_truth
    if cfg.dataset.name == "synth" and cfg.dataset.root:
        uri = storage.join(cfg.dataset.root, "ground_truth.parquet")
        return uri if storage.exists(uri) else None
    return None


class GroundTruthKeypoints:
    """video_id -> (T, 17, 3) float32 keypoints from a DANCE-Synth ground_truth.parquet."""

    def __init__(self, uri: str) -> None:
        """Read the video_id, num_frames and keypoints columns once."""
        table = storage.read_parquet(uri, columns=["video_id", "num_frames", "keypoints"])
        self._uri = uri
        self._table = table
        self._row = {vid: i for i, vid in enumerate(table.column("video_id").to_pylist())}

    def __contains__(self, video_id: object) -> bool:
        """True if the file has keypoints for this video."""
        return video_id in self._row

    def __call__(self, video_id: str) -> np.ndarray:
        """The video's (T, 17, 3) x, y, visible keypoints in pixels."""
        row = self._row.get(video_id)
        if row is None:
            raise KeyError(
                f"no ground-truth keypoints for video_id {video_id!r} in {self._uri}; the "
                "annotations pose backend needs every video annotated"
            )
        frames = int(self._table.column("num_frames")[row].as_py())
        values = self._table.column("keypoints")[row].values.to_numpy(zero_copy_only=False)
        return np.asarray(values, dtype=np.float32).reshape(frames, 17, 3)


def annotation_reader(cfg: DanceConfig) -> Callable[[str], np.ndarray]:
    """The keypoint reader of the `annotations` backend for this dataset."""
    if cfg.dataset.name == "penn_action":
        from dance.datasets import load_penn_action_keypoints

        root = cfg.dataset.root or ""
        return lambda video_id: load_penn_action_keypoints(root, video_id)
    uri = ground_truth_uri(cfg)
    if uri is None:
        raise InputError(
            f"pose.backend=annotations needs keypoint annotations, but dataset "
            f"{cfg.dataset.name!r} has none; set preprocess.ground_truth to a "
            "ground_truth.parquet (video_id, num_frames, keypoints) or use pose.backend=mediapipe"
        )
    return GroundTruthKeypoints(uri)
