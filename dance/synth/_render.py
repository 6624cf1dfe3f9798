"""Render one video: motion + person + object + scene + nuisance -> frames and ground truth."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import numpy as np

from dance.synth._classes import SynthClass, class_program
from dance.synth._nuisance import (
    NoiseBank,
    apply_gain,
    camera_path,
    draw_distractors,
    sample_distractors,
)
from dance.synth._objects import (
    LAYER_BEHIND,
    LAYER_HAND,
    LAYER_TORSO,
    draw_object,
    object_layer,
    sample_object,
)
from dance.synth._person import draw_person, sample_person_style
from dance.synth._scenes import render_scene
from dance.synth._skeleton_motion import (
    KEY_POSES,
    forward_kinematics,
    motion_keypoints,
    sample_body_shape,
    sample_motion_jitter,
)

# Independent random streams of one video: the shifted re-render changes only CONTEXT.
STREAM_MOTION, STREAM_BODY, STREAM_PLACE, STREAM_CONTEXT, STREAM_NUISANCE = range(5)
STREAM_CAPTIONS = 5  # captions only: drawing them leaves the frames unchanged


@dataclass(frozen=True)
class RenderSpec:
    """Everything needed to render one video, independent of process and output folder."""

    video_id: str
    cls: SynthClass
    context: SynthClass  # the class whose object/scene distribution is used (shifted: another)
    index: int
    shifted: bool
    seed: int
    num_frames: int
    height: int
    width: int
    person_height: tuple[float, float]
    camera_jitter_px: int
    noise_std: float
    max_distractors: int


@dataclass(frozen=True)
class VideoTruth:
    """Ground truth of one rendered video."""

    keypoints: np.ndarray  # (T, 17, 3) float32: x, y (pixels), visible (1 inside the frame)
    primitives: list[str]
    object: str
    scene: str
    person_boxes: np.ndarray  # (T, 4) float32 x0, y0, x1, y1 of the drawn person (drawn_boxes)
    object_boxes: np.ndarray  # (T, 4) float32 of the drawn object; NaN rows: none in the frame


def video_rng(
    seed: int, cls: SynthClass, index: int, stream: int, *extra: int
) -> np.random.Generator:
    """The random stream of one video part, from (seed, class, index, stream) only."""
    key = (cls.catalogue_index, index, stream, *extra)
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=key))


def _choice(dist: dict[str, float], rng: np.random.Generator) -> str:
    """Draw a name from a {name: probability} distribution (sorted for stability)."""
    names = sorted(dist)
    p = np.array([dist[n] for n in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def drawn_boxes(
    draw: Callable[[np.ndarray, int], None],
    canvas_shape: tuple[int, int],
    offsets: np.ndarray,
    height: int,
    width: int,
) -> np.ndarray:
    """(T, 4) float32 x0, y0, x1, y1 of what draw(canvas, t) puts on a blank canvas, per frame.

    Frame t is the canvas window at offsets[t] (row, col) of height x width, as the renderer
    crops it. Pixel-edge corners: frame[y0:y1, x0:x1] holds every drawn pixel of the frame
    (amodal: parts the person covers count). NaN rows: nothing drawn lands in the frame.
    """
    boxes = np.full((len(offsets), 4), np.nan, dtype=np.float32)
    canvas = np.zeros((*canvas_shape, 3), dtype=np.uint8)
    for t, (oy, ox) in enumerate(offsets.astype(int)):
        canvas[:] = 0
        draw(canvas, t)
        frame = canvas[oy : oy + height, ox : ox + width]
        # Maxima over contiguous axes: numpy's any() over the channel axis is 15x slower.
        rows = np.flatnonzero(frame.reshape(height, -1).max(axis=1))
        cols = np.flatnonzero(frame.max(axis=0).max(axis=1))
        if rows.size:
            boxes[t] = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    return boxes


def render_video(spec: RenderSpec) -> tuple[Iterator[np.ndarray], VideoTruth]:
    """Ground truth plus a lazy iterator of RGB frames (rendered one at a time)."""
    cls, T, H, W = spec.cls, spec.num_frames, spec.height, spec.width
    jitter = sample_motion_jitter(video_rng(spec.seed, cls, spec.index, STREAM_MOTION))
    body_rng = video_rng(spec.seed, cls, spec.index, STREAM_BODY)
    body = sample_body_shape(body_rng)
    style = sample_person_style(body_rng)
    units, primitives = motion_keypoints(class_program(cls), T, jitter, body)

    place = video_rng(spec.seed, cls, spec.index, STREAM_PLACE)
    scale = H * float(place.uniform(*spec.person_height))  # pixels per body unit
    m = spec.camera_jitter_px
    anchor_x = W * float(place.uniform(0.4, 0.6)) + m
    ground_y = H * float(place.uniform(0.86, 0.9)) + m
    canvas_kp = units * scale + np.array([anchor_x, ground_y])
    seated = forward_kinematics(KEY_POSES["sit"][None, :], body)[0]
    seat_y = ground_y + float(seated[11:13, 1].mean()) * scale

    ctx_extra = (1,) if spec.shifted else ()
    ctx = video_rng(spec.seed, cls, spec.index, STREAM_CONTEXT, *ctx_extra)
    object_name = _choice(spec.context.objects, ctx)
    scene_name = _choice(spec.context.scenes, ctx)
    obj = sample_object(object_name, spec.context.hold, jitter.mirror, ctx)
    background = render_scene(scene_name, H + 2 * m, W + 2 * m, ctx)

    nuis = video_rng(spec.seed, cls, spec.index, STREAM_NUISANCE)
    background = apply_gain(background, float(nuis.uniform(0.88, 1.1)))
    offsets = camera_path(T, m, nuis)
    shapes = sample_distractors(spec.max_distractors, H + 2 * m, W + 2 * m, nuis)
    noise_seed = int(nuis.integers(0, 2**63 - 1))

    kp = np.zeros((T, 17, 3), dtype=np.float32)
    kp[:, :, :2] = canvas_kp - offsets[:, None, ::-1].astype(np.float64)
    inside = (kp[:, :, 0] >= 0) & (kp[:, :, 0] < W) & (kp[:, :, 1] >= 0) & (kp[:, :, 1] < H)
    kp[:, :, 2] = inside.astype(np.float32)

    lift_scale = max(1e-6, float(ground_y - canvas_kp[:, 15:17, 1].max(axis=1).min()))

    def rope_phase(t: int) -> float:
        """The motion's progress at frame t: the rope passes under the feet at the jump's top."""
        airborne = float(ground_y - canvas_kp[t, 15:17, 1].max()) / lift_scale
        return np.pi * float(np.clip(airborne, 0.0, 1.0))

    def draw_layer(layer: str, img: np.ndarray, pts: np.ndarray, phase: float) -> None:
        draw_object(img, layer, obj, pts, scale, ground_y, anchor_x, seat_y, phase)

    # Boxes from what is drawn: each part alone on a blank canvas, cropped like the frame.
    canvas_shape = (H + 2 * m, W + 2 * m)
    person_boxes = drawn_boxes(
        lambda img, t: draw_person(img, canvas_kp[t], scale, style), canvas_shape, offsets, H, W
    )
    object_boxes = drawn_boxes(
        lambda img, t: draw_layer(object_layer(obj), img, canvas_kp[t], rope_phase(t)),
        canvas_shape,
        offsets,
        H,
        W,
    )
    truth = VideoTruth(
        keypoints=kp,
        primitives=primitives,
        object=object_name,
        scene=scene_name,
        person_boxes=person_boxes,
        object_boxes=object_boxes,
    )

    def frames() -> Iterator[np.ndarray]:
        noise = NoiseBank(H, W, spec.noise_std, np.random.default_rng(noise_seed))
        for t in range(T):
            img = background.copy()
            draw_distractors(img, shapes, t)
            pts = canvas_kp[t]
            phase = rope_phase(t)
            draw_layer(LAYER_BEHIND, img, pts, phase)
            draw_person(
                img,
                pts,
                scale,
                style,
                before_arms=partial(draw_layer, LAYER_TORSO, pts=pts, phase=phase),
                before_hands=partial(draw_layer, LAYER_HAND, pts=pts, phase=phase),
            )
            oy, ox = int(offsets[t, 0]), int(offsets[t, 1])
            yield noise.apply(img[oy : oy + H, ox : ox + W])

    return frames(), truth
