"""`dance concept-clips`: Video-TCAV's concept clips per video, and the job that cuts them.

The library half (windows, free background squares, one video's concept cuts) runs on
arrays; the job runs on DANCE-Synth tiny with its ground truth and a tiny VideoMAE named
by a preprocess record, as `dance preprocess` would leave it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from preprocess_helpers import job_config

from dance.datasets import prepare_manifest
from dance.errors import StageError
from dance.manifest import Manifest
from dance.posthoc import (
    VideoBoxes,
    choose_concept_cuts,
    clip_window,
    largest_free_square,
    plan_concept_cuts,
    read_concept_clips,
    video_concept_clips,
)
from dance.progress import quiet
from dance.synth import load_ground_truth
from dance.workdir import begin_stage, manifest_uri, model_reference, read_record

SMALL = {"pool_size": 1, "num_cpus": 0.25, "batch_size": 4}
SETTINGS = {"clips_per_concept": 3, "random_sets": 2, "random_set_size": 3, "resources": SMALL}
LENGTH, SIZE = 16, 32  # the tiny VideoMAE's clip length and input size


# --- the library: one video's concept clips ------------------------------------------


def test_a_clip_window_is_consecutive_seeded_and_prefers_frames_showing_the_instances() -> None:
    present = np.r_[np.zeros(20), np.ones(12)]
    window = clip_window(32, 8, seed=3, present=present)
    assert np.array_equal(window, np.arange(window[0], window[0] + 8)) and window[0] >= 20
    assert np.array_equal(clip_window(32, 8, 5), clip_window(32, 8, 5))
    assert clip_window(4, 8, 0).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]  # short: spread


def test_the_scene_square_touches_no_person_or_object_box() -> None:
    boxes = np.array([[0, 0, 40, 100], [60, 70, 80, 90]], dtype=float)
    x0, y0, x1, y1 = largest_free_square(boxes, 100, 160)
    assert x1 - x0 == y1 - y0 == 80 and x0 >= 80  # right of both boxes
    overlaps = (np.minimum(x1, boxes[:, 2]) > np.maximum(x0, boxes[:, 0])) & (
        np.minimum(y1, boxes[:, 3]) > np.maximum(y0, boxes[:, 1]))
    assert not overlaps.any()


def _still_person_and_ball(frames: int = 20) -> VideoBoxes:
    person = np.tile([10.0, 10.0, 40.0, 90.0], (frames, 1))
    ball = np.tile([50.0, 60.0, 60.0, 70.0], (frames, 1))
    ball[: frames // 4] = np.nan
    return VideoBoxes(person, {"ball": ball}, "beach")


def test_a_video_gives_person_object_and_scene_concepts_named_by_its_boxes() -> None:
    cuts = plan_concept_cuts(_still_person_and_ball(), (100, 160), seed=0)
    assert [(c.group, c.concept, c.kind) for c in cuts] == [
        ("person", "person_moving", "spatiotemporal"), ("person", "person_still", "spatial"),
        ("object", "ball", "spatial"), ("object_moving", "ball_moving", "spatiotemporal"),
        ("scene", "beach", "spatial"),
    ]
    assert not np.isnan(cuts[2].boxes).any()  # the object's frame is one where it is seen


def test_concept_clips_are_l_frames_at_the_backbone_size() -> None:
    frames = np.random.default_rng(0).integers(0, 255, (20, 100, 160, 3), dtype=np.uint8)
    clips = video_concept_clips(frames, _still_person_and_ball(), size=24, length=8, seed=1)
    assert len(clips) == 5
    assert all(c.clip.shape == (8, 24, 24, 3) and c.clip.dtype == np.uint8 for c in clips)
    still = next(c for c in clips if c.concept == "person_still").clip
    assert (still == still[0]).all()  # a spatial clip is one crop, repeated


def test_each_concept_keeps_a_seeded_choice_of_at_most_cap_videos() -> None:
    cuts = {f"v{i}": plan_concept_cuts(_still_person_and_ball(), (100, 160), seed=i)
            for i in range(6)}  # fmt: skip
    chosen = choose_concept_cuts(cuts, cap=2, seed=0)
    per_concept: dict[str, int] = {}
    for video_cuts in chosen.values():
        for cut in video_cuts:
            per_concept[cut.concept] = per_concept.get(cut.concept, 0) + 1
    assert per_concept == dict.fromkeys(
        ["person_moving", "person_still", "ball", "ball_moving", "beach"], 2)
    again = choose_concept_cuts(cuts, cap=2, seed=0)
    assert {v: [c.concept for c in cs] for v, cs in chosen.items()} == {
        v: [c.concept for c in cs] for v, cs in again.items()}


# --- the job on DANCE-Synth tiny ----------------------------------------------------


def _workdir(tmp: Path, tiny_synth: Path, backbone: str, manifest: Manifest | None = None,
             **settings: object):  # fmt: skip
    """A synth workdir with its manifest and a finished preprocess record naming `backbone`."""
    cfg, _ = job_config(tmp, str(tmp / "work"), tiny_synth, None,
                        concept_clips={**SETTINGS, **settings})  # fmt: skip
    if manifest is None:
        prepare_manifest(cfg, log=quiet)
    else:
        manifest.write(manifest_uri(cfg.workdir))
    begin_stage(cfg.workdir, "preprocess", cfg.model_dump(mode="json"), log=quiet).finish(
        facts={"backbone": model_reference(backbone)})
    return cfg


@pytest.fixture(scope="module")
def tiny_backbone(tmp_path_factory) -> str:
    from dance.encoders import build_tiny_videomae

    return build_tiny_videomae(str(tmp_path_factory.mktemp("videomae") / "videomae"))


def _with_a_corrupt_video(tiny_synth: Path, tmp: Path) -> tuple[Manifest, str]:
    """DANCE-Synth tiny's manifest whose first train video is replaced by a corrupt file."""
    manifest = Manifest.read(str(tiny_synth / "manifest.parquet"))
    table = manifest.table
    broken = tmp / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    bad_id = table.filter(pa.compute.equal(table["split"], "train"))["video_id"][0].as_py()
    uris = [str(broken) if v == bad_id else str(Path(u) if Path(u).is_absolute() else tiny_synth / u)
            for v, u in zip(table["video_id"].to_pylist(), table["uri"].to_pylist(), strict=True)]
    table = table.set_column(table.schema.get_field_index("uri"), "uri", pa.array(uris))
    return Manifest(table, manifest.class_names), bad_id


