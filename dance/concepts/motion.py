"""Motion concepts (docs/method.md section 3, Eq. 1-2): FINCH over normalised pose clips.

Clips are first put in a canonical order, sorted by (video_id, clip_index), so that the
concepts do not depend on the row order of the input tables. By default FINCH clusters
the TRAIN clips only and every val/test clip goes to the nearest centroid (cosine); with
``transductive`` all clips are clustered together, as the paper did.

A concept's centroid is the L2-normalised mean of its member clips. Two representatives
are kept: the member closest to the centroid (the reference's choice) and the true
medoid, the member with the smallest sum of cosine distances to the other members. The
medoid is exact for clusters of ANY size without an m x m matrix: with unit rows u_i,
``sum_j (1 - u_i . u_j) = m - u_i . (sum_j u_j)``, so it is the member maximising
``u_i . sum_j u_j`` (a zero row has cosine 0 to every row, consistent with that formula).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from sklearn.metrics import normalized_mutual_info_score

from dance.cluster import FinchResult, finch, l2_normalize
from dance.config import MotionConceptConfig
from dance.errors import InputError, StageError
from dance.pose.normalize import normalize_clips
from dance.pose.skeleton import NUM_COCO17_JOINTS

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("train", "val", "test")
_POSE_VALUES_PER_FRAME = NUM_COCO17_JOINTS * 3


@dataclass(frozen=True)
class ClipRef:
    """One key clip: its video and its index among that video's clips."""

    video_id: str
    clip_index: int


@dataclass(frozen=True)
class MotionClips:
    """Kept clips to cluster: one row per clip, features are flattened normalised poses."""

    video_id: np.ndarray  # (n,) str
    clip_index: np.ndarray  # (n,) int
    split: np.ndarray  # (n,) str: train | val | test
    features: np.ndarray  # (n, L*17*2) float32
    video_label: np.ndarray  # (n,) int class of the clip's video

    def __post_init__(self) -> None:
        """Check lengths, dtypes, splits and that (video_id, clip_index) pairs are unique."""
        if not isinstance(self.features, np.ndarray) or self.features.ndim != 2:
            raise ValueError("MotionClips.features must be a 2-D (clips, values) numpy array")
        n = self.features.shape[0]
        for name in ("video_id", "clip_index", "split", "video_label"):
            column = getattr(self, name)
            if not isinstance(column, np.ndarray) or column.shape != (n,):
                raise ValueError(
                    f"MotionClips.{name} must be a numpy array of shape ({n},) like features"
                )
        if (
            not np.issubdtype(self.features.dtype, np.floating)
            or not np.isfinite(self.features).all()
        ):
            raise ValueError("MotionClips.features must be finite floats")
        unknown = sorted(set(self.split.tolist()) - set(SPLITS))
        if unknown:
            raise ValueError(f"MotionClips.split holds unknown splits {unknown}; expected {SPLITS}")
        keys = list(zip(self.video_id.tolist(), self.clip_index.tolist(), strict=True))
        if len(set(keys)) != n:
            raise ValueError("MotionClips holds duplicate (video_id, clip_index) rows")

    def __len__(self) -> int:
        """Number of clips."""
        return self.features.shape[0]

    def sorted(self) -> MotionClips:
        """The same clips in canonical (video_id, clip_index) order."""
        order = np.lexsort((self.clip_index, self.video_id.astype(str)))
        return MotionClips(
            video_id=self.video_id[order],
            clip_index=self.clip_index[order],
            split=self.split[order],
            features=self.features[order],
            video_label=self.video_label[order],
        )


@dataclass
class MotionConceptBank:
    """The motion concepts: centroids, representatives and sizes."""

    centroids: np.ndarray  # (K, D) float32, L2-normalised means of member clips
    closest_member: list[ClipRef]  # per concept: the member closest to its centroid
    medoid: list[ClipRef]  # per concept: the exact cosine medoid of its members
    sizes: np.ndarray  # (K,) clustered clips per concept
    partition_level: int | None  # FINCH level used; None when a count was requested


@dataclass
class MotionDiscovery:
    """Concept bank plus every clip's concept; clip arrays are in (video_id, clip_index) order."""

    bank: MotionConceptBank
    clips: MotionClips  # canonical order
    assignment: np.ndarray  # (n,) int32 concept of each clip
    clustered: np.ndarray  # (n,) bool: the clip took part in FINCH (else nearest centroid)
    hierarchy: FinchResult  # FINCH over the clustered clips (rows = clips[clustered])


