"""Decode one video once, streaming: keyframes, key-clip frames for pose, encoder frames.

Memory stays constant in the video's length: one chunk is in memory at a time, every
(downscaled) frame is spilled to a temp file, and only the key clips' frames are read
back after the keyframes are known. Encoder frames, whose indices are known from the
frame count up front, are captured as they pass, already at the encoder's input size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from dance.config import BackboneConfig, ClipConfig, DualEncoderConfig, KeyframeConfig
from dance.keyframes import KeyframeDetector, clip_windows, select_keyframes
from dance.preprocess._arrays import pack
from dance.preprocess._failures import failure_message
from dance.preprocess._spill import SpillBuffer
from dance.video import VideoReadError, open_video


@dataclass(frozen=True)
class DecodePlan:
    """What decoding must produce for the later stages.

    pose_frames: spill and return the key clips' frames (False when pose comes from
        annotations). backbone_side / dual_side: shorter side of the encoder frames to
        capture (None: that encoder is off). reverse_time: decode the video as if played
        backwards (the reversed-video sanity check); encoder features only, so it needs
        pose_frames=False. find_keyframes: False skips keyframe detection (no keyframes,
        no key clips): for encoder features alone, as `dance predict` needs them.
    """

    keyframes: KeyframeConfig
    clips: ClipConfig
    backbone: BackboneConfig
    dual: DualEncoderConfig
    chunk_frames: int = 16
    min_frames: int = 3
    frame_max_side: int = 640
    spill_dir: str | None = None
    pose_frames: bool = True
    backbone_side: int | None = None
    dual_side: int | None = None
    reverse_time: bool = False
    find_keyframes: bool = True

    def __post_init__(self) -> None:
        if self.pose_frames and (self.reverse_time or not self.find_keyframes):
            raise ValueError(
                "reverse_time and find_keyframes=False decode encoder features only: "
                "set pose_frames=False"
            )


def downscaled_size(height: int, width: int, max_side: int) -> tuple[int, int]:
    """(h, w) with the longer side at most `max_side`, aspect kept (unchanged if it fits)."""
    longest = max(height, width)
    if longest <= max_side:
        return height, width
    scale = max_side / longest
    return max(1, round(height * scale)), max(1, round(width * scale))


def shorter_side_size(height: int, width: int, side: int) -> tuple[int, int]:
    """(h, w) with the shorter side equal to `side`; never enlarges a frame."""
    shortest = min(height, width)
    if shortest <= side:
        return height, width
    scale = side / shortest
    return max(side, round(height * scale)), max(side, round(width * scale))


def resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(T, H, W, 3) uint8 frames resized to size=(h, w) with cv2 INTER_AREA (copy if unchanged)."""
    height, width = size
    if frames.shape[1:3] == (height, width):
        return np.ascontiguousarray(frames)
    out = np.empty((frames.shape[0], height, width, 3), dtype=np.uint8)
    for index, frame in enumerate(frames):
        out[index] = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    return out


def failed_row(video_id: str, code: str, detail: str, **facts: Any) -> dict[str, Any]:
    """A failed video row: status failed, `error` = "code: detail", plus known facts."""
    return {"video_id": video_id, "status": "failed", "error": failure_message(code, detail), **facts}


def decode_video(video_id: str, uri: str, plan: DecodePlan) -> dict[str, Any]:
    """One DECODED_SCHEMA row for a video; a video that cannot be used becomes a failed row."""
    try:
        reader = open_video(uri)
    except VideoReadError as exc:
        return failed_row(video_id, exc.reason, str(exc))
    with reader:
        info = reader.info
        facts = {
            "num_frames": info.num_frames,
            "fps": float(info.fps),
            "height": info.height,
            "width": info.width,
        }
        if info.num_frames < plan.min_frames:
            return failed_row(
                video_id,
                "too_short",
                f"{info.num_frames} frame(s), fewer than preprocess.min_frames={plan.min_frames}",
                **facts,
            )
        try:
            return _decode_frames(video_id, reader, plan, facts)
        except VideoReadError as exc:
            return failed_row(video_id, exc.reason, str(exc), **facts)