@pytest.fixture(scope="module")
def synth_run(ray_session, tiny_synth, tiny_backbone, tmp_path_factory):
    """One run on DANCE-Synth tiny (one train video corrupt): (cfg, summary, corrupt id)."""
    from ray_jobs.concept_clips import run_concept_clips

    tmp = tmp_path_factory.mktemp("concept_clips")
    manifest, bad_id = _with_a_corrupt_video(tiny_synth, tmp)
    cfg = _workdir(tmp, tiny_synth, tiny_backbone, manifest)
    summary = run_concept_clips(cfg, log=quiet)
    return cfg, summary, bad_id


def test_the_job_on_synth_writes_concepts_named_by_the_ground_truth(synth_run, tiny_synth):
    cfg, _, _ = synth_run
    groups = read_concept_clips(cfg.workdir).groups()
    truth = load_ground_truth(str(tiny_synth))
    train = Manifest.read(manifest_uri(cfg.workdir)).split("train").video_ids
    assert set(groups["person"]) == {"person_moving", "person_still"}
    objects = {truth[v].object for v in train}
    assert {c.removesuffix("_moving") for c in groups["object"]} <= objects
    assert set(groups["object"]) & objects
    assert set(groups["scene"]) <= {truth[v].scene for v in train} and groups["scene"]


def test_every_clip_has_the_backbone_length_and_size_and_each_concept_a_capped_count(synth_run):
    cfg, _, _ = synth_run
    clips = read_concept_clips(cfg.workdir)
    assert (clips.length, clips.size) == (LENGTH, SIZE)
    for concepts in clips.groups().values():
        for stack in concepts.values():
            assert 1 <= len(stack) <= SETTINGS["clips_per_concept"]
            assert all(c.shape == (LENGTH, SIZE, SIZE, 3) and c.dtype == np.uint8 for c in stack)


def test_the_random_sets_are_full(synth_run):
    cfg, _, _ = synth_run
    sets = read_concept_clips(cfg.workdir).random_sets()
    assert [len(s) for s in sets] == [SETTINGS["random_set_size"]] * SETTINGS["random_sets"]
    assert all(c.shape == (LENGTH, SIZE, SIZE, 3) for s in sets for c in s)


def test_the_record_holds_the_box_source_clip_geometry_and_counts(synth_run, tiny_backbone):
    cfg, summary, _ = synth_run
    record = read_record(cfg.workdir, "concept_clips")
    assert record.done
    assert record.facts["box_source"] == "ground_truth" and record.facts["detector"] is None
    assert (record.facts["length"], record.facts["size"]) == (LENGTH, SIZE)
    assert record.facts["backbone"] == tiny_backbone
    assert record.counts["random_clips"] == 6 and record.counts["clips"] == summary["clips"] > 0


def test_a_rerun_with_the_same_config_is_skipped(synth_run):
    from ray_jobs.concept_clips import run_concept_clips

    cfg, _, _ = synth_run
    before = read_record(cfg.workdir, "concept_clips").finished_at
    lines: list[str] = []
    summary = run_concept_clips(cfg, log=lines.append)
    assert summary["skipped"] and any("already done" in line for line in lines)
    assert read_record(cfg.workdir, "concept_clips").finished_at == before


def test_a_corrupt_video_becomes_a_failed_row_and_the_others_go_on(synth_run):
    cfg, _, bad_id = synth_run
    clips = read_concept_clips(cfg.workdir)
    assert list(clips.failed) == [bad_id]
    assert clips.failed[bad_id].split(":")[0] in {"not_a_video", "unreadable", "truncated", "empty"}
    assert bad_id not in clips.table["video_id"].to_pylist()
    assert len(clips.status) == 12  # every train video has its status row


def test_without_a_preprocess_record_the_job_names_the_command_to_run(tmp_path, tiny_synth):
    from ray_jobs.concept_clips import run_concept_clips

    cfg, _ = job_config(tmp_path, str(tmp_path / "work"), tiny_synth, None)
    prepare_manifest(cfg, log=quiet)
    with pytest.raises(StageError, match="dance preprocess"):
        run_concept_clips(cfg, log=quiet)
