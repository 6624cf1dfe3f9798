"""Motion concepts: train-only FINCH, nearest-centroid assignment, Eq. 2 labels, representatives."""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pytest

from dance.cluster import finch
from dance.concepts import (
    ClipRef,
    MotionClips,
    MotionDiscovery,
    build_concept_bank,
    discover_motion_concepts,
    motion_clips_from_tables,
    motion_summary,
    video_motion_labels,
)
from dance.config import MotionConceptConfig
from dance.errors import StageError

DIM = 8


def direction(axis: int, rng: np.random.Generator, noise: float = 0.02) -> np.ndarray:
    """A unit axis plus a little noise."""
    vector = np.zeros(DIM)
    vector[axis] = 1.0
    return vector + noise * rng.random(DIM)


def make_clips(rows: list[tuple[str, int, str, int, np.ndarray]]) -> MotionClips:
    """MotionClips from (video_id, clip_index, split, label, feature) rows."""
    return MotionClips(
        video_id=np.array([r[0] for r in rows], dtype=object),
        clip_index=np.array([r[1] for r in rows]),
        split=np.array([r[2] for r in rows], dtype=object),
        video_label=np.array([r[3] for r in rows]),
        features=np.stack([r[4] for r in rows]).astype(np.float32),
    )


def grouped_rows(
    axes: list[int], split: str, rng: np.random.Generator, prefix: str
) -> list[tuple[str, int, str, int, np.ndarray]]:
    """Three clips (one video each) per axis: a group of 3 is always one FINCH level-0 cluster."""
    return [
        (f"{prefix}{axis}_{k}", 0, split, axis, direction(axis, rng))
        for axis in axes
        for k in range(3)
    ]


def concept_of(discovery: MotionDiscovery, video_id: str) -> int:
    """Concept of the clip of `video_id` (one clip per video in these tests)."""
    return int(discovery.assignment[list(discovery.clips.video_id).index(video_id)])


def test_only_train_clips_are_clustered_and_the_others_go_to_the_nearest_centroid() -> None:
    rng = np.random.default_rng(0)
    rows = grouped_rows([0, 1, 2, 3], "train", rng, "t")
    val_feature = direction(1, rng) + 0.4 * direction(0, rng)  # closest to the axis-1 group
    test_feature = direction(3, rng) + 0.6 * direction(2, rng)  # closest to the axis-3 group
    rows += [("v", 0, "val", 1, val_feature), ("x", 0, "test", 3, test_feature)]
    discovery = discover_motion_concepts(make_clips(rows), MotionConceptConfig(partition=0))

    train = discovery.clips.split == "train"
    np.testing.assert_array_equal(discovery.clustered, train)
    assert discovery.hierarchy.partitions[0].shape == (12,)
    expected = finch(discovery.clips.features[train]).partitions[0]
    np.testing.assert_array_equal(discovery.assignment[train], expected)
    assert discovery.bank.centroids.shape == (4, DIM)

    centroids = discovery.bank.centroids.astype(np.float64)
    for video_id, feature, group in (("v", val_feature, "t1_0"), ("x", test_feature, "t3_0")):
        unit = feature / np.linalg.norm(feature)
        assert concept_of(discovery, video_id) == int(np.argmax(centroids @ unit))
        assert concept_of(discovery, video_id) == concept_of(discovery, group)


def test_centroids_are_normalised_means_of_train_members_only() -> None:
    rng = np.random.default_rng(1)
    rows = grouped_rows([0, 1], "train", rng, "t") + [("v", 0, "val", 0, direction(0, rng))]
    discovery = discover_motion_concepts(make_clips(rows), MotionConceptConfig(partition=0))
    features = discovery.clips.features.astype(np.float64)
    for k in range(2):
        members = (discovery.assignment == k) & discovery.clustered
        mean = features[members].mean(axis=0)
        np.testing.assert_allclose(
            discovery.bank.centroids[k], mean / np.linalg.norm(mean), rtol=1e-6
        )
    np.testing.assert_array_equal(discovery.bank.sizes, [3, 3])


