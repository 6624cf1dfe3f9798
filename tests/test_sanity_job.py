"""`dance sanity`: the test videos played backwards through preprocess's own code, and the
reversal, fidelity and deletion figures of the trained tiny model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dance.config import DanceConfig
from dance.encoders import VideoBackbone
from dance.manifest import Manifest
from dance.preprocess import decode_video, read_videos, resolve_encoder_models, unpack
from dance.progress import quiet
from dance.workdir import manifest_uri, require_done, reversed_workdir
from ray_jobs.preprocess import decode_plan
from ray_jobs.sanity import run_sanity


@pytest.fixture(scope="module")
def checked(tiny_trained: DanceConfig) -> tuple[DanceConfig, dict, dict[str, int]]:
    """The sanity stage run twice; the reversed parts' times after the first run."""
    report = run_sanity(tiny_trained, log=quiet)
    folder = Path(reversed_workdir(tiny_trained.workdir)) / "videos"
    times = {p.name: p.stat().st_mtime_ns for p in folder.glob("part-*.parquet")}
    run_sanity(tiny_trained, log=quiet)
    return tiny_trained, report, times


def test_every_test_video_is_played_backwards(checked):
    cfg, report, _ = checked
    test = Manifest.read(manifest_uri(cfg.workdir)).split("test")
    assert report["reversal"]["videos"] == len(test)
    assert {v["video_id"] for v in report["reversal"]["per_video"]} == set(test.video_ids)


def test_reversed_features_are_the_backbone_on_the_frames_played_backwards(checked):
    cfg, _, _ = checked
    models = resolve_encoder_models(cfg, quiet)
    plan = decode_plan(cfg, models)
    test = Manifest.read(manifest_uri(cfg.workdir)).split("test")
    video_id, uri = test.video_ids[0], test.table["uri"][0].as_py()
    row = decode_video(video_id, uri, replace(plan, pose_frames=False, reverse_time=True))
    frames = unpack(row["backbone_frames"], row["backbone_shape"], np.uint8)
    expected = VideoBackbone.from_pretrained(models.backbone).embed(frames[None])[0]
    stored = read_videos(reversed_workdir(cfg.workdir), columns=["video_id", "backbone"])
    by_id = dict(zip(stored["video_id"].to_pylist(), stored["backbone"].to_pylist(), strict=True))
    forward = read_videos(cfg.workdir, columns=["video_id", "backbone"])
    forward_by_id = dict(zip(forward["video_id"].to_pylist(), forward["backbone"].to_pylist(),
                             strict=True))
    assert np.allclose(by_id[video_id], expected, atol=1e-5)
    assert not np.allclose(by_id[video_id], forward_by_id[video_id], atol=1e-5)


def test_the_reversal_pair_rate_is_measured_on_the_pair_classes(checked):
    _, report, _ = checked
    reversal = report["reversal"]
    assert reversal["pair_videos"] > 0  # tiny holds raise_arms / lower_arms
    assert 0.0 <= reversal["pair_rate"] <= 1.0


def test_fidelity_and_the_deletion_curve_are_reported(checked):
    cfg, report, _ = checked
    assert report["fidelity"]["top_k"] == cfg.evaluate.top_k
    assert 0.0 <= report["fidelity"]["share"] <= 1.0
    deletion = report["deletion"]
    assert list(deletion["ks"]) == cfg.evaluate.deletion_ks
    assert deletion["top"][0] == deletion["random"][0]  # nothing removed: the same accuracy


def test_the_stage_record_keeps_the_headline_figures(checked):
    cfg, report, _ = checked
    record = require_done(cfg.workdir, "sanity")
    assert record.facts["reversal_pair_rate"] == report["reversal"]["pair_rate"]
    assert "preprocess" in record.upstream and "train" in record.upstream


def test_a_rerun_reuses_the_reversed_features(checked):
    cfg, _, times = checked
    folder = Path(reversed_workdir(cfg.workdir)) / "videos"
    assert times and {p.name: p.stat().st_mtime_ns for p in folder.glob("part-*.parquet")} == times


def test_the_suggested_edit_is_scored_on_the_shifted_and_on_the_test_split(checked):
    cfg, report, _ = checked
    shift = report["shift_edit"]
    assert shift is not None  # tiny renders a shifted split
    test = Manifest.read(manifest_uri(cfg.workdir)).split("test")
    assert shift["test_outcome"]["videos"] == len(test)
    record = require_done(cfg.workdir, "sanity")
    assert record.facts["test_accuracy_after_shift_edit"] == shift["test_outcome"][
        "accuracy_after"]
