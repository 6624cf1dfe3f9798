"""The preprocess job on a local Ray: end to end, per-video faults, resume after SIGKILL, S3."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest
from preprocess_helpers import clips_by_id, job_config, rows_by_id, same_values, write_manifest

from dance.datasets import prepare_manifest
from dance.manifest import Manifest
from dance.preprocess import NO_PERSON
from dance.workdir import manifest_uri

REPO = Path(__file__).resolve().parents[1]
CLIP_VALUES = 16 * 17 * 3  # L * J * 3 with the default clip length


def _run(cfg):
    from ray_jobs.preprocess import run_preprocess

    return run_preprocess(cfg, log=lambda line: None)


@pytest.fixture(scope="module")
def reference_run(ray_session, tiny_synth, tiny_encoders, tmp_path_factory):
    """An uninterrupted run on DANCE-Synth tiny (annotations pose, tiny encoders)."""
    tmp = tmp_path_factory.mktemp("reference")
    cfg, _ = job_config(tmp, str(tmp / "work"), tiny_synth, tiny_encoders)
    manifest = prepare_manifest(cfg, log=lambda line: None)
    summary = _run(cfg)
    return cfg, manifest, summary


def test_every_manifest_video_is_written_exactly_once(reference_run):
    cfg, manifest, _ = reference_run
    videos = rows_by_id(Path(cfg.workdir) / "videos")
    assert sorted(videos) == sorted(manifest.video_ids)
    assert all(row["status"] == "ok" for row in videos.values())


def test_video_rows_carry_keyframes_and_both_embeddings(reference_run):
    cfg, _, _ = reference_run
    for row in rows_by_id(Path(cfg.workdir) / "videos").values():
        assert row["num_frames"] == 32 and row["height"] == 160 and row["width"] == 160
        assert row["keyframes"] and row["keyframes"] == sorted(row["keyframes"])
        assert len(row["backbone"]) == 32  # the tiny VideoMAE's hidden size
        assert len(row["dual"]) == 16  # the tiny X-CLIP's projection size
        assert np.isclose(np.linalg.norm(row["dual"]), 1.0, atol=1e-4)


def test_clip_rows_hold_l_by_17_by_3_pose_values_within_the_video(reference_run):
    cfg, _, _ = reference_run
    clips = clips_by_id(Path(cfg.workdir) / "clips")
    assert clips
    for clip in clips.values():
        assert len(clip["pose"]) == CLIP_VALUES
        assert 0 <= clip["start"] < clip["end"] <= 32 and clip["end"] - clip["start"] == 16
        assert clip["start"] <= clip["keyframe"] < clip["end"]
        assert clip["kept"] == (clip["reject_reason"] is None)


def test_summary_counts_match_the_outputs_and_ground_truth_scores_zero(reference_run):
    cfg, manifest, summary = reference_run
    clips = clips_by_id(Path(cfg.workdir) / "clips")
    assert summary.videos == summary.videos_ok == len(manifest)
    assert summary.processed_this_run == len(manifest)
    assert summary.clips == len(clips)
    assert summary.clips_kept == sum(c["kept"] for c in clips.values())
    # Pose read from the ground truth itself: the error of kept clips is exactly 0 px.
    assert summary.keypoint_error["clips"] == summary.clips_kept > 0
    assert summary.keypoint_error["mean_px"] == 0.0
    saved = json.loads((Path(cfg.workdir) / "preprocess_summary.json").read_text())
    assert saved["videos"] == len(manifest) and saved["clips_kept"] == summary.clips_kept


def test_the_shifted_test_set_gets_encoder_features_and_no_clips(reference_run):
    cfg, manifest, _ = reference_run
    shifted = Manifest.read(str(Path(cfg.workdir) / "shifted" / "manifest.parquet"))
    assert len(shifted) == len(manifest.split("test"))  # DANCE-Synth re-renders each test video
    videos = rows_by_id(Path(cfg.workdir) / "shifted" / "videos")
    assert sorted(videos) == sorted(shifted.video_ids)
    for row in videos.values():
        assert row["status"] == "ok" and len(row["backbone"]) == 32 and len(row["dual"]) == 16
    assert not clips_by_id(Path(cfg.workdir) / "shifted" / "clips")  # no pose was run


def test_a_rerun_of_a_finished_job_processes_nothing(reference_run):
    cfg, manifest, _ = reference_run
    before = rows_by_id(Path(cfg.workdir) / "videos")
    summary = _run(cfg)
    assert summary.processed_this_run == 0 and summary.skipped_as_done == len(manifest)
    assert same_values(rows_by_id(Path(cfg.workdir) / "videos"), before)


# -- faults ---------------------------------------------------------------------------------


def _bad_videos(folder: Path, good_video: Path) -> dict[str, tuple[str, str]]:
    """video_id -> (uri, expected error code) for one video of each failure kind."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.mp4").write_bytes(b"")
    data = good_video.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])
    (folder / "text.mp4").write_text("this is a text file, not a video\n" * 20)
    size, fourcc = (160, 160), cv2.VideoWriter_fourcc(*"mp4v")
    writer = cv2.VideoWriter(str(folder / "one_frame.mp4"), fourcc, 25, size)
    writer.write(np.zeros((160, 160, 3), np.uint8))
    writer.release()
    return {
        "bad_empty": (str(folder / "empty.mp4"), "empty"),
        "bad_truncated": (str(folder / "truncated.mp4"), "truncated"),
        "bad_text": (str(folder / "text.mp4"), "not_a_video"),
        "bad_one_frame": (str(folder / "one_frame.mp4"), "too_short"),
        "bad_missing": (str(folder / "missing.mp4"), "missing"),
    }


