"""Pure preprocess logic without Ray: spill file, decode once, clip rows, parts, errors, batches."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dance.config import BackboneConfig, ClipConfig, DualEncoderConfig, KeyframeConfig, PoseConfig
from dance.encoders import backbone_frame_indices
from dance.keyframes import clip_windows, detect_keyframes
from dance.manifest import Manifest
from dance.preprocess import (
    FAILURE_CODES,
    NO_PERSON,
    DecodePlan,
    KeypointErrorMeter,
    PreprocessSummary,
    SpillBuffer,
    assemble_clips,
    decode_video,
    done_video_ids,
    downscaled_size,
    embed_batch,
    failure_code,
    failure_message,
    keypoint_errors,
    pack,
    part_id,
    pose_batch,
    remove_orphan_clip_parts,
    resize_frames,
    run_isolated,
    shorter_side_size,
    summarize_outputs,
    sweep_stale_spills,
    to_original_pixels,
    unpack,
    write_part,
)
from dance.synth import load_ground_truth
from dance.video import open_video


def _plan(tmp_path: Path, **changes: object) -> DecodePlan:
    settings = {
        "keyframes": KeyframeConfig(),
        "clips": ClipConfig(),
        "backbone": BackboneConfig(),
        "dual": DualEncoderConfig(),
        "spill_dir": str(tmp_path / "spill"),
        "chunk_frames": 7,
    }
    settings.update(changes)
    return DecodePlan(**settings)  # type: ignore[arg-type]


def _first_video(root: Path) -> tuple[str, str]:
    manifest = Manifest.read(str(root / "manifest.parquet"))
    return manifest.video_ids[0], manifest.table.column("uri")[0].as_py()


# -- spill buffer ---------------------------------------------------------------------------


def test_spill_buffer_reads_back_exactly_the_requested_frames(tmp_path):
    frames = np.random.default_rng(0).integers(0, 256, (10, 6, 5, 3), dtype=np.uint8)
    with SpillBuffer(str(tmp_path)) as spill:
        spill.append(frames[:4])
        spill.append(frames[4:])
        wanted = np.array([0, 1, 2, 5, 9])
        assert np.array_equal(spill.read(wanted), frames[wanted])


def test_spill_buffer_deletes_its_file_even_when_the_body_fails(tmp_path):
    with pytest.raises(RuntimeError), SpillBuffer(str(tmp_path)) as spill:
        spill.append(np.zeros((2, 4, 4, 3), np.uint8))
        assert Path(spill.path).exists()
        raise RuntimeError("decoder crashed")
    assert list(tmp_path.iterdir()) == []


def test_spill_buffer_rejects_frames_of_another_size(tmp_path):
    with SpillBuffer(str(tmp_path)) as spill:
        spill.append(np.zeros((1, 4, 4, 3), np.uint8))
        with pytest.raises(ValueError, match="must all be"):
            spill.append(np.zeros((1, 4, 5, 3), np.uint8))


def test_sweep_removes_only_spill_files_of_dead_processes(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = tmp_path / f"dance-spill-{dead.stdout.strip()}-x.frames"
    live = tmp_path / f"dance-spill-{os.getpid()}-y.frames"
    stale.write_bytes(b"1")
    live.write_bytes(b"1")
    assert sweep_stale_spills(str(tmp_path)) == 1
    assert not stale.exists() and live.exists()


# -- decode ---------------------------------------------------------------------------------


def test_decode_returns_keyframes_windows_and_only_the_key_clip_frames(tiny_synth, tmp_path):
    video_id, uri = _first_video(tiny_synth)
    row = decode_video(video_id, uri, _plan(tmp_path))
    with open_video(uri) as reader:
        frames = np.concatenate([c.frames for c in reader.iter_chunks(64)])
    keyframes = detect_keyframes(frames)
    windows = clip_windows(keyframes, len(frames), ClipConfig())
    assert row["status"] == "ok" and row["keyframes"] == keyframes.tolist()
    assert row["windows"] == windows.reshape(-1).tolist()
    assert row["pose_indices"] == np.unique(windows).tolist()
    pose_frames = unpack(row["pose_frames"], row["pose_shape"], np.uint8)
    assert np.array_equal(pose_frames, frames[np.unique(windows)])
    assert list((tmp_path / "spill").iterdir()) == []


def test_decode_captures_encoder_frames_at_their_input_side(tiny_synth, tmp_path):
    video_id, uri = _first_video(tiny_synth)
    row = decode_video(video_id, uri, _plan(tmp_path, backbone_side=32, dual_side=64))
    assert row["backbone_shape"] == [16, 32, 32, 3]
    assert row["dual_shape"] == [8, 64, 64, 3]
    assert "backbone_frames" not in decode_video(video_id, uri, _plan(tmp_path))


def test_reversed_decode_takes_the_encoder_frames_of_the_video_played_backwards(
    tiny_synth, tmp_path
):
    video_id, uri = _first_video(tiny_synth)
    plan = _plan(tmp_path, backbone_side=32, pose_frames=False)
    forward = decode_video(video_id, uri, plan)
    backward = decode_video(video_id, uri, replace(plan, reverse_time=True))
    with open_video(uri) as reader:
        frames = np.concatenate([c.frames for c in reader.iter_chunks(64)])
    played_backwards = frames[::-1]
    indices = backbone_frame_indices(len(frames), BackboneConfig())
    expected = resize_frames(played_backwards[indices], (32, 32))
    assert np.array_equal(unpack(backward["backbone_frames"], backward["backbone_shape"], np.uint8),
                          expected)
    assert backward["backbone_frames"] != forward["backbone_frames"]


def test_decode_without_keyframes_gives_the_same_encoder_frames_and_no_clips(tiny_synth, tmp_path):
    video_id, uri = _first_video(tiny_synth)
    plan = _plan(tmp_path, backbone_side=32, pose_frames=False)
    full = decode_video(video_id, uri, plan)
    bare = decode_video(video_id, uri, replace(plan, find_keyframes=False))
    assert bare["backbone_frames"] == full["backbone_frames"]
    assert bare["keyframes"] == [] and bare["clip_keyframes"] == [] and full["keyframes"]


def test_reversed_decode_refuses_to_produce_pose_frames(tmp_path):
    with pytest.raises(ValueError, match="pose_frames=False"):
        _plan(tmp_path, reverse_time=True)


def test_decode_downscales_spilled_frames_to_the_max_side(tiny_synth, tmp_path):
    video_id, uri = _first_video(tiny_synth)
    row = decode_video(video_id, uri, _plan(tmp_path, frame_max_side=80))
    assert row["pose_shape"][1:] == [80, 80, 3] and (row["height"], row["width"]) == (160, 160)


def test_decode_of_a_missing_or_short_video_is_a_coded_failure(tiny_synth, tmp_path):
    missing = decode_video("v", str(tmp_path / "nope.mp4"), _plan(tmp_path))
    assert missing["status"] == "failed" and failure_code(missing["error"]) == "missing"
    video_id, uri = _first_video(tiny_synth)
    short = decode_video(video_id, uri, _plan(tmp_path, min_frames=100))
    assert failure_code(short["error"]) == "too_short" and short["num_frames"] == 32


def test_size_helpers_keep_aspect_and_never_enlarge():
    assert downscaled_size(720, 1280, 640) == (360, 640)
    assert downscaled_size(100, 200, 640) == (100, 200)
    assert shorter_side_size(720, 1280, 224) == (224, 398)
    assert shorter_side_size(100, 200, 224) == (100, 200)


# -- clips ----------------------------------------------------------------------------------


def _person(num_frames: int) -> np.ndarray:
    """A standing figure's keypoints, drifting slowly to the right, all joints scored 0.9."""
    base = np.stack([np.linspace(40, 60, 17), np.linspace(20, 120, 17), np.full(17, 0.9)], axis=1)
    frames = np.repeat(base[None], num_frames, axis=0).astype(np.float32)
    frames[:, :, 0] += np.arange(num_frames)[:, None] * 0.5
    return frames


