"""2D human pose: the COCO-17 skeleton and pose estimators (BlazePose offline on CPU)."""

from dance.pose.blazepose import BlazePoseEstimator
from dance.pose.skeleton import (
    BLAZEPOSE_TO_COCO17,
    COCO17_EDGES,
    COCO17_FLIP,
    COCO17_JOINTS,
    NUM_COCO17_JOINTS,
    joint_index,
)

__all__ = [
    "BLAZEPOSE_TO_COCO17",
    "COCO17_EDGES",
    "COCO17_FLIP",
    "COCO17_JOINTS",
    "NUM_COCO17_JOINTS",
    "BlazePoseEstimator",
    "joint_index",
]
