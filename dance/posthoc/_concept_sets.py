"""One video's concept clips for Video-TCAV: person, object and scene, from its boxes.

A video gives one window of L consecutive frames (a seeded start, preferring windows where
its person and object are seen most; a shorter video is spread over L frames), and from it:

- group **person**: `person_moving`, a spatiotemporal clip following the person track, and
  `person_still`, the person's crop from one seeded frame, repeated;
- group **object**: per object name, its crop from one seeded frame (kind spatial);
- group **object_moving**: `<name>_moving`, a spatiotemporal clip of the object, where it
  is seen in half the window. A group of its own: relative CAVs separate a group's
  concepts, and a still and a moving crop of one object in one group would give a CAV
  of stillness rather than of the object;
- group **scene** (ground truth only, where the scene is named): a spatial clip of the
  largest square of background, on the still frame, that no person or object box touches.

Planning (`plan_concept_cuts`: which concept, which frame, which box) needs only boxes and
the frame size, so a job can choose and cap concepts before decoding pixels; cutting
(`cut_concept_clip`) then runs on the window's frames. Concept names come from data
(ground truth, a detector's labels): they are values, never file names. Plain numpy.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from dance.errors import InputError
from dance.posthoc._concept_clips import link_track, spatial_clip, spatiotemporal_clip
from dance.posthoc._detector import Detections

PERSON, OBJECT, OBJECT_MOVING, SCENE = "person", "object", "object_moving", "scene"
GROUPS = (PERSON, OBJECT, OBJECT_MOVING, SCENE)
PERSON_MOVING, PERSON_STILL = "person_moving", "person_still"
MOVING_SUFFIX = "_moving"
PERSON_LABEL = "person"  # the detector label of people (COCO)
MIN_SCENE_FRACTION = 0.2  # a scene window's side: at least this share of the shorter frame side


def stable_seed(seed: int, *parts: str) -> int:
    """A seed for one named thing (a video, a concept) that is the same on every machine."""
    text = "\0".join([str(seed), *parts]).encode("utf-8")
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "little")


@dataclass(frozen=True)
class VideoBoxes:
    """One video's boxes over its frames: the person track and each named object's, (T, 4) each.

    x0, y0, x1, y1 in frame pixels, NaN rows where the instance is not seen. `scene` names
    the background (ground truth), or None.
    """

    person: np.ndarray | None
    objects: Mapping[str, np.ndarray] = field(default_factory=dict)
    scene: str | None = None

    def take(self, indices: np.ndarray) -> VideoBoxes:
        """These boxes at the given frame indices (a clip window)."""
        person = None if self.person is None else np.asarray(self.person)[indices]
        objects = {name: np.asarray(track)[indices] for name, track in self.objects.items()}
        return VideoBoxes(person, objects, self.scene)

    def present(self) -> np.ndarray:
        """(T,) how many instances (person, objects) each frame shows."""
        tracks = [t for t in [self.person, *self.objects.values()] if t is not None]
        if not tracks:
            return np.zeros(0, dtype=np.int64)
        return np.sum([_seen(np.asarray(t)) for t in tracks], axis=0).astype(np.int64)


@dataclass(frozen=True)
class ConceptCut:
    """How to cut one concept clip from a window: a frame and a box, or a whole track."""

    group: str
    concept: str
    kind: str  # "spatial" or "spatiotemporal"
    frame: int | None  # spatial: the window frame cropped
    boxes: np.ndarray  # spatial: (4,); spatiotemporal: (L, 4), NaN rows filled when cut


@dataclass(frozen=True)
class ConceptClip:
    """One concept clip: its group, concept name, kind and (L, S, S, 3) uint8 frames."""

    group: str
    concept: str
    kind: str
    clip: np.ndarray


def _seen(track: np.ndarray) -> np.ndarray:
    """(T,) True where a (T, 4) track has a finite box."""
    return np.isfinite(track).all(axis=1)


def clip_window(
    num_frames: int, length: int, seed: int, present: np.ndarray | None = None
) -> np.ndarray:
    """(length,) frame indices of a clip: consecutive from a seeded start, or spread if short.

    `present` (num_frames,) counts what each frame shows: only starts whose window shows
    the most are drawn from.
    """
    if num_frames < 1 or length < 1:
        raise InputError(f"a clip window needs frames and a length, got {num_frames}, {length}")
    if num_frames < length:  # segment middles: a short video repeats frames
        return ((2 * np.arange(length) + 1) * num_frames // (2 * length)).astype(np.int64)
    starts = np.arange(num_frames - length + 1)
    if present is not None and len(present) == num_frames:
        sums = np.convolve(np.asarray(present, dtype=np.float64), np.ones(length), "valid")
        starts = starts[sums >= sums.max()]
    start = int(starts[np.random.default_rng(seed).integers(len(starts))])
    return np.arange(start, start + length, dtype=np.int64)


def _clipped(track: np.ndarray, height: int, width: int) -> np.ndarray:
    """A (T, 4) track clipped to the frame; boxes left empty become NaN rows."""
    boxes = np.clip(np.asarray(track, dtype=np.float64), 0, [width, height, width, height])
    empty = ~((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1]))
    boxes[empty] = np.nan
    return boxes


def largest_free_square(
    obstacles: np.ndarray, height: int, width: int
) -> tuple[float, float, float, float] | None:
    """The largest square of the frame touching no obstacle box (N, 4), or None if there is none.

    The largest empty rectangle has its edges on the frame's or the obstacles' edges; the
    square is centred in the best such rectangle (ties: the larger rectangle, then the first).
    """
    boxes = np.asarray(obstacles, dtype=np.float64).reshape(-1, 4)
    boxes = boxes[np.isfinite(boxes).all(axis=1)]
    xs = sorted({0.0, float(width), *np.clip(boxes[:, [0, 2]], 0, width).ravel().tolist()})
    ys = sorted({0.0, float(height), *np.clip(boxes[:, [1, 3]], 0, height).ravel().tolist()})
    best: tuple[float, float, tuple[float, float, float, float]] | None = None
    for (xa, xb), (ya, yb) in itertools.product(
        itertools.combinations(xs, 2), itertools.combinations(ys, 2)
    ):
        overlap = (
            (np.minimum(xb, boxes[:, 2]) > np.maximum(xa, boxes[:, 0]))
            & (np.minimum(yb, boxes[:, 3]) > np.maximum(ya, boxes[:, 1]))
        )
        if overlap.any():
            continue
        side, area = min(xb - xa, yb - ya), (xb - xa) * (yb - ya)
        if best is None or (side, area) > best[:2]:
            best = (side, area, (xa, ya, xb, yb))
    if best is None or best[0] < 1:
        return None
    side, _, (xa, ya, xb, yb) = best
    side = float(np.floor(side))
    left, top = np.floor((xa + xb - side) / 2), np.floor((ya + yb - side) / 2)
    return float(left), float(top), float(left + side), float(top + side)


def _pick(rng: np.random.Generator, frames: np.ndarray) -> int:
    """One frame index of `frames`, seeded."""
    return int(frames[rng.integers(len(frames))])


def plan_concept_cuts(
    boxes: VideoBoxes, frame_size: tuple[int, int], seed: int
) -> list[ConceptCut]:
    """The concept clips one window's boxes allow (see the module docstring), in a fixed order.

    `boxes` hold the window's L frames; `frame_size` is (height, width) in pixels.
    """
    height, width = frame_size
    rng = np.random.default_rng(seed)
    cuts: list[ConceptCut] = []
    person = None if boxes.person is None else _clipped(boxes.person, height, width)
    still: int | None = None
    if person is not None and _seen(person).any():
        seen = np.flatnonzero(_seen(person))
        still = _pick(rng, seen)
        cuts.append(ConceptCut(PERSON, PERSON_MOVING, "spatiotemporal", None, person))
        cuts.append(ConceptCut(PERSON, PERSON_STILL, "spatial", still, person[still]))
    objects = {name: _clipped(t, height, width) for name, t in sorted(boxes.objects.items())}
    for name, track in objects.items():
        seen = np.flatnonzero(_seen(track))
        if not seen.size:
            continue
        frame = _pick(rng, seen)
        cuts.append(ConceptCut(OBJECT, name, "spatial", frame, track[frame]))
        if 2 * seen.size >= len(track):
            cuts.append(ConceptCut(OBJECT_MOVING, name + MOVING_SUFFIX, "spatiotemporal", None,
                                  track))
    tracks = [t for t in [person, *objects.values()] if t is not None]
    if boxes.scene and tracks:
        frame = still if still is not None else len(tracks[0]) // 2
        obstacles = [t[frame] for t in tracks]
        square = largest_free_square(np.array(obstacles).reshape(-1, 4), height, width)
        if square is not None and square[2] - square[0] >= MIN_SCENE_FRACTION * min(height, width):
            cuts.append(ConceptCut(SCENE, boxes.scene, "spatial", frame, np.array(square)))
    return cuts


def cut_concept_clip(frames: np.ndarray, cut: ConceptCut, size: int, length: int) -> np.ndarray:
    """(length, size, size, 3) uint8: the clip `cut` describes, from the window's frames."""
    if cut.kind == "spatial":
        if cut.frame is None:
            raise ValueError(f"the spatial cut of {cut.concept!r} names no frame")
        return spatial_clip(frames[cut.frame], cut.boxes, size, length)
    return spatiotemporal_clip(frames, cut.boxes, size, length, start=0)


