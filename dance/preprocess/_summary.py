"""The preprocess job's summary: outcome counts over all outputs, this run's throughput,
and the keypoint error of kept clips against ground truth where it exists.

An ok video with no kept clip (no detectable person, or every clip filtered out) is
counted on its own: it has no motion labels, which later stages must mask.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from dance import storage
from dance.keyframes import clip_frames
from dance.pose.skeleton import NUM_COCO17_JOINTS
from dance.preprocess._failures import failure_code
from dance.preprocess._gt_error import KeypointErrorMeter
from dance.preprocess._parts import part_pairs


@dataclass
class PreprocessSummary:
    """What the outputs hold after a run, and how fast this run went."""

    videos: int = 0
    videos_ok: int = 0
    videos_without_kept_clips: int = 0
    failed_by_reason: dict[str, int] = field(default_factory=dict)
    clips: int = 0
    clips_kept: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    processed_this_run: int = 0
    skipped_as_done: int = 0
    frames_this_run: int = 0
    seconds: float = 0.0
    keypoint_error: dict[str, Any] | None = None

    @property
    def videos_per_s(self) -> float:
        """Videos processed per second in this run."""
        return self.processed_this_run / self.seconds if self.seconds > 0 else 0.0

    @property
    def frames_per_s(self) -> float:
        """Decoded frames per second in this run."""
        return self.frames_this_run / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (preprocess_summary.json)."""
        return {
            **asdict(self),
            "videos_failed": self.videos - self.videos_ok,
            "videos_per_s": self.videos_per_s,
            "frames_per_s": self.frames_per_s,
        }

    def describe(self) -> str:
        """The summary as a few human-readable lines."""
        failed = ", ".join(f"{k} {v}" for k, v in sorted(self.failed_by_reason.items())) or "none"
        rejected = (
            ", ".join(f"{k} {v}" for k, v in sorted(self.rejected_by_reason.items())) or "none"
        )
        lines = [
            (f"videos: {self.videos} ({self.videos_ok} ok, {self.videos - self.videos_ok} failed: "
            f"{failed}; {self.videos_without_kept_clips} with no kept clip)"),
            (f"clips: {self.clips} ({self.clips_kept} kept, "
            f"{self.clips - self.clips_kept} rejected: {rejected})"),
            (f"this run: {self.processed_this_run} videos ({self.skipped_as_done} already done) "
            f"in {self.seconds:.1f} s: {self.videos_per_s:.2f} videos/s, "
            f"{self.frames_per_s:.1f} frames/s"),
        ]
        error = self.keypoint_error
        if error and error.get("mean_px") is not None:
            lines.append(
                f"keypoint error of kept clips vs ground truth: {error['mean_px']:.2f} px, "
                f"{error['mean_normalised']:.4f} person heights "
                f"({error['clips']} clips, {error['joints']} joints)"
            )
        return "\n".join(lines)


def summarize_outputs(
    workdir: str,
    clip_length: int,
    truth: Callable[[str], np.ndarray] | None = None,
) -> PreprocessSummary:
    """Counts over every committed part; keypoint error of kept clips when `truth` is given."""
    summary = PreprocessSummary()
    failed: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    meter = KeypointErrorMeter() if truth is not None else None
    for videos_uri, clips_uri in part_pairs(workdir):
        videos = storage.read_parquet(videos_uri, columns=["video_id", "status", "error"])
        ok_ids: set[str] = set()
        for video_id, status, error in zip(
            videos.column("video_id").to_pylist(),
            videos.column("status").to_pylist(),
            videos.column("error").to_pylist(),
            strict=True,
        ):
            summary.videos += 1
            if status == "ok":
                summary.videos_ok += 1
                ok_ids.add(video_id)
            else:
                failed[failure_code(error) or "unknown"] += 1
        if clips_uri is None:
            summary.videos_without_kept_clips += len(ok_ids)
            continue
        columns = ["video_id", "kept", "reject_reason", "start", "end"] + (["pose"] if meter else [])
        clips = storage.read_parquet(clips_uri, columns=columns).to_pylist()
        for clip in clips:
            summary.clips += 1
            if clip["kept"]:
                summary.clips_kept += 1
                if meter is not None:
                    _score_clip(meter, clip, clip_length, truth)
            else:
                rejected[clip["reject_reason"] or "unknown"] += 1
        with_kept_clip = {clip["video_id"] for clip in clips if clip["kept"]}
        summary.videos_without_kept_clips += len(ok_ids - with_kept_clip)
    summary.failed_by_reason = dict(sorted(failed.items()))
    summary.rejected_by_reason = dict(sorted(rejected.items()))
    summary.keypoint_error = meter.result() if meter is not None else None
    return summary


def _score_clip(
    meter: KeypointErrorMeter,
    clip: dict[str, Any],
    clip_length: int,
    truth: Callable[[str], np.ndarray],
) -> None:
    """Add one kept clip's error; its frames come from its stored [start, end) window."""
    try:
        video_truth = truth(clip["video_id"])
    except KeyError:
        meter.missing_truth.append(clip["video_id"])
        return
    window = clip_frames(clip["start"], clip["end"], clip_length)
    pred = np.asarray(clip["pose"], dtype=np.float32).reshape(window.size, NUM_COCO17_JOINTS, 3)
    meter.add(pred, video_truth[window])
