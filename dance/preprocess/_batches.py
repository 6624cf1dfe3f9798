"""Batch-level steps of the model stages, on plain row dicts (the actors only host them).

Each step takes a batch of video rows, runs one model call across all of them where it
can (frames of one size are stacked), falls back to one call per video when that call
fails, and turns a video's failure into a `status=failed` row with a coded reason.
A video without a detectable person is not a failure: it stays `ok` (its clips are
rejected `no_person`) and goes on to the encoders like any other video.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dance.config import PoseConfig
from dance.pose.estimator import PoseEstimator, PoseResult
from dance.preprocess._arrays import unpack
from dance.preprocess._clips import assemble_clips, to_original_pixels
from dance.preprocess._failures import failure_message, run_isolated

Row = dict[str, Any]
_POSE_INPUTS = ("pose_frames", "pose_shape", "pose_indices", "windows", "clip_keyframes")


def _fail(row: Row, code: str, detail: str) -> Row:
    """The row marked failed with `code: detail`; model outputs and clips dropped."""
    return {
        **row,
        "status": "failed",
        "error": failure_message(code, detail),
        "clips": None,
        "backbone": None,
        "dual": None,
    }


def _describe(exc: BaseException) -> str:
    """`Type: message` of an exception, for an error column."""
    return f"{type(exc).__name__}: {exc}"


def _group_by_shape(rows: Sequence[Row], shape_column: str) -> dict[tuple[int, ...], list[int]]:
    """Row positions grouped by the frame size (h, w) of their packed frames."""
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for position, row in enumerate(rows):
        groups[tuple(row[shape_column][1:])].append(position)
    return groups


def _estimated_poses(
    rows: Sequence[Row], estimator: PoseEstimator
) -> dict[int, PoseResult | Exception]:
    """Pose of each row's packed frames: one estimator call per frame size across videos."""
    out: dict[int, PoseResult | Exception] = {}
    with_frames = [i for i, row in enumerate(rows) if row.get("pose_frames") is not None]
    groups = _group_by_shape([rows[i] for i in with_frames], "pose_shape")
    for members in groups.values():
        positions = [with_frames[m] for m in members]

        def run(batch: Sequence[int]) -> list[PoseResult]:
            frames = [unpack(rows[i]["pose_frames"], rows[i]["pose_shape"], np.uint8) for i in batch]
            result = estimator.estimate(np.concatenate(frames))
            bounds = np.cumsum([0] + [f.shape[0] for f in frames])
            return [
                PoseResult(
                    keypoints=result.keypoints[a:b], boxes=result.boxes[a:b], found=result.found[a:b]
                )
                for a, b in itertools.pairwise(bounds)
            ]

        if getattr(estimator, "tracks_over_time", False):
            # A tracking estimator follows one person through time: one video per call.
            for position in positions:
                out[position] = run_isolated(run, [position])[0]
        else:
            out.update(zip(positions, run_isolated(run, positions), strict=True))
    return out


def pose_batch(
    rows: Sequence[Row],
    config: PoseConfig,
    estimator: PoseEstimator | None = None,
    annotations: Callable[[str, np.ndarray], PoseResult] | None = None,
) -> list[Row]:
    """Clip rows for each ok video from a pose model (`estimator`) or from `annotations`.

    Keypoints are mapped back to original image pixels. A video whose key clips hold no
    valid pose frame stays ok with every clip rejected `no_person`; an error of the pose
    source fails it as `pose_error` (a crash says nothing about the video's content).
    """
    if (estimator is None) == (annotations is None):
        raise ValueError("pose_batch needs exactly one of estimator and annotations")
    estimated = _estimated_poses(rows, estimator) if estimator is not None else {}
    out: list[Row] = []
    for position, row in enumerate(rows):
        base = {k: v for k, v in row.items() if k not in _POSE_INPUTS}
        if row["status"] != "ok":
            out.append({**base, "clips": None})
            continue
        clip_keyframes = np.asarray(row["clip_keyframes"], dtype=np.int32)
        indices = np.asarray(row["pose_indices"], dtype=np.int64)
        if clip_keyframes.size == 0:  # no keyframes: no key clips, nothing to judge
            out.append({**base, "clips": []})
            continue
        windows = np.asarray(row["windows"], dtype=np.int64).reshape(clip_keyframes.size, -1)
        try:
            if estimator is not None:
                result = estimated.get(position)
                if result is None:
                    raise ValueError("the decode stage sent no pose frames for this video")
                if isinstance(result, Exception):
                    raise result
                frame_size = tuple(row["pose_shape"][1:3])
                keypoints = to_original_pixels(
                    result.keypoints, frame_size, (row["height"], row["width"])
                )
            else:
                result = annotations(row["video_id"], indices)  # type: ignore[misc]
                keypoints = result.keypoints
            clips = assemble_clips(windows, clip_keyframes, indices, keypoints, result.found, config)
        except Exception as exc:  # noqa: BLE001 - one video's pose error fails that video only
            out.append(_fail(base, "pose_error", _describe(exc)))
            continue
        out.append({**base, "clips": clips.rows})
    return out


def features_only_batch(rows: Sequence[Row]) -> list[Row]:
    """Rows of a features-only run: the pose inputs dropped and no clips.

    A shifted test set is only ever scored, and scoring reads backbone features alone, so
    its videos skip the pose model, the run's most expensive stage.
    """
    return [
        {**{k: v for k, v in row.items() if k not in _POSE_INPUTS},
         "clips": [] if row["status"] == "ok" else None}
        for row in rows
    ]


def embed_batch(
    rows: Sequence[Row],
    embed: Callable[[np.ndarray], np.ndarray],
    frames_column: str,
    shape_column: str,
    output_column: str,
    failure_code: str,
) -> list[Row]:
    """`output_column` = embedding of each ok row's packed clip, batched per frame size."""
    out = [{k: v for k, v in row.items() if k not in (frames_column, shape_column)} for row in rows]
    ready = [
        i for i, row in enumerate(rows) if row["status"] == "ok" and row.get(frames_column) is not None
    ]
    groups = _group_by_shape([rows[i] for i in ready], shape_column)
    for members in groups.values():
        positions = [ready[m] for m in members]

        def run(batch: Sequence[int]) -> list[np.ndarray]:
            clips = np.stack(
                [unpack(rows[i][frames_column], rows[i][shape_column], np.uint8) for i in batch]
            )
            return list(np.asarray(embed(clips), dtype=np.float32))

        for position, result in zip(positions, run_isolated(run, positions), strict=True):
            if isinstance(result, Exception):
                out[position] = _fail(out[position], failure_code, _describe(result))
            else:
                out[position][output_column] = result.tolist()
    return out


def split_block(rows: Sequence[Row]) -> tuple[list[Row], list[Row]]:
    """(video rows, clip rows) of a block of finished rows, clip rows tagged with video_id."""
    videos, clips = [], []
    for row in rows:
        videos.append(row)
        for clip in row.get("clips") or []:
            clips.append({"video_id": row["video_id"], **clip})
    return videos, clips


def summary_rows(rows: Sequence[Row]) -> list[Row]:
    """The writer's small per-video report: status, error, frames, clip counts."""
    out = []
    for row in rows:
        clips = row.get("clips") or []
        out.append(
            {
                "video_id": row["video_id"],
                "status": row["status"],
                "error": row.get("error"),
                "num_frames": row.get("num_frames") or 0,
                "clips": len(clips),
                "clips_kept": sum(1 for clip in clips if clip["kept"]),
            }
        )
    return out