def _noise_video(path: Path) -> str:
    """A readable 32-frame video of random noise: nothing a pose model takes for a person."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (160, 160))
    for _ in range(32):
        writer.write(rng.integers(0, 256, (160, 160, 3), dtype=np.uint8))
    writer.release()
    return str(path)


NOISE_ID = "no_person_noise"


@pytest.fixture(scope="module")
def fault_runs(ray_session, tiny_synth, tiny_encoders, tmp_path_factory):
    """Mediapipe pose on 3 good videos, with and without one bad video of each kind and a
    video without a person; the mixed run also embeds (tiny encoders)."""
    tmp = tmp_path_factory.mktemp("faults")
    good_manifest = Manifest.read(str(tiny_synth / "manifest.parquet"))
    good = list(
        zip(
            good_manifest.video_ids[:3],
            good_manifest.table.column("uri").to_pylist()[:3],
            strict=True,
        )
    )
    bad = _bad_videos(tmp / "bad", Path(good[0][1]))
    noise = (NOISE_ID, _noise_video(tmp / "bad" / "noise.mp4"))
    pose = {
        "backend": "mediapipe",
        "resources": {"pool_size": 1, "num_cpus": 0.25, "batch_size": 8},
    }
    runs = {}
    for name, records, encoders in (
        ("mixed", good + [(vid, uri) for vid, (uri, _) in bad.items()] + [noise], tiny_encoders),
        ("clean", good, None),
    ):
        cfg, _ = job_config(tmp, str(tmp / name), tiny_synth, encoders, pose=pose)
        write_manifest(records, manifest_uri(cfg.workdir))
        runs[name] = (cfg, _run(cfg))
    return runs, bad, [vid for vid, _ in good]


def test_each_bad_video_becomes_a_failed_row_with_its_specific_reason(fault_runs):
    runs, bad, _ = fault_runs
    cfg, summary = runs["mixed"]
    videos = rows_by_id(Path(cfg.workdir) / "videos")
    for video_id, (_, code) in bad.items():
        assert videos[video_id]["status"] == "failed", video_id
        assert videos[video_id]["error"].startswith(f"{code}: "), videos[video_id]["error"]
    assert summary.failed_by_reason == {code: 1 for _, code in bad.values()}


def test_good_videos_are_unaffected_by_bad_neighbours(fault_runs):
    runs, _, good_ids = fault_runs
    mixed_cfg, _mixed = runs["mixed"]
    clean_cfg, clean = runs["clean"]
    mixed_videos = rows_by_id(Path(mixed_cfg.workdir) / "videos")
    clean_videos = rows_by_id(Path(clean_cfg.workdir) / "videos")
    assert all(clean_videos[v]["status"] == "ok" for v in good_ids)
    for video_id in good_ids:  # the clean run has no encoders: compare without them
        assert same_values(
            _without_encoders(mixed_videos)[video_id], _without_encoders(clean_videos)[video_id]
        )
    mixed_clips = clips_by_id(Path(mixed_cfg.workdir) / "clips")
    clean_clips = clips_by_id(Path(clean_cfg.workdir) / "clips")
    assert set(clean_clips) == {k for k in mixed_clips if k[0] in good_ids}
    assert all(same_values(mixed_clips[k], clean_clips[k]) for k in clean_clips)
    # mediapipe finds the rendered person: kept clips exist and score near the ground truth.
    assert clean.clips_kept > 0
    assert clean.keypoint_error["mean_normalised"] < 0.25


def test_a_video_without_a_person_is_ok_with_backbone_and_dual_features(fault_runs):
    runs, _, _ = fault_runs
    cfg, _ = runs["mixed"]
    row = rows_by_id(Path(cfg.workdir) / "videos")[NOISE_ID]
    assert row["status"] == "ok" and row["error"] is None
    assert len(row["backbone"]) == 32 and len(row["dual"]) == 16  # the tiny encoders' sizes


def test_every_clip_of_a_video_without_a_person_is_written_and_rejected_no_person(fault_runs):
    runs, _, _ = fault_runs
    cfg, _ = runs["mixed"]
    videos = rows_by_id(Path(cfg.workdir) / "videos")
    clips = [
        c for (vid, _), c in clips_by_id(Path(cfg.workdir) / "clips").items() if vid == NOISE_ID
    ]
    assert len(clips) == min(len(videos[NOISE_ID]["keyframes"]), cfg.clips.num_clips) > 0
    assert {(c["kept"], c["reject_reason"]) for c in clips} == {(False, NO_PERSON)}


def test_the_summary_counts_a_video_without_a_person_as_ok_with_no_kept_clip(fault_runs):
    runs, bad, _ = fault_runs
    (mixed_cfg, mixed), (_, clean) = runs["mixed"], runs["clean"]
    noise_clips = [k for k in clips_by_id(Path(mixed_cfg.workdir) / "clips") if k[0] == NOISE_ID]
    assert mixed.videos_ok == clean.videos_ok + 1 and mixed.videos == clean.videos + len(bad) + 1
    assert mixed.videos_without_kept_clips == clean.videos_without_kept_clips + 1
    assert mixed.rejected_by_reason[NO_PERSON] == len(noise_clips)


def test_discover_gives_a_video_without_a_person_unknown_motion_labels_and_keeps_it(
    fault_runs, tmp_path
):
    from ray_jobs.discover import run_discover

    runs, _, good_ids = fault_runs
    cfg, _ = runs["mixed"]
    (tmp_path / "objects.txt").write_text("ball\n")
    (tmp_path / "scenes.txt").write_text("grass field\n")
    language = {
        "source": "files",
        "object_file": str(tmp_path / "objects.txt"),
        "scene_file": str(tmp_path / "scenes.txt"),
    }
    discover = cfg.discover.model_copy(
        update={
            "language": cfg.discover.language.model_copy(update=language),
            "motion": cfg.discover.motion.model_copy(update={"partition": 0}),
        }
    )
    summary = run_discover(cfg.model_copy(update={"discover": discover}), log=lambda line: None)
    labels = {
        r["video_id"]: r
        for r in pq.read_table(Path(cfg.workdir) / "concepts" / "labels.parquet").to_pylist()
    }
    noise = labels[NOISE_ID]
    assert noise["motion_known"] is False and not any(noise["motion"])
    assert noise["objects"] is not None and noise["scenes"] is not None  # it has a dual embedding
    assert all(labels[v]["motion_known"] for v in good_ids)
    assert summary.videos_ok_without_kept_clip == 1


def _without_encoders(rows: dict[str, dict]) -> dict[str, dict]:
    """Video rows minus the encoder columns (runs without encoders leave them null)."""
    return {
        k: {c: v for c, v in row.items() if c not in ("backbone", "dual")}
        for k, row in rows.items()
    }


# -- resume ---------------------------------------------------------------------------------


def _wait_for_idle_cluster(timeout_s: float) -> None:
    """Block until every CPU of the tests' Ray instance is free again."""
    import ray

    deadline = time.monotonic() + timeout_s
    while ray.available_resources().get("CPU", 0.0) < ray.cluster_resources().get("CPU", 0.0):
        assert time.monotonic() < deadline, f"the killed job's actors still hold CPUs after {timeout_s} s"
        time.sleep(0.1)


