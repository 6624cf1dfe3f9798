"""The training table: backbone features (videos/) joined with labels (concepts/) by video_id.

    videos/ ok rows: video_id, backbone          concepts/labels.parquet: video_id, split,
                   \\                             label, motion, motion_known, objects, scenes
                    `---- join on video_id ----'
                                  |
                  TRAINING_SCHEMA: one row per decoded video

Rows are matched by video_id, never by position. Everything a user can get wrong is
checked here, before any training, with the videos and the fix named: labels missing
for videos that have features, features with NaN or infinite values, a class without a
training video, no validation videos. Videos that failed preprocessing have no features:
they are counted, not trained or evaluated on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dance.errors import InputError

TRAINING_SCHEMA = pa.schema(
    [
        pa.field("video_id", pa.string(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
        pa.field("label", pa.int32(), nullable=False),
        pa.field("features", pa.list_(pa.float32()), nullable=False),
        pa.field("motion", pa.list_(pa.uint8()), nullable=False),
        pa.field("motion_known", pa.bool_(), nullable=False),
        pa.field("objects", pa.list_(pa.float32())),  # null: no label for this video
        pa.field("scenes", pa.list_(pa.float32())),
    ]
)
LABEL_COLUMNS = ("video_id", "split", "label", "motion", "motion_known", "objects", "scenes")
SHOWN_IDS = 5  # ids quoted in an error message


class TrainingDataError(InputError):
    """The features or labels cannot be trained on as they are."""


def _some(ids: Sequence[str]) -> str:
    shown = ", ".join(repr(v) for v in list(ids)[:SHOWN_IDS])
    return shown + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")


@dataclass(frozen=True)
class JoinCounts:
    """How many videos the join kept and why the others are out."""

    trained_on: int  # decoded videos with features and labels
    failed: int  # videos preprocessing could not decode: no features


def join_training_table(
    videos: pa.Table, labels: pa.Table, class_names: Sequence[str]
) -> tuple[pa.Table, JoinCounts]:
    """One TRAINING_SCHEMA row per decoded video, sorted by video_id; checks its inputs."""
    ok = videos.filter(pc.equal(videos["status"], "ok"))
    failed = videos.num_rows - ok.num_rows
    ok = ok.select(["video_id", "backbone"]).rename_columns(["video_id", "features"])
    missing_features = ok.filter(pc.is_null(ok["features"]))["video_id"].to_pylist()
    if missing_features:
        raise TrainingDataError(
            f"{len(missing_features)} decoded videos have no backbone features in videos/ "
            f"({_some(missing_features)}); redo preprocessing: `dance preprocess --config "
            "<config> --force`"
        )
    labelled = set(labels["video_id"].to_pylist())
    unlabelled = sorted(set(ok["video_id"].to_pylist()) - labelled)
    if unlabelled:
        raise TrainingDataError(
            f"concepts/labels.parquet has no labels for {len(unlabelled)} videos that have "
            f"features ({_some(unlabelled)}); the labels come from another run or manifest: "
            "rerun `dance discover --config <config>` on this workdir"
        )
    table = join_on_video_id(ok, labels.select(list(LABEL_COLUMNS)))
    table = table.select(TRAINING_SCHEMA.names).sort_by("video_id").cast(TRAINING_SCHEMA)
    _check_finite(table)
    _check_classes(table, class_names)
    return table, JoinCounts(trained_on=table.num_rows, failed=failed)


def join_on_video_id(left: pa.Table, right: pa.Table) -> pa.Table:
    """Rows of `left` whose video_id `right` has, with right's other columns added.

    Written here because Arrow's hash join does not carry list columns; `right` must
    hold each video_id once.
    """
    position = pc.index_in(left["video_id"], value_set=right["video_id"])
    keep = pc.is_valid(position)
    left, position = left.filter(keep), position.filter(keep)
    taken = right.take(position)
    for name in right.column_names:
        if name != "video_id":
            left = left.append_column(right.schema.field(name), taken[name])
    return left


def _check_finite(table: pa.Table) -> None:
    """Raise naming the videos whose features hold NaN or infinite values."""
    features = feature_matrix(table)
    bad = ~np.isfinite(features).all(axis=1)
    if bad.any():
        ids = [v for v, b in zip(table["video_id"].to_pylist(), bad, strict=True) if b]
        raise TrainingDataError(
            f"the backbone features of {len(ids)} videos hold NaN or infinite values "
            f"({_some(ids)}); check the backbone (a diverged fine-tuning?) and redo "
            "preprocessing with `dance preprocess --config <config> --force`"
        )


def _check_classes(table: pa.Table, class_names: Sequence[str]) -> None:
    """Raise naming the classes that have no training video."""
    train = table.filter(pc.equal(table["split"], "train"))
    present = set(train["label"].to_pylist())
    empty = [name for index, name in enumerate(class_names) if index not in present]
    if empty:
        raise TrainingDataError(
            f"{len(empty)} classes have no training video with features ({_some(empty)}); "
            "add videos of them, or remove them from the dataset (and the manifest)"
        )


def feature_matrix(table: pa.Table) -> np.ndarray:
    """The (N, D) float32 features of a training table's rows."""
    return _list_matrix(table["features"], np.float32)


