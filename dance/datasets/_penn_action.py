"""Penn Action: 2326 clips of 15 actions with per-frame 13-joint annotations.

Layout: ``root/labels/NNNN.mat`` (fields action, train, x, y, visibility, nframes, ...) and
either ``root/videos/NNNN.mp4`` or the release's frame folders ``root/frames/NNNN/*.jpg``.
video_id is the label file stem ("0001"). Where a clip is a frame folder, its uri is that
folder: the video reader reads frame folders as videos. A video file wins over a frame folder.
The root may be a local folder or an s3:// prefix (listed once; labels are read as bytes).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import scipy.io

from dance import storage
from dance.datasets._common import (
    DatasetPath,
    dataset_root,
    files_with_suffix,
    listing,
    missing_videos_error,
)
from dance.manifest import Manifest, ManifestError, ManifestRecord

PENN_ACTION_CLASSES = (
    "baseball_pitch",
    "baseball_swing",
    "bench_press",
    "bowl",
    "clean_and_jerk",
    "golf_swing",
    "jump_rope",
    "jumping_jacks",
    "pullup",
    "pushup",
    "situp",
    "squat",
    "strum_guitar",
    "tennis_forehand",
    "tennis_serve",
)

# Penn joint j (head, l/r shoulder, l/r elbow, l/r wrist, l/r hip, l/r knee, l/r ankle) lands on
# COCO-17 index PENN_TO_COCO[j]; COCO eyes and ears (1-4) have no Penn counterpart.
PENN_TO_COCO = (0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
_PENN_JOINTS = 13
_COCO_JOINTS = 17
_FACE_WITHOUT_PENN_JOINT = (1, 2, 3, 4)

_EXPECTED = "labels/NNNN.mat and videos/NNNN.mp4 or frames/NNNN/*.jpg there"


def penn_action_manifest(root: str) -> Manifest:
    """Penn Action with its official train/test flag (label field 'train': 1 / -1)."""
    base = dataset_root(root, "Penn Action", _EXPECTED)
    labels_dir = base / "labels"
    if not labels_dir.is_dir():
        raise ManifestError(
            f"Penn Action: no labels/ folder in {str(base)!r}; expected {_EXPECTED}"
        )
    label_files = files_with_suffix(labels_dir, (".mat",))
    if not label_files:
        raise ManifestError(f"Penn Action: {str(labels_dir)!r} holds no .mat label files")
    records: list[ManifestRecord] = []
    missing: list[str] = []
    unknown: list[str] = []
    for path in label_files:
        fields = _load_mat(path, ("action", "train"))
        action = _mat_text(fields, "action", path)
        train_flag = _mat_int(fields, "train", path)
        if action not in PENN_ACTION_CLASSES:
            unknown.append(f"{path.name}: {action}")
            continue
        if train_flag not in (1, -1):
            raise ManifestError(
                f"{path}: field 'train' must be 1 (train) or -1 (test), got {train_flag}"
            )
        video_file = base / "videos" / f"{path.stem}.mp4"
        frame_folder = base / "frames" / path.stem
        if video_file.is_file():
            uri = video_file
        elif frame_folder.is_dir():
            uri = frame_folder
        else:
            missing.append(path.stem)
            continue
        records.append(
            ManifestRecord(
                video_id=path.stem,
                uri=str(uri),
                label_name=action,
                split="train" if train_flag == 1 else "test",
            )
        )
    if unknown:
        raise ManifestError(
            f"Penn Action: unknown action(s) {listing(unknown)}; "
            f"the 15 classes are {', '.join(PENN_ACTION_CLASSES)}"
        )
    if missing:
        raise missing_videos_error(
            "Penn Action", missing, f"{str(base / 'videos')!r} or {str(base / 'frames')!r}",
            "Put each clip at videos/NNNN.mp4 or frames/NNNN/*.jpg",
        )
    return Manifest.from_records(records, class_names=PENN_ACTION_CLASSES)


def load_penn_action_keypoints(root: str, video_id: str) -> np.ndarray:
    """(T, 17, 3) float32 COCO-17 (x, y, score) in pixels from Penn's 13 annotated joints.

    Penn's head becomes the nose; visibility becomes the score. COCO eyes and ears get score 0
    and the head's position, so code that ignores scores still sees a sane body extent.
    Coordinates are kept as annotated (Penn's pixel coordinates).
    """
    path = storage.join(root, "labels", f"{video_id}.mat")
    if not (storage.exists(path) if storage.is_s3(path) else Path(path).is_file()):
        raise ManifestError(
            f"Penn Action: no label file for video_id {video_id!r} at {str(path)!r}"
        )
    fields = _load_mat(path, ("x", "y", "visibility"))
    x, y, visibility = (_mat_matrix(fields, name, path) for name in ("x", "y", "visibility"))
    if not x.shape == y.shape == visibility.shape:
        raise ManifestError(
            f"{path}: x, y and visibility must have the same shape, got "
            f"{x.shape}, {y.shape}, {visibility.shape}"
        )
    keypoints = np.zeros((x.shape[0], _COCO_JOINTS, 3), dtype=np.float32)
    keypoints[:, PENN_TO_COCO, 0] = x
    keypoints[:, PENN_TO_COCO, 1] = y
    keypoints[:, PENN_TO_COCO, 2] = np.clip(visibility, 0.0, 1.0)
    keypoints[:, _FACE_WITHOUT_PENN_JOINT, :2] = keypoints[:, None, 0, :2]
    return keypoints


def _load_mat(path: DatasetPath | str, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The named fields of a MATLAB file, or an error naming the file and the missing fields."""
    try:
        # scipy reads local files itself; an S3 object is fetched whole (a few kB).
        source = io.BytesIO(storage.read_bytes(str(path))) if storage.is_s3(str(path)) else str(path)
        fields = scipy.io.loadmat(source, variable_names=list(names))
    except (ValueError, OSError, TypeError) as error:
        raise ManifestError(f"{path}: not a readable MATLAB .mat file ({error})") from None
    absent = [name for name in names if name not in fields]
    if absent:
        raise ManifestError(f"{path}: missing field(s) {', '.join(absent)}")
    return fields


def _mat_text(fields: dict[str, np.ndarray], name: str, path: DatasetPath | str) -> str:
    """A MATLAB char field as a str."""
    values = np.asarray(fields[name]).ravel()
    if values.size != 1 or not isinstance(values[0], str):
        raise ManifestError(f"{path}: field {name!r} must be text, got {values!r}")
    return str(values[0]).strip()


def _mat_int(fields: dict[str, np.ndarray], name: str, path: DatasetPath | str) -> int:
    """A MATLAB scalar field as an int."""
    values = np.asarray(fields[name]).ravel()
    if values.size != 1 or not np.issubdtype(values.dtype, np.number):
        raise ManifestError(f"{path}: field {name!r} must be one number, got {values!r}")
    return int(values[0])


def _mat_matrix(fields: dict[str, np.ndarray], name: str, path: DatasetPath | str) -> np.ndarray:
    """A (T, 13) MATLAB matrix field as float32."""
    values = np.asarray(fields[name])
    if values.ndim != 2 or values.shape[1] != _PENN_JOINTS or not np.issubdtype(
        values.dtype, np.number
    ):
        raise ManifestError(
            f"{path}: field {name!r} must be a (frames, {_PENN_JOINTS}) number matrix, "
            f"got shape {values.shape} of {values.dtype}"
        )
    return values.astype(np.float32)