def test_clip_rows_gather_each_window_from_the_unique_frames():
    windows = np.array([[0, 1, 2, 3], [2, 3, 4, 5]])
    indices = np.unique(windows)
    keypoints = _person(indices.size)
    clips = assemble_clips(windows, np.array([1, 4]), indices, keypoints, np.ones(6, bool),
                           PoseConfig())
    assert [r["start"] for r in clips.rows] == [0, 2] and [r["end"] for r in clips.rows] == [4, 6]
    assert np.array_equal(np.reshape(clips.rows[1]["pose"], (4, 17, 3)), keypoints[2:6])
    assert all(r["kept"] for r in clips.rows) and clips.any_valid_frame


def test_a_clip_touching_a_frame_without_person_is_rejected_as_invalid_frames():
    windows = np.array([[0, 1, 2], [3, 4, 5]])
    found = np.array([True, True, True, True, False, True])
    clips = assemble_clips(windows, np.array([1, 4]), np.arange(6), _person(6), found, PoseConfig())
    assert [r["reject_reason"] for r in clips.rows] == [None, "invalid_frames"]


def test_every_clip_of_a_video_without_any_valid_pose_frame_is_rejected_as_no_person():
    windows = np.array([[0, 1, 2], [3, 4, 5]])
    clips = assemble_clips(windows, np.array([1, 4]), np.arange(6), _person(6), np.zeros(6, bool),
                           PoseConfig())
    assert [(r["kept"], r["reject_reason"]) for r in clips.rows] == [(False, NO_PERSON)] * 2


