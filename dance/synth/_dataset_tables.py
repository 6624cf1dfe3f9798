"""The tables and documents written beside a rendered DANCE-Synth dataset.

ground_truth.parquet, concept_annotations.parquet, captions.parquet, the manifests and
classes.json, each built from the planned jobs and what the workers rendered, sorted by
video_id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dance.manifest import Manifest, ManifestRecord
from dance.synth._captions import spec_captions
from dance.synth._classes import SynthClass, context_donor
from dance.synth._render import RenderSpec


@dataclass(frozen=True)
class Job:
    """One video to render: its spec and where it goes (relative to out_dir)."""

    spec: RenderSpec
    rel_path: str
    split: str


@dataclass(frozen=True)
class Rendered:
    """A finished video's ground truth, sent back from a worker."""

    video_id: str
    keypoints: np.ndarray
    primitives: list[str]
    object: str
    scene: str
    person_boxes: np.ndarray  # (T, 4) float32
    object_boxes: np.ndarray  # (T, 4) float32, NaN rows where the object is not in the frame
    cpu_seconds: float


def ground_truth_table(
    jobs: list[Job], rendered: dict[str, Rendered], prim_ids: dict[str, int]
) -> pa.Table:
    """Per-video ground truth, sorted by video_id."""
    rows = [rendered[job.spec.video_id] for job in jobs]
    specs = [job.spec for job in jobs]
    return pa.table(
        {
            "video_id": pa.array([r.video_id for r in rows], pa.string()),
            "num_frames": pa.array([s.num_frames for s in specs], pa.int32()),
            "height": pa.array([s.height for s in specs], pa.int32()),
            "width": pa.array([s.width for s in specs], pa.int32()),
            "keypoints": pa.array(
                [r.keypoints.astype(np.float32).ravel() for r in rows], pa.list_(pa.float32())
            ),
            "primitives": pa.array(
                [np.array([prim_ids[p] for p in r.primitives], np.int32) for r in rows],
                pa.list_(pa.int32()),
            ),
            "object": pa.array([r.object for r in rows], pa.string()),
            "scene": pa.array([r.scene for r in rows], pa.string()),
            "shifted": pa.array([s.shifted for s in specs], pa.bool_()),
            "person_boxes": _boxes_column([r.person_boxes for r in rows]),
            "object_boxes": _boxes_column([r.object_boxes for r in rows]),
        }
    )


def _boxes_column(boxes: list[np.ndarray]) -> pa.Array:
    """(T, 4) boxes per video, flattened row-major like the keypoints; NaN stays NaN."""
    return pa.array([b.astype(np.float32).ravel() for b in boxes], pa.list_(pa.float32()))


def concept_table(jobs: list[Job], rendered: dict[str, Rendered]) -> pa.Table:
    """Objects and scenes present in each video, sorted by video_id."""
    rows = [rendered[job.spec.video_id] for job in jobs]
    return pa.table(
        {
            "video_id": pa.array([r.video_id for r in rows], pa.string()),
            "objects": pa.array([[r.object] for r in rows], pa.list_(pa.string())),
            "scenes": pa.array([[r.scene] for r in rows], pa.list_(pa.string())),
        }
    )


def caption_table(jobs: list[Job], rendered: dict[str, Rendered]) -> pa.Table:
    """Captions of each video from what it shows, sorted by video_id."""
    rows = [rendered[job.spec.video_id] for job in jobs]
    captions = [
        spec_captions(job.spec, r.object, r.scene) for job, r in zip(jobs, rows, strict=True)
    ]
    return pa.table(
        {
            "video_id": pa.array([r.video_id for r in rows], pa.string()),
            "captions": pa.array(captions, pa.list_(pa.string())),
        }
    )


def jobs_manifest(jobs: list[Job], classes: list[SynthClass]) -> Manifest:
    """A manifest of the given jobs with the dataset's label space."""
    records = [
        ManifestRecord(job.spec.video_id, job.rel_path, job.spec.cls.name, job.split)
        for job in jobs
    ]
    return Manifest.from_records(records, class_names=[c.name for c in classes])


def classes_document(classes: list[SynthClass], shifted: bool) -> dict[str, object]:
    """classes.json: the catalogue of this dataset, keyed by class name."""
    out: dict[str, object] = {}
    for cls in classes:
        out[cls.name] = {
            "label": cls.label,
            "factor": cls.factor,
            "contrast": cls.contrast,
            "motion": cls.motion,
            "reversed_motion": cls.reversed_motion,
            "program": list(cls.program),
            "primitives": list(cls.primitives),
            "objects": cls.objects,
            "scenes": cls.scenes,
            "hold": cls.hold,
            "reversal_partner": cls.reversal_partner,
            "shift_donor": context_donor(cls, classes).name
            if shifted and len(classes) > 1
            else None,
        }
    return out