def motion_clips_from_tables(
    clips_table: pa.Table, manifest_table: pa.Table, method: str = "minmax", *, clip_length: int
) -> MotionClips:
    """Kept clips of clips/*.parquet joined by video_id with the manifest's split and label.

    `clip_length` is L as the preprocess record states it; every kept clip must hold
    L x 17 x 3 pose values.
    """
    for name, table, needed in (
        ("clips_table", clips_table, ("video_id", "clip_index", "pose", "kept")),
        ("manifest_table", manifest_table, ("video_id", "label", "split")),
    ):
        missing = [c for c in needed if c not in table.column_names]
        if missing:
            raise ValueError(f"{name} lacks columns {missing}; it has {table.column_names}")
    kept = clips_table.filter(pc.equal(clips_table["kept"], True))
    manifest = {
        vid: (label, split)
        for vid, label, split in zip(
            manifest_table["video_id"].to_pylist(),
            manifest_table["label"].to_pylist(),
            manifest_table["split"].to_pylist(),
            strict=True,
        )
    }
    video_ids = kept["video_id"].to_pylist()
    unknown = sorted({v for v in video_ids if v not in manifest})
    if unknown:
        raise StageError(
            f"clips_table has kept clips of {len(unknown)} videos missing from the manifest "
            f"(first: {unknown[:3]}); use the manifest the clips were made from"
        )
    poses = _pose_array(kept["pose"], clip_length)
    return MotionClips(
        video_id=np.array(video_ids, dtype=object),
        clip_index=np.asarray(kept["clip_index"].to_numpy(zero_copy_only=False), dtype=np.int64),
        split=np.array([manifest[v][1] for v in video_ids], dtype=object),
        features=normalize_clips(poses, method),
        video_label=np.array([manifest[v][0] for v in video_ids], dtype=np.int64),
    )


def _pose_array(column: pa.ChunkedArray, clip_length: int) -> np.ndarray:
    """(S, L, 17, 3) float32 poses from a list<float> column of L*17*3 values per row."""
    if len(column) == 0:
        return np.zeros((0, clip_length, NUM_COCO17_JOINTS, 3), dtype=np.float32)
    flat = column.combine_chunks()
    expected = clip_length * _POSE_VALUES_PER_FRAME
    lengths = set(pc.list_value_length(flat).to_pylist())
    if lengths != {expected}:
        raise StageError(
            f"kept clips' pose lists must hold L*17*3 = {expected} values (L={clip_length} "
            f"from the preprocess record); got lengths {sorted(x for x in lengths if x is not None)}; "
            "The clips were written by another config: redo preprocess with --force"
        )
    values = flat.flatten().to_numpy(zero_copy_only=False).astype(np.float32)
    return values.reshape(len(flat), clip_length, NUM_COCO17_JOINTS, 3)