def _list_matrix(column: pa.ChunkedArray, dtype: type) -> np.ndarray:
    """A list column of equal-length rows as an (N, width) array (null rows: NaN / zero)."""
    count = len(column)
    if count == 0:
        return np.zeros((0, 0), dtype=dtype)
    lengths = pc.list_value_length(column).fill_null(0).to_numpy(zero_copy_only=False)
    width = int(lengths.max())
    out = np.full((count, width), np.nan if dtype == np.float32 else 0, dtype=dtype)
    rows = np.flatnonzero(lengths == width)
    if width and len(rows):
        values = pc.list_flatten(column.take(pa.array(rows))).to_numpy(zero_copy_only=False)
        out[rows] = values.reshape(len(rows), width)
    return out


@dataclass
class TrainingArrays:
    """A training table's rows as arrays, for one worker's shard or the whole set."""

    video_ids: list[str]
    splits: np.ndarray  # (N,) str
    labels: np.ndarray  # (N,) int64
    features: np.ndarray  # (N, D) float32
    motion: np.ndarray  # (N, Km) float32 multi-hot
    motion_known: np.ndarray  # (N,) bool
    objects: np.ndarray  # (N, Ko) float32, NaN rows where unknown
    scenes: np.ndarray  # (N, Ks) float32
    language_known: np.ndarray  # (N,) bool

    def rows(self, mask: np.ndarray) -> TrainingArrays:
        """The subset of rows where `mask` is True."""
        return TrainingArrays(
            video_ids=[v for v, m in zip(self.video_ids, mask, strict=True) if m],
            **{
                name: getattr(self, name)[mask]
                for name in (
                    "splits", "labels", "features", "motion", "motion_known",
                    "objects", "scenes", "language_known",
                )
            },
        )

    def split(self, name: str) -> TrainingArrays:
        """The rows of one manifest split (train, val or test)."""
        return self.rows(self.splits == name)


def training_arrays(table: pa.Table, concept_counts: dict[str, int]) -> TrainingArrays:
    """Arrays of a TRAINING_SCHEMA table; `concept_counts` sizes empty label columns."""
    def labels_of(column: str, count: int) -> np.ndarray:
        matrix = _list_matrix(table[column], np.float32)
        return matrix if matrix.shape[1] == count else np.full((table.num_rows, count), np.nan)

    objects = labels_of("objects", concept_counts["objects"]).astype(np.float32)
    return TrainingArrays(
        video_ids=table["video_id"].to_pylist(),
        splits=np.asarray(table["split"].to_pylist(), dtype=object),
        labels=table["label"].to_numpy().astype(np.int64),
        features=feature_matrix(table),
        motion=labels_of("motion", concept_counts["motion"]).astype(np.float32),
        motion_known=table["motion_known"].to_numpy(zero_copy_only=False).astype(bool),
        objects=objects,
        scenes=labels_of("scenes", concept_counts["scenes"]).astype(np.float32),
        language_known=pc.is_valid(table["objects"]).to_numpy(zero_copy_only=False),
    )


def validation_split(paper_protocol: bool) -> str:
    """The split used for validation: 'val', or 'test' under the paper's protocol."""
    return "test" if paper_protocol else "val"


def check_validation_rows(table: pa.Table, paper_protocol: bool) -> None:
    """Raise when the validation split has no video with features."""
    split = validation_split(paper_protocol)
    if pc.sum(pc.equal(table["split"], split)).as_py() in (0, None):
        fix = (
            "the test split is empty"
            if paper_protocol
            else "set dataset.val_fraction > 0 (and redo the manifest and later stages), "
            "or use train.paper_protocol=true to validate on test as the paper does"
        )
        raise TrainingDataError(f"no {split} video has features; {fix}")


def worker_rows(video_ids: Sequence[str], rank: int, world_size: int) -> np.ndarray:
    """Which of these rows belong to worker `rank`: a stable hash of video_id, not position.

    The same video lands on the same worker in every run and after every restart, so a
    resumed run sums exactly the rows it summed before.
    """
    digests = [hashlib.sha1(v.encode("utf-8")).digest()[:8] for v in video_ids]
    owners = np.array([int.from_bytes(d, "big") % world_size for d in digests], dtype=np.int64)
    return owners == rank
