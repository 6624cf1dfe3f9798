"""Read DANCE-Synth ground truth back, and score predicted 2D poses against it."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from dance import storage
from dance.errors import InputError


@dataclass(frozen=True)
class VideoGroundTruth:
    """One video's causes: per-frame COCO-17 keypoints, primitives and boxes, object and scene.

    Boxes are (T, 4) float32 x0, y0, x1, y1 in pixel-edge coordinates of the drawn pixels
    (frame[y0:y1, x0:x1] holds them all; the object's box includes parts the person covers);
    an object row is NaN where the object is not in the frame. None: the dataset was rendered
    before generator version 3; `boxes()` then says to render it again.
    """

    video_id: str
    keypoints: np.ndarray  # (T, 17, 3) float32: x, y in pixels, visible (1 inside the frame)
    primitives: np.ndarray  # (T,) int32 ids into primitives.json
    object: str
    scene: str
    shifted: bool
    person_boxes: np.ndarray | None = None  # (T, 4) float32
    object_boxes: np.ndarray | None = None  # (T, 4) float32, NaN rows: object not in the frame

    def boxes(self) -> tuple[np.ndarray, np.ndarray]:
        """(person_boxes, object_boxes), or InputError for a dataset rendered without them."""
        if self.person_boxes is None or self.object_boxes is None:
            raise InputError(
                f"the ground truth of {self.video_id} has no boxes (rendered before DANCE-Synth "
                "generator version 3); render the dataset again with `dance synth` or "
                "dance.synth.generate_dataset into a fresh folder"
            )
        return self.person_boxes, self.object_boxes


def load_ground_truth(out_dir: str) -> dict[str, VideoGroundTruth]:
    """ground_truth.parquet of a generated dataset, keyed by video_id.

    Files from generator versions before 3 load with person_boxes and object_boxes None.
    """
    path = os.path.join(out_dir, "ground_truth.parquet")
    if not storage.exists(path):
        raise FileNotFoundError(
            f"no ground truth at {path}; generate the dataset with dance.synth.generate_dataset"
        )
    table = storage.read_parquet(path)
    out: dict[str, VideoGroundTruth] = {}
    for row in table.to_pylist():
        frames = int(row["num_frames"])
        out[row["video_id"]] = VideoGroundTruth(
            video_id=row["video_id"],
            keypoints=np.asarray(row["keypoints"], dtype=np.float32).reshape(frames, 17, 3),
            primitives=np.asarray(row["primitives"], dtype=np.int32),
            object=row["object"],
            scene=row["scene"],
            shifted=bool(row["shifted"]),
            person_boxes=_boxes(row.get("person_boxes"), frames),
            object_boxes=_boxes(row.get("object_boxes"), frames),
        )
    return out


def _boxes(values: list[float] | None, frames: int) -> np.ndarray | None:
    """A flattened boxes cell as (T, 4) float32; None when the table has no such column."""
    if values is None:
        return None
    return np.asarray(values, dtype=np.float32).reshape(frames, 4)


def read_captions(root: str) -> dict[str, list[str]]:
    """captions.parquet of a generated dataset (local folder or URI): video_id -> captions."""
    path = storage.join(root, "captions.parquet")
    if not storage.exists(path):
        raise InputError(
            f"no captions at {path}; render the dataset again with dance.synth.generate_dataset "
            "(datasets from generator version 1 have none)"
        )
    table = storage.read_parquet(path)
    missing = sorted({"video_id", "captions"} - set(table.column_names))
    if missing:
        raise InputError(f"{path} lacks columns {missing}; it needs video_id, captions")
    ids = table.column("video_id").to_pylist()
    texts = table.column("captions").to_pylist()
    return {video_id: list(captions) for video_id, captions in zip(ids, texts, strict=True)}


def person_height(gt: np.ndarray) -> float:
    """The person's height in one frame: the vertical extent of its visible GT joints (17, 3)."""
    visible = gt[gt[:, 2] > 0, 1]
    if visible.size < 2:
        raise ValueError("person_height needs at least 2 visible ground-truth joints")
    return float(visible.max() - visible.min())


def normalised_joint_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-joint distance between (17, >=2) predicted and (17, 3) GT keypoints / person height.

    Joints not visible in the ground truth are NaN.
    """
    if pred.shape[0] != 17 or gt.shape != (17, 3):
        raise ValueError(
            f"expected (17, 2+) predictions and (17, 3) GT, got {pred.shape}, {gt.shape}"
        )
    dist = np.hypot(pred[:, 0] - gt[:, 0], pred[:, 1] - gt[:, 1]) / person_height(gt)
    return np.where(gt[:, 2] > 0, dist, np.nan)
