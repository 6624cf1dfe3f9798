"""The COCO-17 skeleton: joint names, edges, left/right flip, and BlazePose's mapping to it.

"left" is always the PERSON's left: for a person facing the camera it lies on the image's
right side.
"""

from __future__ import annotations

COCO17_JOINTS: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)

# The standard COCO keypoint skeleton (0-based joint indices).
COCO17_EDGES: tuple[tuple[int, int], ...] = (
    (15, 13),
    (13, 11),
    (16, 14),
    (14, 12),
    (11, 12),
    (5, 11),
    (6, 12),
    (5, 6),
    (5, 7),
    (6, 8),
    (7, 9),
    (8, 10),
    (1, 2),
    (0, 1),
    (0, 2),
    (1, 3),
    (2, 4),
    (3, 5),
    (4, 6),
)

# BlazePose's 33 landmarks -> COCO-17: nose, eye centres (2, 5), ears (7, 8),
# shoulders, elbows, wrists, hips, knees, ankles.
BLAZEPOSE_TO_COCO17: tuple[int, ...] = (
    0,
    2,
    5,
    7,
    8,
    11,
    12,
    13,
    14,
    15,
    16,
    23,
    24,
    25,
    26,
    27,
    28,
)

# Joint i of a left-right mirrored pose is joint COCO17_FLIP[i] of the original.
COCO17_FLIP: tuple[int, ...] = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)

NUM_COCO17_JOINTS: int = len(COCO17_JOINTS)


def joint_index(name: str) -> int:
    """Return the COCO-17 index of a joint name (e.g. "left_wrist")."""
    try:
        return COCO17_JOINTS.index(name)
    except ValueError:
        raise ValueError(
            f"unknown COCO-17 joint {name!r}; expected one of {', '.join(COCO17_JOINTS)}"
        ) from None
