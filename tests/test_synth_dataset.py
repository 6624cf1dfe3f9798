"""generate_dataset on the tiny preset: layout, tables, decodable videos, determinism, shift."""

from __future__ import annotations

import json
from pathlib import Path

import decord
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dance.config import SynthConfig
from dance.errors import InputError
from dance.synth import (
    class_catalogue,
    generate_dataset,
    load_ground_truth,
    shift_donor,
    synth_dataset_matches,
)

TINY = SynthConfig.preset_config("tiny", workers=1)
TABLES = ("manifest", "manifest_shifted", "ground_truth", "concept_annotations")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny dataset shared by the tests of this module."""
    out = tmp_path_factory.mktemp("synth_tiny")
    generate_dataset(TINY, str(out))
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _table(root: Path, name: str) -> pa.Table:
    return pq.read_table(root / f"{name}.parquet")


def test_writes_the_full_layout(tiny: Path) -> None:
    for name in TABLES:
        assert (tiny / f"{name}.parquet").is_file()
    for name in ("classes", "primitives", "synth"):
        assert (tiny / f"{name}.json").is_file()
    assert len(list((tiny / "videos").glob("*.mp4"))) == 4 * 4
    assert len(list((tiny / "videos_shifted").glob("*.mp4"))) == 4


def test_manifest_schema_is_exact_and_sorted(tiny: Path) -> None:
    for name in ("manifest", "manifest_shifted"):
        table = _table(tiny, name)
        expected = pa.schema(
            [("video_id", pa.string()), ("uri", pa.string()), ("label", pa.int32()),
             ("label_name", pa.string()), ("split", pa.string())]
        )  # fmt: skip
        assert table.schema.remove_metadata().equals(expected)
        ids = table.column("video_id").to_pylist()
        assert ids == sorted(ids)


def test_manifest_ids_uris_labels_and_splits(tiny: Path) -> None:
    rows = _table(tiny, "manifest").to_pylist()
    labels = {c.name: c.label for c in class_catalogue(TINY)}
    for row in rows:
        assert row["video_id"].startswith(f"synth_{row['label_name']}_")
        assert row["uri"] == f"videos/{row['video_id']}.mp4"
        assert row["label"] == labels[row["label_name"]]
    splits = [row["split"] for row in rows]
    assert splits.count("test") == 4 and splits.count("train") == 12


def test_video_ids_agree_across_all_tables(tiny: Path) -> None:
    plain = set(_table(tiny, "manifest").column("video_id").to_pylist())
    shifted = set(_table(tiny, "manifest_shifted").column("video_id").to_pylist())
    assert not plain & shifted
    for name in ("ground_truth", "concept_annotations"):
        ids = _table(tiny, name).column("video_id").to_pylist()
        assert ids == sorted(ids)
        assert set(ids) == plain | shifted
    videos = {p.stem for p in (tiny / "videos").glob("*.mp4")}
    assert videos == plain
    assert {p.stem for p in (tiny / "videos_shifted").glob("*.mp4")} == shifted


def test_every_video_decodes_with_the_declared_size(tiny: Path) -> None:
    ground_truth = load_ground_truth(str(tiny))
    for uri, video_id in _uris(tiny):
        reader = decord.VideoReader(str(tiny / uri))
        gt = ground_truth[video_id]
        assert len(reader) == TINY.num_frames == gt.keypoints.shape[0]
        assert reader[0].shape == (TINY.height, TINY.width, 3)


def _uris(root: Path) -> list[tuple[str, str]]:
    out = []
    for name in ("manifest", "manifest_shifted"):
        table = _table(root, name)
        out += list(zip(table.column("uri").to_pylist(), table.column("video_id").to_pylist()))
    return out


def test_visible_keypoints_lie_inside_the_frame(tiny: Path) -> None:
    for gt in load_ground_truth(str(tiny)).values():
        kp = gt.keypoints
        visible = kp[..., 2] > 0
        assert visible.mean() > 0.95
        xs, ys = kp[..., 0][visible], kp[..., 1][visible]
        assert (xs >= 0).all() and (xs < TINY.width).all()
        assert (ys >= 0).all() and (ys < TINY.height).all()


def test_ground_truth_has_a_person_box_every_frame_and_object_boxes(tiny: Path) -> None:
    for gt in load_ground_truth(str(tiny)).values():
        person, objects = gt.boxes()
        assert person.shape == objects.shape == (TINY.num_frames, 4)
        assert person.dtype == objects.dtype == np.float32
        assert not np.isnan(person).any()
        assert (person[:, 2] > person[:, 0]).all() and (person[:, 3] > person[:, 1]).all()
        assert (person[:, :2] >= 0).all() and (person[:, 2:] <= [TINY.width, TINY.height]).all()
        assert not np.isnan(objects).all()


def test_visible_keypoints_lie_inside_the_person_box(tiny: Path) -> None:
    for gt in load_ground_truth(str(tiny)).values():
        for kp, box in zip(gt.keypoints, gt.boxes()[0], strict=True):
            visible = kp[kp[:, 2] > 0]
            assert ((visible[:, 0] >= box[0]) & (visible[:, 0] < box[2])).all()
            assert ((visible[:, 1] >= box[1]) & (visible[:, 1] < box[3])).all()


def test_a_shifted_video_keeps_the_person_box_and_changes_the_object_box(tiny: Path) -> None:
    truth = load_ground_truth(str(tiny))
    for video_id, gt in truth.items():
        if gt.shifted:
            own = truth[video_id.removesuffix("_shifted")]
            np.testing.assert_array_equal(gt.person_boxes, own.person_boxes)
            assert not np.array_equal(gt.object_boxes, own.object_boxes, equal_nan=True)


def test_ground_truth_without_box_columns_loads_and_asks_to_render_again(
    tiny: Path, tmp_path: Path
) -> None:
    old = _table(tiny, "ground_truth").drop_columns(["person_boxes", "object_boxes"])
    pq.write_table(old, tmp_path / "ground_truth.parquet")
    gt = next(iter(load_ground_truth(str(tmp_path)).values()))
    assert gt.person_boxes is None and gt.object_boxes is None
    assert gt.keypoints.shape == (TINY.num_frames, 17, 3)
    with pytest.raises(InputError, match="no boxes.*render the dataset again"):
        gt.boxes()


def test_primitives_and_concepts_match_the_catalogue(tiny: Path) -> None:
    names = json.loads((tiny / "primitives.json").read_text())
    classes = {c.name: c for c in class_catalogue(TINY)}
    labels = {r["video_id"]: r["label_name"] for r in _table(tiny, "manifest").to_pylist()}
    concepts = {r["video_id"]: r for r in _table(tiny, "concept_annotations").to_pylist()}
    for video_id, gt in load_ground_truth(str(tiny)).items():
        if gt.shifted:
            continue
        cls = classes[labels[video_id]]
        assert {names[str(i)] for i in gt.primitives} <= set(cls.primitives)
        assert gt.object in cls.objects and gt.scene in cls.scenes
        assert concepts[video_id]["objects"] == [gt.object]
        assert concepts[video_id]["scenes"] == [gt.scene]


def test_classes_json_records_factor_program_and_partners(tiny: Path) -> None:
    doc = json.loads((tiny / "classes.json").read_text())
    assert doc["lower_arms"]["reversal_partner"] == "raise_arms"
    assert doc["lower_arms"]["program"] == doc["raise_arms"]["program"][::-1]
    assert doc["bat_swing"]["factor"] == "object"
    assert doc["bat_swing"]["program"] == doc["racket_swing"]["program"]
    assert [doc[n]["label"] for n in sorted(doc, key=lambda n: doc[n]["label"])] == [0, 1, 2, 3]


def test_shifted_split_keeps_the_motion_and_swaps_the_context(tiny: Path) -> None:
    ground_truth = load_ground_truth(str(tiny))
    classes = class_catalogue(TINY)
    by_name = {c.name: c for c in classes}
    shifted_rows = _table(tiny, "manifest_shifted").to_pylist()
    test_rows = {
        r["video_id"]: r for r in _table(tiny, "manifest").to_pylist() if r["split"] == "test"
    }
    assert {r["video_id"].removesuffix("_shifted") for r in shifted_rows} == set(test_rows)
    for row in shifted_rows:
        original_id = row["video_id"].removesuffix("_shifted")
        assert row["split"] == "test"
        assert row["label"] == test_rows[original_id]["label"]
        assert row["uri"] == f"videos_shifted/{row['video_id']}.mp4"
        shifted, original = ground_truth[row["video_id"]], ground_truth[original_id]
        assert shifted.shifted and not original.shifted
        np.testing.assert_array_equal(shifted.keypoints, original.keypoints)
        np.testing.assert_array_equal(shifted.primitives, original.primitives)
        cls = by_name[row["label_name"]]
        donor = shift_donor(cls, classes)
        assert donor.name != cls.name
        assert shifted.object in donor.objects and shifted.scene in donor.scenes
        assert shifted.object not in cls.objects and shifted.scene not in cls.scenes


def test_same_seed_gives_identical_bytes_whatever_workers_and_folder(
    tiny: Path, tmp_path: Path
) -> None:
    other = tmp_path / "elsewhere" / "run2"
    generate_dataset(TINY.model_copy(update={"workers": 2}), str(other))
    first, second = _files(tiny), _files(other)
    assert sorted(first) == sorted(second)
    for name in first:
        assert first[name] == second[name], f"{name} differs between runs"


def test_a_different_seed_gives_different_data(tiny: Path, tmp_path: Path) -> None:
    generate_dataset(TINY.model_copy(update={"seed": 1}), str(tmp_path))
    first, second = _files(tiny), _files(tmp_path)
    assert (tiny / "ground_truth.parquet").read_bytes() != (
        tmp_path / "ground_truth.parquet"
    ).read_bytes()
    common_videos = [n for n in first if n.startswith("videos/") and n in second]
    assert common_videos
    assert all(first[n] != second[n] for n in common_videos)


def test_avi_with_mpeg4_is_readable(tmp_path: Path) -> None:
    config = SynthConfig.preset_config(
        "tiny", num_classes=2, videos_per_class=2, test_fraction=0.5, num_frames=8,
        codec="mpeg4", container="avi", workers=1,
    )  # fmt: skip
    generate_dataset(config, str(tmp_path))
    uris = _table(tmp_path, "manifest").column("uri").to_pylist()
    assert all(uri.endswith(".avi") for uri in uris)
    reader = decord.VideoReader(str(tmp_path / uris[0]))
    assert len(reader) == 8


def test_remote_out_dir_is_refused_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="out_dir must be a local folder"):
        generate_dataset(TINY, "s3://bucket/synth")


def test_a_finished_dataset_is_recognised_for_its_own_config_only(tiny: Path) -> None:
    assert synth_dataset_matches(TINY.model_copy(update={"workers": 2}), str(tiny))
    assert not synth_dataset_matches(TINY.model_copy(update={"seed": 5}), str(tiny))
    assert not synth_dataset_matches(TINY, str(tiny / "missing"))


def test_a_dataset_from_an_older_generator_is_rendered_again(tiny: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    for name, data in _files(tiny).items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes(data)
    synth = json.loads((copy / "synth.json").read_text())
    (copy / "synth.json").write_text(json.dumps({**synth, "generator_version": "2"}))
    assert not synth_dataset_matches(TINY, str(copy))  # version 2 had no boxes


def test_a_dataset_with_a_missing_video_is_not_complete(tiny: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    for name, data in _files(tiny).items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes(data)
    next((copy / "videos").glob("*.mp4")).unlink()
    assert not synth_dataset_matches(TINY, str(copy))


def test_summary_counts_and_describes_the_run(tmp_path: Path) -> None:
    config = SynthConfig.preset_config(
        "tiny", num_classes=2, videos_per_class=2, test_fraction=0.5, num_frames=8, workers=1
    )
    summary = generate_dataset(config, str(tmp_path))
    assert (summary.num_videos, summary.num_train, summary.num_test) == (4, 2, 2)
    assert summary.num_shifted == 2
    assert summary.cpu_seconds > 0
    assert "2 classes, 4 videos" in summary.describe()
