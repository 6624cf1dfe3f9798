"""The workdir's concepts/ (docs/workdir.md): written file by file, atomically; read without pickle.

    concepts/motion/centroids.safetensors   "centroids" (K, D) float32, rows in concept order
    concepts/motion/concepts.parquet        concept, name, size, closest and medoid clip refs
    concepts/motion/assignment.parquet      video_id, clip_index, split, concept, clustered
    concepts/motion/video_labels.parquet    video_id, motion list<uint8> (Eq. 2), motion_known
    concepts/motion/summary.json            counts, spreads and NMI figures
    concepts/language/objects.txt           one concept per line, in column order
    concepts/language/scenes.txt
    concepts/language/filter_report.json    source, and what the filters kept and dropped
    concepts/language/cache/                raw LLM answers and text embeddings (reruns are free)
    concepts/labels.parquet                 one row per manifest video: the training labels
    concepts/concepts.json                  concept names per type in column order, motion refs

Every file is replaced whole (write to a temporary name, then rename), so a rerun
overwrites a previous run and a killed run leaves no half file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from dance import storage
from dance.concepts.motion import ClipRef, MotionConceptBank

CENTROIDS_FILE = "motion/centroids.safetensors"
MOTION_CONCEPTS_FILE = "motion/concepts.parquet"
ASSIGNMENT_FILE = "motion/assignment.parquet"
VIDEO_LABELS_FILE = "motion/video_labels.parquet"
MOTION_SUMMARY_FILE = "motion/summary.json"
OBJECTS_FILE = "language/objects.txt"
SCENES_FILE = "language/scenes.txt"
FILTER_REPORT_FILE = "language/filter_report.json"
LANGUAGE_CACHE_DIR = "language/cache"
LABELS_FILE = "labels.parquet"
CONCEPT_INDEX_FILE = "concepts.json"

LABELS_SCHEMA = pa.schema(
    [
        pa.field("video_id", pa.string(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
        pa.field("label", pa.int32(), nullable=False),
        pa.field("motion", pa.list_(pa.uint8()), nullable=False),
        pa.field("motion_known", pa.bool_(), nullable=False),
        pa.field("objects", pa.list_(pa.float32())),  # null: no label for this video
        pa.field("scenes", pa.list_(pa.float32())),
    ]
)
ASSIGNMENT_SCHEMA = pa.schema(
    [
        pa.field("video_id", pa.string(), nullable=False),
        pa.field("clip_index", pa.int32(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
        pa.field("concept", pa.int32(), nullable=False),
        pa.field("clustered", pa.bool_(), nullable=False),  # False: nearest-centroid assignment
    ]
)


def motion_concept_names(count: int) -> list[str]:
    """Names of motion concepts 0..count-1: motion_000, motion_001, ..."""
    return [f"motion_{k:03d}" for k in range(count)]


@dataclass
class MotionOutputs:
    """What motion discovery produced, ready to write: bank, per-clip and per-video tables."""

    bank: MotionConceptBank
    assignment: pa.Table  # ASSIGNMENT_SCHEMA, sorted by (video_id, clip_index)
    video_labels: pa.Table  # video_id, motion list<uint8>, motion_known; manifest order
    summary: dict[str, Any]

    @property
    def num_concepts(self) -> int:
        """K, the number of motion concepts."""
        return int(self.bank.centroids.shape[0])

    def concept_refs(self) -> list[dict[str, Any]]:
        """Per concept: name, size and its medoid and closest-member clip refs."""
        return [
            {
                "name": name,
                "size": int(size),
                "medoid": _ref_dict(medoid),
                "closest_member": _ref_dict(closest),
            }
            for name, size, medoid, closest in zip(
                motion_concept_names(self.num_concepts),
                self.bank.sizes.tolist(),
                self.bank.medoid,
                self.bank.closest_member,
                strict=True,
            )
        ]


def _ref_dict(ref: ClipRef) -> dict[str, Any]:
    """A clip ref as JSON: {"video_id", "clip_index"}."""
    return {"video_id": ref.video_id, "clip_index": int(ref.clip_index)}


def motion_concepts_table(outputs: MotionOutputs) -> pa.Table:
    """One row per motion concept: index, name, size and both representative clip refs."""
    bank = outputs.bank
    count = outputs.num_concepts
    return pa.table(
        {
            "concept": pa.array(np.arange(count, dtype=np.int32)),
            "name": pa.array(motion_concept_names(count), pa.string()),
            "size": pa.array(bank.sizes.astype(np.int64)),
            "medoid_video_id": pa.array([r.video_id for r in bank.medoid], pa.string()),
            "medoid_clip_index": pa.array([r.clip_index for r in bank.medoid], pa.int32()),
            "closest_video_id": pa.array([r.video_id for r in bank.closest_member], pa.string()),
            "closest_clip_index": pa.array([r.clip_index for r in bank.closest_member], pa.int32()),
        }
    )


def write_motion(concepts_dir: str, outputs: MotionOutputs) -> None:
    """Write concepts/motion/: centroids, concept refs, clip assignment, video labels, summary."""
    centroids = np.ascontiguousarray(outputs.bank.centroids, dtype=np.float32)
    storage.write_bytes(
        storage.join(concepts_dir, CENTROIDS_FILE),
        save_safetensors({"centroids": centroids}, metadata={"format": "dance.motion.v1"}),
    )
    storage.write_parquet(
        motion_concepts_table(outputs), storage.join(concepts_dir, MOTION_CONCEPTS_FILE)
    )
    storage.write_parquet(
        outputs.assignment.cast(ASSIGNMENT_SCHEMA), storage.join(concepts_dir, ASSIGNMENT_FILE)
    )
    storage.write_parquet(outputs.video_labels, storage.join(concepts_dir, VIDEO_LABELS_FILE))
    storage.write_json(outputs.summary, storage.join(concepts_dir, MOTION_SUMMARY_FILE))


def _concept_text(concepts: Sequence[str]) -> bytes:
    """One concept per line, UTF-8, ending in a newline ('' for none)."""
    bad = [c for c in concepts if "\n" in c or "\r" in c]
    if bad:
        raise ValueError(f"concept names must be one line each; got {bad[:3]}")
    return "".join(f"{c}\n" for c in concepts).encode("utf-8")


def write_language(
    concepts_dir: str, objects: Sequence[str], scenes: Sequence[str], report: dict[str, Any]
) -> None:
    """Write concepts/language/: objects.txt, scenes.txt and filter_report.json."""
    storage.write_bytes(storage.join(concepts_dir, OBJECTS_FILE), _concept_text(objects))
    storage.write_bytes(storage.join(concepts_dir, SCENES_FILE), _concept_text(scenes))
    storage.write_json(report, storage.join(concepts_dir, FILTER_REPORT_FILE))


def _list_column(rows: np.ndarray, known: np.ndarray | None, value_type: pa.DataType) -> pa.Array:
    """(V, M) rows as a list<value_type> column; rows where `known` is False become null."""
    count, width = rows.shape
    values = pa.array(rows.reshape(-1), value_type)
    offsets = pa.array(np.arange(count + 1, dtype=np.int32) * width)
    mask = None if known is None else pa.array(~np.asarray(known, dtype=bool))
    return pa.ListArray.from_arrays(offsets, values, mask=mask)


def labels_table(
    video_ids: Sequence[str],
    splits: Sequence[str],
    labels: Sequence[int],
    motion: np.ndarray,
    motion_known: np.ndarray,
    objects: np.ndarray,
    scenes: np.ndarray,
    language_known: np.ndarray,
) -> pa.Table:
    """labels.parquet rows, one per video in the given order (LABELS_SCHEMA).

    `motion` (V, K) uint8 is all zeros where `motion_known` is False; `objects` (V, M) and
    `scenes` (V, S) rows are written as null where `language_known` is False.
    """
    count = len(video_ids)
    for name, array, width_of in (
        ("motion", motion, None),
        ("objects", objects, None),
        ("scenes", scenes, None),
        ("motion_known", motion_known, 1),
        ("language_known", language_known, 1),
    ):
        shape = np.shape(array)
        if shape[:1] != (count,) or (width_of is None and len(shape) != 2):
            raise ValueError(
                f"{name} has shape {shape} but there are {count} video_ids; pass one row per video"
            )
    if len(set(video_ids)) != count:
        raise ValueError("video_ids repeat; labels.parquet holds each video once")
    table = pa.table(
        {
            "video_id": pa.array(list(video_ids), pa.string()),
            "split": pa.array(list(splits), pa.string()),
            "label": pa.array(list(labels), pa.int32()),
            "motion": _list_column(np.asarray(motion, dtype=np.uint8), None, pa.uint8()),
            "motion_known": pa.array(np.asarray(motion_known, dtype=bool)),
            "objects": _list_column(
                np.asarray(objects, dtype=np.float32), language_known, pa.float32()
            ),
            "scenes": _list_column(
                np.asarray(scenes, dtype=np.float32), language_known, pa.float32()
            ),
        }
    )
    return table.cast(LABELS_SCHEMA)


def write_labels(concepts_dir: str, table: pa.Table) -> None:
    """Write concepts/labels.parquet after checking its schema and that video_ids are unique."""
    if table.schema != LABELS_SCHEMA:
        raise ValueError(f"labels table has schema {table.schema}; build it with labels_table(...)")
    if pc.count_distinct(table["video_id"]).as_py() != table.num_rows:
        raise ValueError("labels table repeats a video_id; each video must appear once")
    storage.write_parquet(table, storage.join(concepts_dir, LABELS_FILE))


def write_concept_index(concepts_dir: str, index: dict[str, Any]) -> None:
    """Write concepts/concepts.json (needs "names" with motion, objects and scenes lists)."""
    names = index.get("names")
    if not isinstance(names, dict) or set(names) != {"motion", "objects", "scenes"}:
        raise ValueError('the concept index needs "names": {"motion", "objects", "scenes"}')
    storage.write_json(index, storage.join(concepts_dir, CONCEPT_INDEX_FILE))


@dataclass(frozen=True)
class ConceptBundle:
    """What later jobs read back from concepts/: labels, concept index and motion centroids."""

    labels: pa.Table
    index: dict[str, Any]
    centroids: np.ndarray

    @property
    def names(self) -> dict[str, list[str]]:
        """Concept names per type (motion, objects, scenes), in column order."""
        return {kind: list(self.index["names"][kind]) for kind in ("motion", "objects", "scenes")}


def read_centroids(concepts_dir: str) -> np.ndarray:
    """The (K, D) float32 motion centroids from concepts/motion/centroids.safetensors."""
    uri = storage.join(concepts_dir, CENTROIDS_FILE)
    tensors = load_safetensors(storage.read_bytes(uri))
    if "centroids" not in tensors:
        raise storage.StorageError(f"{uri} holds no 'centroids' tensor; rerun `dance discover`")
    return tensors["centroids"]


def read_filter_report(concepts_dir: str) -> dict[str, Any] | None:
    """What the language filters kept and dropped, and why (None: no language concepts)."""
    uri = storage.join(concepts_dir, FILTER_REPORT_FILE)
    return storage.read_json(uri) if storage.exists(uri) else None


def read_concept_bundle(concepts_dir: str) -> ConceptBundle:
    """Read labels.parquet, concepts.json and the motion centroids of a concepts/ folder."""
    labels = storage.read_parquet(storage.join(concepts_dir, LABELS_FILE))
    if labels.schema != LABELS_SCHEMA:
        raise storage.StorageError(
            f"{storage.join(concepts_dir, LABELS_FILE)} has schema {labels.schema}, not the "
            "labels layout; rerun `dance discover`"
        )
    index = storage.read_json(storage.join(concepts_dir, CONCEPT_INDEX_FILE))
    return ConceptBundle(labels=labels, index=index, centroids=read_centroids(concepts_dir))
