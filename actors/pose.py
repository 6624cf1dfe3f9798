"""PoseStage: 2D pose of the key clips' frames, batched across videos, into clip rows."""

from __future__ import annotations

import functools

import pyarrow as pa

from actors._device import assigned_device
from dance import storage
from dance.config import DanceConfig
from dance.pose.estimator import build_pose_estimator
from dance.preprocess import (
    POSED_SCHEMA,
    annotation_reader,
    features_only_batch,
    pose_batch,
    rows_to_table,
)


class PoseStage:
    """Ray Data stage (actor pool): DECODED_SCHEMA rows in, POSED_SCHEMA rows out.

    Model backends run once per batch over all videos' unique key-clip frames of one size;
    the `annotations` backend reads the dataset's keypoints for those frames instead.
    """

    def __init__(self, cfg: DanceConfig, features_only: bool = False) -> None:
        """Build the pose backend (on a GPU when the stage was given one); none when
        `features_only` (a shifted test set: rows pass on without clips)."""
        storage.configure(cfg.storage)
        self._config = cfg.pose
        self._features_only = features_only
        self._estimator = None
        self._annotations = None
        if features_only:
            return
        if cfg.pose.backend == "annotations":
            from dance.pose.estimator import AnnotationPoseSource

            reader = functools.lru_cache(maxsize=16)(annotation_reader(cfg))
            self._annotations = AnnotationPoseSource(reader).for_video
        else:
            self._estimator = build_pose_estimator(cfg.pose, device=assigned_device())

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Clip rows (all rejected no_person without a person) or a pose_error per video."""
        if self._features_only:
            return rows_to_table(features_only_batch(batch.to_pylist()), POSED_SCHEMA)
        rows = pose_batch(
            batch.to_pylist(), self._config, estimator=self._estimator, annotations=self._annotations
        )
        return rows_to_table(rows, POSED_SCHEMA)