def _group_sums(values: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """(count, d) sums of `values` rows per label, in float64."""
    n = values.shape[0]
    members = sp.csr_matrix((np.ones(n), (labels, np.arange(n))), shape=(count, n))
    return np.asarray(members @ values)


def _best_per_group(score: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per label 0..K-1, the row with the highest score; ties go to the lowest row."""
    order = np.lexsort((np.arange(labels.size), -score, labels))
    starts = np.flatnonzero(np.r_[True, np.diff(labels[order]) != 0])
    return order[starts]


def build_concept_bank(
    features: np.ndarray,
    labels: np.ndarray,
    refs: Sequence[ClipRef],
    partition_level: int | None,
) -> MotionConceptBank:
    """Centroids, closest members, exact medoids and sizes of clusters 0..K-1 of `labels`."""
    count = int(labels.max()) + 1
    sizes = np.bincount(labels, minlength=count)
    if (sizes == 0).any():
        raise ValueError("labels must be consecutive 0..K-1 with every cluster non-empty")
    data = features.astype(np.float64)
    centroids = l2_normalize(_group_sums(data, labels, count) / sizes[:, None])
    units = l2_normalize(data)
    unit_sums = _group_sums(units, labels, count)
    to_centroid = np.einsum("ij,ij->i", units, centroids[labels])
    to_members = np.einsum("ij,ij->i", units, unit_sums[labels])
    closest = [refs[i] for i in _best_per_group(to_centroid, labels)]
    medoid = [refs[i] for i in _best_per_group(to_members, labels)]
    return MotionConceptBank(
        centroids=centroids.astype(np.float32),
        closest_member=closest,
        medoid=medoid,
        sizes=sizes.astype(np.int64),
        partition_level=partition_level,
    )


def nearest_centroid(features: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(n,) int32 index of each row's most cosine-similar centroid; ties to the lowest index."""
    if features.shape[0] == 0:
        return np.zeros(0, dtype=np.int32)
    similarity = l2_normalize(features.astype(np.float64)) @ centroids.astype(np.float64).T
    return np.argmax(similarity, axis=1).astype(np.int32)


def _choose_partition(
    result: FinchResult, config: MotionConceptConfig
) -> tuple[np.ndarray, int | None]:
    """The labels to use and their level: a requested count, else config.partition (clamped)."""
    if config.num_concepts is not None:
        return result.requested, None
    level = config.partition
    if level >= len(result.partitions):
        log.warning(
            "motion.partition=%d but FINCH produced %d levels; using the last level (%d)",
            level,
            len(result.partitions),
            len(result.partitions) - 1,
        )
        level = len(result.partitions) - 1
    return result.partitions[level], level


def discover_motion_concepts(clips: MotionClips, config: MotionConceptConfig) -> MotionDiscovery:
    """Cluster train (or all) clips with FINCH, build the concept bank, assign every clip."""
    ordered = clips.sorted()
    clustered = np.ones(len(ordered), dtype=bool)
    if not config.transductive:
        clustered = ordered.split == "train"
    if clustered.sum() < 2:
        which = "clips" if config.transductive else "train clips"
        raise InputError(
            f"motion concepts need at least 2 kept {which}, got {int(clustered.sum())}; "
            "check the pose filters or set motion.transductive"
        )
    hierarchy = finch(
        ordered.features[clustered],
        num_clusters=config.num_concepts,
        neighbors=config.neighbors,
    )
    labels, level = _choose_partition(hierarchy, config)
    member_rows = np.flatnonzero(clustered)
    refs = [ClipRef(str(ordered.video_id[i]), int(ordered.clip_index[i])) for i in member_rows]
    bank = build_concept_bank(ordered.features[clustered], labels, refs, level)
    assignment = np.empty(len(ordered), dtype=np.int32)
    assignment[clustered] = labels
    assignment[~clustered] = nearest_centroid(ordered.features[~clustered], bank.centroids)
    return MotionDiscovery(
        bank=bank, clips=ordered, assignment=assignment, clustered=clustered, hierarchy=hierarchy
    )


def video_motion_labels(
    discovery: MotionDiscovery, video_ids: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(V, K) uint8 multi-hot (Eq. 2) and (V,) bool known, rows in the order of `video_ids`."""
    count = discovery.bank.centroids.shape[0]
    row = {vid: i for i, vid in enumerate(video_ids)}
    if len(row) != len(video_ids):
        raise ValueError("video_ids holds duplicates; pass each video once")
    labels = np.zeros((len(video_ids), count), dtype=np.uint8)
    known = np.zeros(len(video_ids), dtype=bool)
    for vid, concept in zip(
        discovery.clips.video_id.tolist(), discovery.assignment.tolist(), strict=True
    ):
        i = row.get(vid)
        if i is not None:
            labels[i, concept] = 1
            known[i] = True
    return labels, known


def _spread(values: np.ndarray) -> dict[str, float]:
    """min / median / max of `values` as plain numbers."""
    return {
        "min": int(values.min()),
        "median": float(np.median(values)),
        "max": int(values.max()),
    }


def motion_summary(
    discovery: MotionDiscovery, class_labels: Mapping[str, int] | None = None
) -> dict:
    """Concept count, clips and videos per concept, and NMI against class labels per level.

    `class_labels` maps video_id to class; None uses the labels the clips carry.
    """
    clips = discovery.clips
    if class_labels is None:
        labels = clips.video_label
    else:
        missing = sorted({v for v in clips.video_id.tolist() if v not in class_labels})
        if missing:
            raise ValueError(f"class_labels lacks {len(missing)} videos (first: {missing[:3]})")
        labels = np.array([class_labels[v] for v in clips.video_id.tolist()])
    count = discovery.bank.centroids.shape[0]
    videos_per = np.array(
        [len(set(clips.video_id[discovery.assignment == k].tolist())) for k in range(count)]
    )
    clustered_labels = labels[discovery.clustered]
    levels = [
        {
            "level": i,
            "num_clusters": int(n),
            "nmi": float(normalized_mutual_info_score(clustered_labels, part)),
        }
        for i, (n, part) in enumerate(
            zip(discovery.hierarchy.num_clusters, discovery.hierarchy.partitions, strict=True)
        )
    ]
    return {
        "num_concepts": int(count),
        "partition_level": discovery.bank.partition_level,
        "num_clips": len(clips),
        "num_clustered_clips": int(discovery.clustered.sum()),
        "clips_per_concept": _spread(discovery.bank.sizes),
        "videos_per_concept": _spread(videos_per),
        "nmi_all_clips": float(normalized_mutual_info_score(labels, discovery.assignment)),
        "levels": levels,
    }