def test_no_person_is_a_clip_reject_reason_not_a_video_failure_code():
    assert NO_PERSON not in FAILURE_CODES
    with pytest.raises(ValueError, match="unknown failure code"):
        failure_message(NO_PERSON, "no valid pose frame")


def test_keypoints_map_back_to_original_pixels():
    points = np.zeros((1, 17, 3), np.float32)
    points[0, 0] = (10, 20, 0.7)
    mapped = to_original_pixels(points, (90, 160), (720, 1280))
    assert tuple(mapped[0, 0]) == (80.0, 160.0, pytest.approx(0.7))


# -- batches --------------------------------------------------------------------------------


def test_run_isolated_retries_items_alone_after_a_batch_failure():
    def run(batch):
        if "bad" in batch:
            raise ValueError("bad input")
        return [item.upper() for item in batch]

    results = run_isolated(run, ["a", "bad", "c"])
    assert results[0] == "A" and results[2] == "C" and isinstance(results[1], ValueError)


def test_annotation_pose_fails_an_unannotated_video_and_keeps_the_others(tiny_synth, tmp_path):
    from dance.pose.estimator import AnnotationPoseSource
    from dance.preprocess import GroundTruthKeypoints

    video_id, uri = _first_video(tiny_synth)
    good = decode_video(video_id, uri, _plan(tmp_path, pose_frames=False))
    stray = {**good, "video_id": "not_annotated"}
    source = AnnotationPoseSource(GroundTruthKeypoints(str(tiny_synth / "ground_truth.parquet")))
    rows = pose_batch([good, stray], PoseConfig(), annotations=source.for_video)
    assert rows[0]["status"] == "ok" and len(rows[0]["clips"]) == len(good["clip_keyframes"])
    assert rows[1]["status"] == "failed" and failure_code(rows[1]["error"]) == "pose_error"


def test_a_video_whose_key_clips_hold_no_person_stays_ok_with_all_clips_no_person(
    tiny_synth, tmp_path
):
    from dance.pose.estimator import PoseResult

    video_id, uri = _first_video(tiny_synth)
    row = decode_video(video_id, uri, _plan(tmp_path, pose_frames=False))
    [out] = pose_batch([row], PoseConfig(), annotations=lambda v, i: PoseResult.missing(len(i)))
    assert out["status"] == "ok" and out["error"] is None
    assert len(out["clips"]) == len(row["clip_keyframes"]) > 0
    assert {(c["kept"], c["reject_reason"]) for c in out["clips"]} == {(False, NO_PERSON)}


def test_a_video_without_a_person_goes_on_to_the_encoders(tiny_synth, tmp_path):
    from dance.pose.estimator import PoseResult

    video_id, uri = _first_video(tiny_synth)
    plan = _plan(tmp_path, pose_frames=False, backbone_side=32)
    row = decode_video(video_id, uri, plan)
    posed = pose_batch([row], PoseConfig(), annotations=lambda v, i: PoseResult.missing(len(i)))
    [out] = embed_batch(posed, lambda clips: np.ones((len(clips), 4)), "backbone_frames",
                        "backbone_shape", "backbone", "backbone_error")
    assert out["status"] == "ok" and out["backbone"] == [1.0] * 4