def test_a_job_killed_part_way_resumes_to_the_uninterrupted_outputs(
    reference_run, tiny_synth, ray_session, tmp_path
):
    ref_cfg, manifest, _ = reference_run
    cfg, config_path = job_config(
        tmp_path, str(tmp_path / "work"), tiny_synth, None, preprocess={"writer": {"batch_size": 1}}
    )
    Path(cfg.workdir).mkdir(parents=True)
    shutil.copy(
        manifest_uri(ref_cfg.workdir), manifest_uri(cfg.workdir)
    )  # the same manifest, splits included
    videos_dir = tmp_path / "work" / "videos"
    env = {**os.environ, "RAY_ADDRESS": ray_session, "PYTHONPATH": str(REPO)}
    driver = subprocess.Popen(
        [sys.executable, "-m", "ray_jobs.preprocess", "--config", str(config_path)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (videos_dir.is_dir() and any(videos_dir.glob("part-*.parquet"))):
            assert driver.poll() is None, "the job ended before writing any part"
            assert time.monotonic() < deadline, "no videos part appeared within 120 s"
            time.sleep(0.05)
        os.kill(driver.pid, signal.SIGKILL)
    finally:
        driver.wait(timeout=30)
    # The dead driver's actors live on until Ray reaps them and may commit one more
    # part (the same file a rerun would write); count once they have let their CPUs go.
    _wait_for_idle_cluster(timeout_s=60)
    done_at_kill = len(rows_by_id(videos_dir))
    assert 0 < done_at_kill < len(manifest), "the kill must land part-way"

    summary = _run(cfg)

    assert summary.processed_this_run == len(manifest) - done_at_kill
    assert same_values(
        _without_encoders(rows_by_id(videos_dir)),
        _without_encoders(rows_by_id(Path(ref_cfg.workdir) / "videos")),
    )
    assert same_values(
        clips_by_id(tmp_path / "work" / "clips"), clips_by_id(Path(ref_cfg.workdir) / "clips")
    )
    leftovers = [p for p in (tmp_path / "work").rglob("*") if p.name.startswith(".")]
    assert leftovers == [] and list((tmp_path / "spill").iterdir()) == []


# -- S3 ---------------------------------------------------------------------------------


@pytest.mark.s3
def test_the_job_reads_videos_from_and_writes_outputs_to_s3(
    reference_run, s3_bucket, s3_endpoint, tiny_synth, tmp_path
):
    from dance import storage

    ref_cfg, manifest, _ = reference_run
    uris = manifest.table.column("uri").to_pylist()
    s3_records = []
    for video_id, uri in zip(manifest.video_ids, uris, strict=True):
        target = f"{s3_bucket}/videos/{Path(uri).name}"
        storage.write_bytes(target, Path(uri).read_bytes())
        s3_records.append((video_id, target))
    workdir = f"{s3_bucket}/work"
    cfg, _ = job_config(tmp_path, workdir, tiny_synth, None, storage={"s3_endpoint": s3_endpoint})
    table = Manifest.read(manifest_uri(ref_cfg.workdir)).table
    s3_manifest = Manifest.from_table(
        table.set_column(table.column_names.index("uri"), "uri", [[u for _, u in s3_records]])
    )
    s3_manifest.write(manifest_uri(cfg.workdir))

    summary = _run(cfg)

    assert summary.videos_ok == len(manifest)
    fs, path = storage.filesystem_for(workdir)
    assert same_values(
        _without_encoders(rows_by_id(f"{path}/videos", fs)),
        _without_encoders(rows_by_id(Path(ref_cfg.workdir) / "videos")),
    )
    assert same_values(
        clips_by_id(f"{path}/clips", fs), clips_by_id(Path(ref_cfg.workdir) / "clips")
    )
    assert storage.exists(f"{workdir}/preprocess_summary.json")