def video_concept_clips(
    frames: np.ndarray, boxes: VideoBoxes, size: int, length: int, seed: int
) -> list[ConceptClip]:
    """Every concept clip of one video: (T, H, W, 3) frames and their (T, 4) boxes, seeded."""
    video = np.asarray(frames)
    if video.ndim != 4:
        raise InputError(f"frames must be (T, H, W, 3) as decoded, got shape {video.shape}")
    window = clip_window(len(video), length, seed, boxes.present())
    chosen = boxes.take(window)
    cuts = plan_concept_cuts(chosen, video.shape[1:3], seed)
    return [
        ConceptClip(c.group, c.concept, c.kind, cut_concept_clip(video[window], c, size, length))
        for c in cuts
    ]


def _track(per_frame: Sequence[tuple[np.ndarray, np.ndarray]], min_iou: float) -> np.ndarray:
    """One instance's (T, 4) track: the best-scoring box of its first frame, linked on."""
    first = next(i for i, (b, _) in enumerate(per_frame) if len(b))
    return link_track([b for b, _ in per_frame], min_iou,
                      first=int(np.argmax(per_frame[first][1])))  # fmt: skip


def boxes_from_detections(
    detections: Sequence[Detections], min_iou: float = 0.3, person_label: str = PERSON_LABEL
) -> VideoBoxes:
    """A window's VideoBoxes from per-frame detections: the person and one track per label."""
    labels = sorted({label for d in detections for label in d.labels})
    tracks: dict[str, np.ndarray] = {}
    for label in labels:
        tracks[label] = _track([d.of_label(label) for d in detections], min_iou)
    person = tracks.pop(person_label, None)
    return VideoBoxes(person, tracks, None)