def test_one_bad_clip_fails_only_its_video_in_a_backbone_batch(tiny_encoders):
    from dance.encoders import VideoBackbone

    backbone = VideoBackbone.from_pretrained(tiny_encoders["backbone"])
    clip = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    rows = []
    for video_id, frames in (("a", clip), ("b", clip[:8]), ("c", clip[::-1])):
        data, shape = pack(frames)
        rows.append({"video_id": video_id, "status": "ok", "backbone_frames": data,
                     "backbone_shape": shape})
    out = embed_batch(rows, backbone.embed, "backbone_frames", "backbone_shape", "backbone",
                      "backbone_error")
    assert failure_code(out[1]["error"]) == "backbone_error"
    assert np.allclose(out[0]["backbone"], backbone.embed(clip[None])[0], atol=1e-5)
    assert np.allclose(out[2]["backbone"], backbone.embed(clip[::-1][None])[0], atol=1e-5)


# -- parts ----------------------------------------------------------------------------------


def test_part_id_depends_on_the_set_of_videos_not_their_order():
    assert part_id(["b", "a"]) == part_id(["a", "b"]) != part_id(["a", "c"])


def test_a_written_part_marks_its_videos_done_and_orphan_clips_are_removed(tmp_path):
    video = {"video_id": "v1", "status": "ok"}
    clip = {"video_id": "v1", "clip_index": 0, "start": 0, "end": 16, "keyframe": 8,
            "pose": [0.0] * 816, "kept": True, "reject_reason": None}
    write_part(str(tmp_path), [video], [clip])
    assert done_video_ids(str(tmp_path)) == {"v1"}
    orphan = tmp_path / "clips" / "part-0123456789abcdef.parquet"
    orphan.write_bytes((tmp_path / "clips" / f"part-{part_id(['v1'])}.parquet").read_bytes())
    assert remove_orphan_clip_parts(str(tmp_path)) == [str(orphan)]
    assert not orphan.exists()


# -- summary --------------------------------------------------------------------------------


def _clip_row(video_id: str, kept: bool, reason: str | None) -> dict:
    return {"video_id": video_id, "clip_index": 0, "start": 0, "end": 16, "keyframe": 8,
            "pose": [0.0] * 816, "kept": kept, "reject_reason": reason}


def test_the_summary_counts_ok_videos_without_a_kept_clip(tmp_path):
    videos = [{"video_id": "person", "status": "ok"}, {"video_id": "nobody", "status": "ok"},
              {"video_id": "no_keyframe", "status": "ok"},
              {"video_id": "broken", "status": "failed", "error": "empty: 0 bytes"}]
    clips = [_clip_row("person", True, None), _clip_row("nobody", False, NO_PERSON)]
    write_part(str(tmp_path), videos, clips)
    summary = summarize_outputs(str(tmp_path), ClipConfig().clip_length)
    assert summary.videos_ok == 3 and summary.videos_without_kept_clips == 2
    assert summary.rejected_by_reason == {NO_PERSON: 1}


def test_the_summary_line_of_videos_names_those_without_a_kept_clip():
    summary = PreprocessSummary(videos=4, videos_ok=3, videos_without_kept_clips=2,
                                failed_by_reason={"empty": 1})
    first_line = summary.describe().splitlines()[0]
    assert first_line == "videos: 4 (3 ok, 1 failed: empty 1; 2 with no kept clip)"


# -- ground truth error ---------------------------------------------------------------------


def test_keypoint_error_is_zero_against_itself_and_scales_with_an_offset(tiny_synth):
    truth = next(iter(load_ground_truth(str(tiny_synth)).values())).keypoints[:4]
    pixels, _normalised = keypoint_errors(truth, truth)
    assert np.nanmax(pixels) == 0.0
    shifted = truth.copy()
    shifted[..., 0] += 3.0
    meter = KeypointErrorMeter()
    meter.add(shifted, truth)
    assert meter.result()["mean_px"] == pytest.approx(3.0)
    assert 0 < meter.result()["mean_normalised"] < 3.0 / 10
    assert np.isnan(keypoint_errors(shifted, truth)[0][truth[..., 2] == 0]).all()
