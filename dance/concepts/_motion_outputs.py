"""Motion concepts of a workdir's kept clips, ready to write: bank, assignment, video labels.

Also measures the partition: NMI of FINCH's concepts and of k-means with the same k
against the classes and, on DANCE-Synth, against the ground-truth motion primitives.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from dance.concepts._bundle import MotionOutputs, motion_concept_names
from dance.concepts.motion import (
    discover_motion_concepts,
    motion_clips_from_tables,
    motion_summary,
    video_motion_labels,
)
from dance.config import MotionConceptConfig
from dance.synth.clip_primitives import (
    MissingGroundTruth,
    clip_frame_windows,
    clip_primitives,
    read_frame_primitives,
)

# The clips/ columns motion discovery reads.
MOTION_CLIP_COLUMNS = ["video_id", "clip_index", "start", "end", "pose", "kept"]


def _majority_primitives(
    clips: pa.Table, keys: list[tuple[str, int]], truth_uri: str
) -> np.ndarray | None:
    """Per clip key, its majority ground-truth primitive; None if the truth lacks a video."""
    try:
        found = clip_primitives(keys, clip_frame_windows(clips), read_frame_primitives(truth_uri))
    except MissingGroundTruth:
        return None  # ground truth does not cover these videos: no primitive NMI
    return found.majority


def compare_with_kmeans(
    features: np.ndarray,
    finch_labels: np.ndarray,
    classes: np.ndarray,
    primitives: np.ndarray | None,
    seed: int,
) -> dict[str, Any]:
    """NMI of the FINCH partition and of k-means (same k, same unit vectors, fixed seed)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score as nmi

    from dance.cluster import l2_normalize

    k = int(finch_labels.max()) + 1
    units = l2_normalize(features.astype(np.float64))
    kmeans = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(units)
    figures: dict[str, Any] = {"k": k, "seed": seed, "clips": int(features.shape[0])}
    for name, truth in (("class", classes), ("primitive", primitives)):
        figures[name] = (
            None
            if truth is None
            else {"finch": float(nmi(truth, finch_labels)), "kmeans": float(nmi(truth, kmeans))}
        )
    return figures


def motion_outputs(
    clips: pa.Table,
    manifest_table: pa.Table,
    config: MotionConceptConfig,
    *,
    normalization: str,
    clip_length: int,
    truth_uri: str | None,
    seed: int,
) -> MotionOutputs:
    """Motion concepts of the kept clips; per-clip assignment and per-video labels (Eq. 2).

    `manifest_table` holds video_id, label and split; video labels follow its row order. A
    video without a kept clip gets an all-zero row with motion_known False.
    """
    motion = motion_clips_from_tables(
        clips, manifest_table, normalization, clip_length=clip_length
    )
    discovery = discover_motion_concepts(motion, config)
    ordered = discovery.clips
    keys = list(zip(ordered.video_id.tolist(), ordered.clip_index.tolist(), strict=True))
    video_ids = manifest_table["video_id"].to_pylist()
    multi_hot, known = video_motion_labels(discovery, video_ids)
    summary = motion_summary(discovery)
    clustered = discovery.clustered
    primitives = _majority_primitives(clips, keys, truth_uri) if truth_uri else None
    summary["nmi"] = compare_with_kmeans(
        ordered.features[clustered],
        discovery.assignment[clustered],
        ordered.video_label[clustered],
        None if primitives is None else primitives[clustered],
        seed,
    )
    summary["names"] = motion_concept_names(discovery.bank.centroids.shape[0])
    summary["feature_dim"] = int(ordered.features.shape[1])
    assignment = pa.table(
        {
            "video_id": pa.array(ordered.video_id.tolist(), pa.string()),
            "clip_index": pa.array(ordered.clip_index.astype(np.int32)),
            "split": pa.array(ordered.split.tolist(), pa.string()),
            "concept": pa.array(discovery.assignment.astype(np.int32)),
            "clustered": pa.array(clustered),
        }
    )
    width = multi_hot.shape[1]
    offsets = pa.array(np.arange(len(video_ids) + 1, dtype=np.int32) * width)
    video_labels = pa.table(
        {
            "video_id": pa.array(video_ids, pa.string()),
            "motion": pa.ListArray.from_arrays(offsets, pa.array(multi_hot.reshape(-1))),
            "motion_known": pa.array(known),
        }
    )
    return MotionOutputs(
        bank=discovery.bank, assignment=assignment, video_labels=video_labels, summary=summary
    )
