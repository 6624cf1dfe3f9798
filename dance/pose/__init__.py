"""2D human pose: the COCO-17 skeleton and pose estimators (BlazePose offline on CPU).

`build_pose_estimator(config)` builds the configured backend. The model-backed backends
(ViTPose, mmpose, MediaPipe) and the tiny-checkpoint builders load torch or transformers,
so they are imported on first access: importing `dance.pose` loads no model library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dance._lazy import lazy_exports
from dance.pose.blazepose import BlazePoseEstimator
from dance.pose.estimator import PoseEstimator, PoseResult, build_pose_estimator
from dance.pose.skeleton import (
    BLAZEPOSE_TO_COCO17,
    COCO17_EDGES,
    COCO17_FLIP,
    COCO17_JOINTS,
    NUM_COCO17_JOINTS,
    joint_index,
)

if TYPE_CHECKING:
    from dance.pose._annotations import AnnotationPoseSource
    from dance.pose._mediapipe import MediaPipePoseEstimator
    from dance.pose._mmpose import MMPoseEstimator
    from dance.pose._tiny import build_tiny_rtdetr, build_tiny_vitpose
    from dance.pose._vitpose import ViTPoseEstimator

# Model-backed names, imported on first access.
__getattr__ = lazy_exports(
    __name__,
    {
        "dance.pose._annotations": ("AnnotationPoseSource",),
        "dance.pose._mediapipe": ("MediaPipePoseEstimator",),
        "dance.pose._mmpose": ("MMPoseEstimator",),
        "dance.pose._tiny": ("build_tiny_rtdetr", "build_tiny_vitpose"),
        "dance.pose._vitpose": ("ViTPoseEstimator",),
    },
)

__all__ = [
    "BLAZEPOSE_TO_COCO17",
    "COCO17_EDGES",
    "COCO17_FLIP",
    "COCO17_JOINTS",
    "NUM_COCO17_JOINTS",
    "AnnotationPoseSource",
    "BlazePoseEstimator",
    "MMPoseEstimator",
    "MediaPipePoseEstimator",
    "PoseEstimator",
    "PoseResult",
    "ViTPoseEstimator",
    "build_pose_estimator",
    "build_tiny_rtdetr",
    "build_tiny_vitpose",
    "joint_index",
]
