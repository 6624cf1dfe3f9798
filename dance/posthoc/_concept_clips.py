"""Concept clips for Video-TCAV: crops of boxes in decoded frames, at the backbone's input size.

A video network takes clips, so a concept is shown to it as clips of L frames:

- a **spatial** clip is one object's crop from one frame, repeated L times: the concept
  as a still thing, with no motion in it (`spatial_clip`);
- a **spatiotemporal** clip follows one instance (an object or the person) over L
  consecutive frames: every frame is cropped with the same window, the track's largest
  box (squared by default), centred on that frame's box, so the instance stays centred
  and keeps its scale while it moves (`spatiotemporal_clip`). Detector output has several
  boxes per frame; `link_track` links one instance across frames by box overlap;
- **random** clips, the negatives TCAV tests a concept against, are windows of random
  position and size cut from other classes' videos, seeded (`random_clips`,
  `plan_random_clips`).

Boxes are x0, y0, x1, y1 in the frame's pixels (pixel edges: frame[y0:y1, x0:x1] is the
box); NaN rows mean "no box in this frame". Crops reaching past the frame border are
padded with a constant `fill`, then resized to size x size. Plain numpy and OpenCV.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from dance.errors import InputError

_BOX_HELP = "boxes are x0, y0, x1, y1 corners in the frame's pixels (not x, y, w, h)"


def _check_size(size: int, length: int) -> None:
    """The output clip size and length: positive ints."""
    for name, value in (("size", size), ("length", length)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InputError(
                f"{name} must be a positive int, got {value!r}; size is the backbone's input "
                "side in pixels, length its clip length in frames"
            )


def _as_frames(frames: np.ndarray, ndim: int) -> np.ndarray:
    """Decoded frames as an array of the given rank ((T,) H, W, C)."""
    array = np.asarray(frames)
    if array.ndim != ndim or array.shape[-1] < 1 or min(array.shape) < 1:
        shape = "(T, H, W, C)" if ndim == 4 else "(H, W, C)"
        raise InputError(
            f"frames must be a non-empty {shape} array as decoded, got shape {array.shape}; "
            "add a channel axis to grey frames with frames[..., None]"
        )
    return array


def _check_box(box: np.ndarray, height: int, width: int, where: str) -> None:
    """One finite box: not empty, and overlapping the (height, width) frame."""
    x0, y0, x1, y1 = (float(v) for v in box)
    if not np.isfinite([x0, y0, x1, y1]).all():
        raise InputError(f"{where} is {list(box)}, not a box; {_BOX_HELP}")
    if x1 <= x0 or y1 <= y0:
        raise InputError(
            f"{where} ({x0:g}, {y0:g}, {x1:g}, {y1:g}) is empty (x1 <= x0 or y1 <= y0); {_BOX_HELP}"
        )
    if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
        raise InputError(
            f"{where} ({x0:g}, {y0:g}, {x1:g}, {y1:g}) lies outside the {width}x{height} "
            "frame; boxes must be in the pixels of these frames (scale detector boxes to the "
            "decoded size)"
        )


def _as_boxes(boxes: np.ndarray, count: int) -> np.ndarray:
    """(count, 4) float64 boxes; NaN rows allowed."""
    array = np.asarray(boxes, dtype=np.float64)
    if array.shape != (count, 4):
        raise InputError(
            f"boxes must be ({count}, 4), one per frame, got shape {array.shape}; {_BOX_HELP}, "
            "NaN rows for frames without the instance"
        )
    return array


def _window(box: np.ndarray, width: int, height: int) -> tuple[int, int]:
    """(left, top) of a width x height window centred on the box's centre."""
    cx, cy = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
    return math.floor(cx - width / 2.0 + 0.5), math.floor(cy - height / 2.0 + 0.5)


def _crop(frame: np.ndarray, left: int, top: int, width: int, height: int, fill: float
          ) -> np.ndarray:  # fmt: skip
    """frame[top:top+height, left:left+width], padded with `fill` where it leaves the frame."""
    out = np.full((height, width, frame.shape[2]), fill, dtype=frame.dtype)
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + width, frame.shape[1]), min(top + height, frame.shape[0])
    if x1 > x0 and y1 > y0:
        out[y0 - top : y1 - top, x0 - left : x1 - left] = frame[y0:y1, x0:x1]
    return out


def _resize(crop: np.ndarray, size: int) -> np.ndarray:
    """A crop resized to size x size (area averaging when shrinking, bilinear when growing)."""
    shrink = crop.shape[0] > size or crop.shape[1] > size
    out = cv2.resize(
        crop, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    )
    return out.reshape(size, size, crop.shape[2])