def test_transductive_clusters_every_split_together() -> None:
    rng = np.random.default_rng(2)
    rows = grouped_rows([0, 1], "train", rng, "t") + grouped_rows([2], "test", rng, "x")
    inductive = discover_motion_concepts(make_clips(rows), MotionConceptConfig(partition=0))
    transductive = discover_motion_concepts(
        make_clips(rows), MotionConceptConfig(partition=0, transductive=True)
    )
    assert inductive.bank.centroids.shape[0] == 2
    assert transductive.bank.centroids.shape[0] == 3
    assert transductive.clustered.all()
    test_concepts = {concept_of(transductive, f"x2_{k}") for k in range(3)}
    train_concepts = {concept_of(transductive, f"t{a}_{k}") for a in (0, 1) for k in range(3)}
    assert len(test_concepts) == 1 and not test_concepts & train_concepts


def test_a_partition_beyond_the_hierarchy_is_clamped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = np.random.default_rng(3)
    rows = grouped_rows([0, 1], "train", rng, "t")  # 2 clusters, then 1: a single level
    with caplog.at_level(logging.WARNING):
        discovery = discover_motion_concepts(make_clips(rows), MotionConceptConfig(partition=1))
    assert discovery.bank.partition_level == 0
    assert "using the last level" in caplog.text


def test_a_requested_count_gives_that_many_concepts() -> None:
    rng = np.random.default_rng(4)
    rows = grouped_rows([0, 1, 2, 3, 4], "train", rng, "t")
    discovery = discover_motion_concepts(make_clips(rows), MotionConceptConfig(num_concepts=3))
    assert discovery.bank.centroids.shape[0] == 3
    assert discovery.bank.partition_level is None
    assert max(discovery.bank.sizes.tolist()) >= 3


def test_video_labels_are_multi_hot_over_clips_and_unknown_without_clips() -> None:
    rng = np.random.default_rng(5)
    rows = grouped_rows([0, 1, 2], "train", rng, "t")
    rows += [("both", 0, "test", 0, direction(0, rng)), ("both", 1, "test", 0, direction(2, rng))]
    discovery = discover_motion_concepts(make_clips(rows), MotionConceptConfig(partition=0))
    first, third = concept_of(discovery, "t0_0"), concept_of(discovery, "t2_0")
    labels, known = video_motion_labels(discovery, ["no_clips", "both", "t1_0"])
    assert labels.dtype == np.uint8 and labels.shape == (3, 3)
    np.testing.assert_array_equal(labels[0], [0, 0, 0])
    assert known.tolist() == [False, True, True]
    assert set(np.flatnonzero(labels[1]).tolist()) == {first, third}
    assert labels[2].sum() == 1 and labels[2, concept_of(discovery, "t1_0")] == 1


def test_medoid_and_closest_member_differ_when_one_member_dominates_the_mean() -> None:
    features = np.array([[10.0, 0.0], [0.0, 1.0], [0.2, 1.0]], dtype=np.float32)
    refs = [ClipRef("a", 0), ClipRef("b", 0), ClipRef("c", 0)]
    bank = build_concept_bank(features, np.zeros(3, dtype=np.int32), refs, 0)
    assert bank.closest_member == [ClipRef("a", 0)]  # the raw mean points along x
    assert bank.medoid == [ClipRef("c", 0)]  # smallest sum of cosine distances


def test_medoid_minimises_the_sum_of_cosine_distances() -> None:
    rng = np.random.default_rng(6)
    features = rng.random((40, 5)).astype(np.float32)
    labels = np.repeat([0, 1], 20).astype(np.int32)
    refs = [ClipRef(f"v{i}", i) for i in range(40)]
    bank = build_concept_bank(features, labels, refs, 0)
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    for k in range(2):
        members = np.flatnonzero(labels == k)
        cost = (1.0 - unit[members] @ unit[members].T).sum(axis=1)
        assert bank.medoid[k] == refs[members[np.argmin(cost)]]


