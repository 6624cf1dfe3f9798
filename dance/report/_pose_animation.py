"""A COCO-17 pose sequence drawn as frames, an animated GIF or a strip of key frames.

Input is (L, 17, 3) of (x, y, score) in image pixels, or (L, 17, 2) of (x, y) with every
joint visible, e.g. a motion concept centroid (L*17*2 values: `centroid.reshape(-1, 17, 2)`).
Centroids live in the space of `dance.pose.normalize` (by default "minmax": each frame's x
and y scaled separately into [0, 1]; "torso" and "box" centre on 0), not in pixels, so any
coordinates are fitted into the canvas: one scale and offset for the whole sequence (so the
figure moves instead of being re-centred each frame), aspect kept, a margin of 8% of the
shorter side, y growing downwards as in images. A joint is visible when its score is at
least `min_score` and its coordinates are finite; hidden joints and the edges touching them
are not drawn, and a sequence with no visible joint gives blank frames.

Left limbs (the person's left) are orange, right limbs blue, the centre line grey.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from dance import storage
from dance.errors import InputError
from dance.pose.skeleton import COCO17_EDGES, COCO17_JOINTS, NUM_COCO17_JOINTS

RGB = tuple[int, int, int]

BACKGROUND_COLOUR: RGB = (248, 248, 246)
LEFT_COLOUR: RGB = (230, 120, 20)
RIGHT_COLOUR: RGB = (30, 100, 220)
CENTRE_COLOUR: RGB = (140, 140, 140)
JOINT_COLOUR: RGB = (50, 50, 50)
SIDE_COLOURS: dict[str, RGB] = {"left": LEFT_COLOUR, "right": RIGHT_COLOUR, "centre": CENTRE_COLOUR}

DEFAULT_SIZE = (160, 160)
DEFAULT_FPS = 10.0
DEFAULT_MIN_SCORE = 0.3
MARGIN_FRACTION = 0.08  # of the shorter canvas side, so dots at the extremes stay inside

# Bump when the drawing changes, so cached GIFs of the old drawing are not reused.
_RENDER_VERSION = 1


def _joint_side(joint: int) -> str:
    """'left', 'right' or 'centre' from the joint's COCO-17 name."""
    name = COCO17_JOINTS[joint]
    return name.split("_", 1)[0] if name.startswith(("left_", "right_")) else "centre"


def _edge_side(start: int, end: int) -> str:
    """An edge is left or right only when both its joints are; otherwise it is centre."""
    sides = {_joint_side(start), _joint_side(end)}
    return sides.pop() if len(sides) == 1 else "centre"


# The COCO-17 skeleton of dance.pose, each edge tagged with its side: ((start, end), side).
SKELETON_EDGES: tuple[tuple[tuple[int, int], str], ...] = tuple(
    ((start, end), _edge_side(start, end)) for start, end in COCO17_EDGES
)


def _check_pose(pose: np.ndarray) -> np.ndarray:
    """The pose as float64 (L, 17, 3); (L, 17, 2) gets score 1 everywhere. InputError if not."""
    array = np.asarray(pose)
    expected = f"(L, {NUM_COCO17_JOINTS}, 3) of (x, y, score) or (L, {NUM_COCO17_JOINTS}, 2)"
    shape_ok = array.ndim == 3 and array.shape[1] == NUM_COCO17_JOINTS and array.shape[2] in (2, 3)
    if not shape_ok or array.shape[0] < 1:
        hint = ""
        if array.ndim == 1 and array.size % (NUM_COCO17_JOINTS * 2) == 0 and array.size:
            hint = "; a flat motion centroid reshapes with .reshape(-1, 17, 2)"
        raise InputError(
            f"pose has shape {array.shape}; expected {expected} COCO-17 joints, L >= 1{hint}"
        )
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise InputError(f"pose must hold numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if array.shape[2] == 2:
        array = np.concatenate([array, np.ones(array.shape[:2] + (1,))], axis=2)
    return array


def _check_size(size: Sequence[int]) -> tuple[int, int]:
    """(width, height) as two positive ints; InputError otherwise."""
    values = tuple(size)
    if len(values) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in values):
        raise InputError(f"size must be (width, height) in positive pixels, got {size!r}")
    return int(values[0]), int(values[1])