def _window_size(widths: np.ndarray, heights: np.ndarray, square: bool) -> tuple[int, int]:
    """The crop window (width, height): the largest box, its longer side on both with square."""
    width, height = math.ceil(float(widths.max())), math.ceil(float(heights.max()))
    return (max(width, height),) * 2 if square else (width, height)


def spatial_clip(
    frame: np.ndarray, box: np.ndarray, size: int, length: int, *, square: bool = True,
    fill: float = 0,
) -> np.ndarray:  # fmt: skip
    """(length, size, size, C) clip: the box's crop from one (H, W, C) frame, repeated."""
    _check_size(size, length)
    image = _as_frames(frame, 3)
    box_array = np.asarray(box, dtype=np.float64)
    if box_array.shape != (4,):
        raise InputError(f"box must have 4 values, got shape {box_array.shape}; {_BOX_HELP}")
    _check_box(box_array, image.shape[0], image.shape[1], "box")
    width, height = _window_size(
        np.array([box_array[2] - box_array[0]]), np.array([box_array[3] - box_array[1]]), square
    )
    crop = _resize(_crop(image, *_window(box_array, width, height), width, height, fill), size)
    return np.repeat(crop[None], length, axis=0)


def _fill_gaps(boxes: np.ndarray) -> np.ndarray:
    """NaN rows replaced by the nearest frame's box (the earlier one on a tie)."""
    present = np.flatnonzero(~np.isnan(boxes).any(axis=1))
    if present.size == 0:
        raise InputError(
            "the track has no box in any frame of the clip; choose frames where the instance "
            "is seen (start=...) or link it with link_track"
        )
    index = np.searchsorted(present, np.arange(len(boxes)))
    before = present[np.clip(index - 1, 0, present.size - 1)]
    after = present[np.clip(index, 0, present.size - 1)]
    frames = np.arange(len(boxes))
    nearest = np.where(np.abs(frames - before) <= np.abs(after - frames), before, after)
    return boxes[nearest]


def spatiotemporal_clip(
    frames: np.ndarray, boxes: np.ndarray, size: int, length: int, *, start: int = 0,
    square: bool = True, fill: float = 0,
) -> np.ndarray:  # fmt: skip
    """(length, size, size, C) clip of one tracked instance over frames[start:start + length].

    frames: (T, H, W, C); boxes: (T, 4), one per frame, NaN where the instance is missing
    (such a frame takes the nearest frame's box). Every frame is cut with the window of the
    clip's largest box, centred on that frame's box.
    """
    _check_size(size, length)
    video = _as_frames(frames, 4)
    track = _as_boxes(boxes, video.shape[0])
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or start < 0:
        raise InputError(f"start must be a frame index >= 0, got {start!r}")
    if start + length > video.shape[0]:
        raise InputError(
            f"a clip of length={length} from start={start} needs {start + length} frames, the "
            f"video has {video.shape[0]}; pass more frames, an earlier start or a shorter length"
        )
    window = _fill_gaps(track[start : start + length])
    for t, box in enumerate(window):
        _check_box(box, video.shape[1], video.shape[2], f"box of frame {start + t}")
    width, height = _window_size(window[:, 2] - window[:, 0], window[:, 3] - window[:, 1], square)
    crops = [
        _resize(_crop(video[start + t], *_window(box, width, height), width, height, fill), size)
        for t, box in enumerate(window)
    ]
    return np.stack(crops)


def box_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """(N,) intersection over union of one box (4,) with each of others (N, 4)."""
    others = np.asarray(others, dtype=np.float64).reshape(-1, 4)
    box = np.asarray(box, dtype=np.float64)
    iw = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    ih = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    inter = iw * ih
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def link_track(
    boxes_per_frame: Sequence[np.ndarray], min_iou: float = 0.3, *, first: int = 0
) -> np.ndarray:
    """(T, 4) float32 track of one instance through per-frame detections (N_t, 4).

    Starts at box `first` of the first frame with detections; each later frame takes the
    box overlapping the last linked box most, if its IoU reaches min_iou (else a NaN row,
    and the instance may be picked up again later). Feed it to spatiotemporal_clip.
    """
    if not 0.0 < min_iou <= 1.0:
        raise InputError(f"min_iou must be in (0, 1], got {min_iou}; 0.3 is a common choice")
    frames = [np.asarray(b, dtype=np.float64).reshape(-1, 4) for b in boxes_per_frame]
    if not frames:
        raise InputError("boxes_per_frame is empty; pass one (N_t, 4) array per frame")
    track = np.full((len(frames), 4), np.nan, dtype=np.float32)
    seeded = [t for t, b in enumerate(frames) if len(b)]
    if not seeded:
        raise InputError("no frame has a box; run the detector on these frames first")
    t0 = seeded[0]
    if not 0 <= first < len(frames[t0]):
        raise InputError(
            f"first={first} is not a box of frame {t0}, which has {len(frames[t0])}; "
            "choose the index of the instance to follow"
        )
    last = frames[t0][first]
    track[t0] = last
    for t in range(t0 + 1, len(frames)):
        if not len(frames[t]):
            continue
        overlaps = box_iou(last, frames[t])
        best = int(np.argmax(overlaps))
        if overlaps[best] >= min_iou:
            last = frames[t][best]
            track[t] = last
    return track