def _encoder_indices(num_frames: int, plan: DecodePlan) -> tuple[np.ndarray, np.ndarray]:
    """Raw frame indices the backbone and the dual encoder take (empty when off)."""
    empty = np.zeros(0, dtype=np.int64)
    if plan.backbone_side is None and plan.dual_side is None:
        return empty, empty
    # Imported here: dance.encoders loads torch, which a decode-only worker never needs.
    from dance.encoders import backbone_frame_indices, dual_frame_indices

    backbone = backbone_frame_indices(num_frames, plan.backbone)
    dual = dual_frame_indices(backbone, plan.dual) if plan.dual_side is not None else empty
    return (backbone if plan.backbone_side is not None else empty), dual


def _decode_frames(
    video_id: str, reader: Any, plan: DecodePlan, facts: dict[str, Any]
) -> dict[str, Any]:
    """The one streaming pass over a readable video."""
    num_frames = facts["num_frames"]
    backbone_idx, dual_idx = _encoder_indices(num_frames, plan)
    if plan.reverse_time:
        # Frame i of the reversed video is frame n-1-i of the file: the same sampling code
        # picks positions in the reversed video, read from their mirrored raw frames.
        backbone_idx, dual_idx = num_frames - 1 - backbone_idx, num_frames - 1 - dual_idx
    wanted = np.union1d(backbone_idx, dual_idx)
    captured: dict[int, tuple[np.ndarray | None, np.ndarray | None]] = {}
    detector = KeyframeDetector(plan.keyframes)
    spill_size = downscaled_size(facts["height"], facts["width"], plan.frame_max_side)
    with SpillBuffer(plan.spill_dir) as spill:
        for chunk in reader.iter_chunks(plan.chunk_frames):
            if plan.find_keyframes:
                # Readers return a new array per chunk and nothing below writes to it.
                detector.update(chunk.frames, frames_stay_unchanged=True)
            inside = wanted[(wanted >= chunk.start) & (wanted < chunk.stop)]
            for index in inside.tolist():
                frame = chunk.frames[index - chunk.start][None]
                captured[index] = (
                    _at_side(frame, plan.backbone_side) if index in backbone_idx else None,
                    _at_side(frame, plan.dual_side) if index in dual_idx else None,
                )
            if plan.pose_frames:
                spill.append(resize_frames(chunk.frames, spill_size))
        keyframes = detector.finish() if plan.find_keyframes else np.zeros(0, np.int64)
        decoded = detector.num_frames if plan.find_keyframes else num_frames
        if plan.reverse_time:
            keyframes = np.sort(decoded - 1 - keyframes)
        windows = clip_windows(keyframes, decoded, plan.clips)
        pose_indices = np.unique(windows).astype(np.int32)
        row: dict[str, Any] = {
            "video_id": video_id,
            "status": "ok",
            "error": None,
            **facts,
            "keyframes": keyframes.astype(np.int32).tolist(),
            "windows": windows.reshape(-1).astype(np.int32).tolist(),
            "clip_keyframes": select_keyframes(keyframes, plan.clips).astype(np.int32).tolist(),
            "pose_indices": pose_indices.tolist(),
        }
        if plan.pose_frames and pose_indices.size:
            row["pose_frames"], row["pose_shape"] = pack(spill.read(pose_indices))
    if backbone_idx.size:
        frames = np.concatenate([captured[int(i)][0] for i in backbone_idx])
        row["backbone_frames"], row["backbone_shape"] = pack(frames)
    if dual_idx.size:
        frames = np.concatenate([captured[int(i)][1] for i in dual_idx])
        row["dual_frames"], row["dual_shape"] = pack(frames)
    return row


def _at_side(frame: np.ndarray, side: int | None) -> np.ndarray | None:
    """A (1, H, W, 3) frame at shorter side `side` (None: not wanted)."""
    if side is None:
        return None
    return resize_frames(frame, shorter_side_size(frame.shape[1], frame.shape[2], side))