def _canvas_points(
    pose: np.ndarray, size: tuple[int, int], min_score: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel positions (L, 17, 2) under one whole-sequence fit, and the visible mask (L, 17)."""
    with np.errstate(invalid="ignore"):
        visible = np.isfinite(pose).all(axis=2) & (pose[:, :, 2] >= min_score)
    width, height = size
    points = np.zeros(pose.shape[:2] + (2,))
    if not visible.any():
        return points, visible
    xy = pose[:, :, :2][visible]
    low, high = xy.min(axis=0), xy.max(axis=0)
    span = high - low
    margin = MARGIN_FRACTION * min(width, height)
    room = np.array([max(width - 2 * margin, 1.0), max(height - 2 * margin, 1.0)])
    # A zero span (a single point, or a flat line) would divide by zero; it needs no scale.
    ratios = [room[axis] / span[axis] for axis in (0, 1) if span[axis] > 0]
    scale = min(ratios) if ratios else 1.0
    centre = (low + high) / 2.0
    canvas_centre = np.array([width / 2.0, height / 2.0])
    points[visible] = (xy - centre) * scale + canvas_centre
    return points, visible


def _line_width(size: tuple[int, int]) -> int:
    """Limb thickness in pixels, growing with the canvas so large renders stay legible."""
    return max(2, round(min(size) / 50))


def _draw_frame(
    points: np.ndarray, visible: np.ndarray, size: tuple[int, int]
) -> Image.Image:
    """One RGB frame: limbs by side, then joint dots on top."""
    image = Image.new("RGB", size, BACKGROUND_COLOUR)
    draw = ImageDraw.Draw(image)
    width = _line_width(size)
    # Centre first, so the coloured limbs stay on top where they cross it.
    for wanted in ("centre", "left", "right"):
        for (start, end), side in SKELETON_EDGES:
            if side == wanted and visible[start] and visible[end]:
                line = [tuple(map(float, points[start])), tuple(map(float, points[end]))]
                draw.line(line, fill=SIDE_COLOURS[side], width=width)
    radius = width * 0.8
    for joint in np.flatnonzero(visible):
        x, y = (float(value) for value in points[joint])
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=JOINT_COLOUR)
    return image


def _frames(
    pose: np.ndarray, size: Sequence[int], min_score: float, indices: Sequence[int] | None = None
) -> list[Image.Image]:
    """The chosen frames (all when `indices` is None) as PIL images, fitted on the whole pose."""
    checked = _check_pose(pose)
    canvas = _check_size(size)
    points, visible = _canvas_points(checked, canvas, min_score)
    chosen = range(len(checked)) if indices is None else indices
    return [_draw_frame(points[t], visible[t], canvas) for t in chosen]


def render_pose_frames(
    pose: np.ndarray, size: Sequence[int] = DEFAULT_SIZE, min_score: float = DEFAULT_MIN_SCORE
) -> np.ndarray:
    """The pose drawn frame by frame: (L, height, width, 3) uint8 for size (width, height)."""
    return np.stack([np.asarray(frame) for frame in _frames(pose, size, min_score)])


def _palette_image() -> Image.Image:
    """A "P" image holding exactly the drawing colours, so GIF frames keep them unchanged."""
    colours = [BACKGROUND_COLOUR, LEFT_COLOUR, RIGHT_COLOUR, CENTRE_COLOUR, JOINT_COLOUR]
    flat = [channel for colour in colours for channel in colour]
    palette = Image.new("P", (1, 1))
    palette.putpalette(flat + list(BACKGROUND_COLOUR) * (256 - len(colours)))
    return palette


def pose_animation_gif(
    pose: np.ndarray,
    size: Sequence[int] = DEFAULT_SIZE,
    fps: float = DEFAULT_FPS,
    min_score: float = DEFAULT_MIN_SCORE,
) -> bytes:
    """The pose as an animated GIF looping forever at `fps`, one frame per pose frame.

    Pillow stores a run of identical consecutive frames as one frame shown for the run's
    total time, so a still pose gives fewer GIF frames but the same playback time.
    """
    if not (np.isfinite(fps) and fps > 0):
        raise InputError(f"fps must be a positive number, got {fps!r}")
    palette = _palette_image()
    frames = [
        frame.quantize(palette=palette, dither=Image.Dither.NONE)
        for frame in _frames(pose, size, min_score)
    ]
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=max(1, round(1000.0 / fps)),
        loop=0,  # 0 = forever
        optimize=False,
    )
    return buffer.getvalue()


def keyframe_strip(
    pose: np.ndarray,
    count: int = 4,
    size: Sequence[int] = DEFAULT_SIZE,
    min_score: float = DEFAULT_MIN_SCORE,
) -> np.ndarray:
    """`count` evenly spaced frames (first and last included) side by side: (H, n * W, 3)."""
    if not isinstance(count, (int, np.integer)) or count < 1:
        raise InputError(f"count must be a positive integer, got {count!r}")
    length = len(_check_pose(pose))
    # More panels than frames would only repeat frames.
    indices = np.linspace(0, length - 1, min(int(count), length)).round().astype(int)
    frames = _frames(pose, size, min_score, indices=indices.tolist())
    return np.concatenate([np.asarray(frame) for frame in frames], axis=1)


def png_bytes(image: np.ndarray) -> bytes:
    """A (H, W, 3) or (H, W) uint8 image encoded as PNG."""
    array = np.asarray(image)
    shape_ok = array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)
    if array.dtype != np.uint8 or not shape_ok:
        raise InputError(
            f"image must be (H, W, 3) or (H, W) uint8, got {array.dtype} {array.shape}"
        )
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _cache_key(pose: np.ndarray, size: tuple[int, int], fps: float, min_score: float) -> str:
    """sha256 over the pose's shape and float64 bytes, the drawing parameters and version."""
    digest = hashlib.sha256()
    digest.update(f"v{_RENDER_VERSION};{pose.shape};{size};{fps!r};{min_score!r};".encode())
    digest.update(np.ascontiguousarray(pose, dtype=np.float64).tobytes())
    return digest.hexdigest()


def cached_pose_animation(
    cache_dir: str,
    pose: np.ndarray,
    size: Sequence[int] = DEFAULT_SIZE,
    fps: float = DEFAULT_FPS,
    min_score: float = DEFAULT_MIN_SCORE,
) -> str:
    """Path of `<cache_dir>/<sha256>.gif` for this pose and parameters, rendered only if missing."""
    checked, canvas = _check_pose(pose), _check_size(size)
    key = _cache_key(checked, canvas, float(fps), float(min_score))
    path = os.path.join(cache_dir, f"{key}.gif")
    if os.path.exists(path):
        return path
    # atomic: readers never see a half-written GIF, and two writers racing both write the
    # same bytes
    storage.write_bytes(path, pose_animation_gif(checked, canvas, fps, min_score))
    return path