@dataclass(frozen=True)
class RandomClip:
    """Where one random clip is cut: a video, its first frame, a window box, spatial or not."""

    video: int  # index into the videos (and labels) given
    start: int
    box: tuple[float, float, float, float]  # x0, y0, x1, y1: a square window in the frame
    kind: str  # "spatial" or "spatiotemporal"


def plan_random_clips(
    shapes: Sequence[tuple[int, int, int]], labels: Sequence[Hashable],
    exclude: Hashable | Collection[Hashable], count: int, length: int, seed: int, *,
    kind: str = "spatiotemporal", scale: tuple[float, float] = (0.3, 1.0),
) -> list[RandomClip]:  # fmt: skip
    """`count` seeded random clips from videos whose label is not in `exclude`.

    shapes: (T, H, W) of each video; a clip picks a video long enough for `length` frames,
    a start frame and a square window whose side is `scale` times the shorter frame side.
    """
    if kind not in ("spatial", "spatiotemporal"):
        raise InputError(f"kind must be 'spatial' or 'spatiotemporal', got {kind!r}")
    if len(shapes) != len(labels):
        raise InputError(f"{len(shapes)} videos but {len(labels)} labels; give one label each")
    if not 0.0 < scale[0] <= scale[1] <= 1.0:
        raise InputError(f"scale must be (low, high) with 0 < low <= high <= 1, got {scale}")
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise InputError(f"count must be a positive int, got {count!r}")
    _check_size(1, length)
    excluded = (
        set(exclude)
        if isinstance(exclude, Collection) and not isinstance(exclude, str)
        else {exclude}
    )
    need = 1 if kind == "spatial" else length
    pool = [
        i for i, (label, shape) in enumerate(zip(labels, shapes, strict=True))
        if label not in excluded and shape[0] >= need
    ]  # fmt: skip
    if not pool:
        raise InputError(
            f"no video outside the classes {sorted(map(str, excluded))} has {need} frames or "
            "more; random clips come from other classes' videos: pass videos of other classes "
            "or a shorter length"
        )
    rng = np.random.default_rng(seed)
    clips = []
    for _ in range(count):
        video = pool[int(rng.integers(len(pool)))]
        frames, height, width = shapes[video][:3]
        start = int(rng.integers(frames - need + 1))
        side = max(1, round(float(rng.uniform(*scale)) * min(height, width)))
        left, top = int(rng.integers(width - side + 1)), int(rng.integers(height - side + 1))
        box = (float(left), float(top), float(left + side), float(top + side))
        clips.append(RandomClip(video, start, box, kind))
    return clips


def random_clips(
    videos: Sequence[np.ndarray], labels: Sequence[Hashable],
    exclude: Hashable | Collection[Hashable], count: int, size: int, length: int, seed: int,
    *, kind: str = "spatiotemporal", scale: tuple[float, float] = (0.3, 1.0),
) -> np.ndarray:  # fmt: skip
    """(count, length, size, size, C) seeded random clips from other classes' (T, H, W, C) videos."""
    _check_size(size, length)
    arrays = [_as_frames(v, 4) for v in videos]
    shapes = [a.shape[:3] for a in arrays]
    plans = plan_random_clips(shapes, labels, exclude, count, length, seed, kind=kind, scale=scale)
    return np.stack([cut_random_clip(arrays[p.video], p, size, length) for p in plans])


def cut_random_clip(frames: np.ndarray, plan: RandomClip, size: int, length: int) -> np.ndarray:
    """(length, size, size, C): the clip `plan` describes, cut from that video's frames."""
    box = np.asarray(plan.box, dtype=np.float64)
    if plan.kind == "spatial":
        return spatial_clip(_as_frames(frames, 4)[plan.start], box, size, length)
    boxes = np.repeat(box[None], len(frames), axis=0)
    return spatiotemporal_clip(frames, boxes, size, length, start=plan.start)