def pose_tables(rng: np.random.Generator) -> tuple[pa.Table, pa.Table]:
    """A clips table (some rejected clips) and its manifest: 8 videos x 3 clips of 4 frames."""
    rows, manifest = [], []
    for v in range(8):
        split = "train" if v < 6 else "test"
        manifest.append({"video_id": f"vid{v}", "label": v % 2, "split": split})
        shape = rng.random((1, 17, 3))
        for c in range(3):
            pose = shape + 0.05 * rng.random((4, 17, 3)) + 0.3 * (v % 2) * np.arange(17)[:, None]
            rows.append(
                {
                    "video_id": f"vid{v}",
                    "clip_index": c,
                    "pose": pose.astype(np.float32).ravel().tolist(),
                    "kept": not (v == 7 and c == 2),
                }
            )
    clips = pa.Table.from_pylist(rows).cast(
        pa.schema(
            [
                ("video_id", pa.string()),
                ("clip_index", pa.int32()),
                ("pose", pa.list_(pa.float32())),
                ("kept", pa.bool_()),
            ]
        )
    )
    return clips, pa.Table.from_pylist(manifest)


def test_tables_are_joined_by_video_id_whatever_the_row_order() -> None:
    clips, manifest = pose_tables(np.random.default_rng(7))
    rng = np.random.default_rng(8)
    shuffled_clips = clips.take(rng.permutation(clips.num_rows))
    shuffled_manifest = manifest.take(rng.permutation(manifest.num_rows))

    ordered = motion_clips_from_tables(clips, manifest, clip_length=4)
    shuffled = motion_clips_from_tables(shuffled_clips, shuffled_manifest, clip_length=4)
    assert len(ordered) == 23  # one rejected clip left out
    assert ordered.features.shape == (23, 4 * 17 * 2)
    split_of = dict(zip(shuffled.video_id.tolist(), shuffled.split.tolist(), strict=True))
    assert split_of["vid7"] == "test" and split_of["vid0"] == "train"

    config = MotionConceptConfig(partition=0)
    a = discover_motion_concepts(ordered, config)
    b = discover_motion_concepts(shuffled, config)
    np.testing.assert_array_equal(a.assignment, b.assignment)
    videos = [f"vid{v}" for v in range(8)]
    np.testing.assert_array_equal(
        video_motion_labels(a, videos)[0], video_motion_labels(b, videos)[0]
    )
    assert a.bank.medoid == b.bank.medoid


def test_clips_of_videos_missing_from_the_manifest_are_an_error() -> None:
    clips, manifest = pose_tables(np.random.default_rng(9))
    with pytest.raises(StageError, match="missing from the manifest"):
        motion_clips_from_tables(clips, manifest.slice(0, 5), clip_length=4)


def test_summary_reports_sizes_and_nmi_against_class_labels() -> None:
    rng = np.random.default_rng(10)
    rows = grouped_rows([0, 1, 2], "train", rng, "t") + [("v", 0, "val", 1, direction(1, rng))]
    discovery = discover_motion_concepts(make_clips(rows), MotionConceptConfig(partition=0))
    summary = motion_summary(discovery)
    assert summary["num_concepts"] == 3
    assert summary["clips_per_concept"] == {"min": 3, "median": 3.0, "max": 3}
    assert summary["videos_per_concept"]["max"] == 4  # the val clip's video joins a concept
    assert summary["levels"][0]["nmi"] == pytest.approx(1.0)
    shuffled = {vid: 0 for vid in discovery.clips.video_id.tolist()}
    assert motion_summary(discovery, shuffled)["nmi_all_clips"] == pytest.approx(0.0)
