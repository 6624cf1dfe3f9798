"""A pose sequence renders as frames, a looping GIF and a key-frame strip, cached by content."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dance.errors import InputError
from dance.report import (
    SKELETON_EDGES,
    cached_pose_animation,
    keyframe_strip,
    png_bytes,
    pose_animation_gif,
    render_pose_frames,
)

LEFT_COLOUR = (230, 120, 20)  # the person's left limbs
RIGHT_COLOUR = (30, 100, 220)
BACKGROUND_COLOUR = (248, 248, 246)
MARGIN_FRACTION = 0.08  # of the shorter canvas side, as documented
LEFT_ELBOW, RIGHT_ELBOW, LEFT_WRIST, RIGHT_WRIST = 7, 8, 9, 10
FRAMES = 8

# A standing person facing the camera, so their left side lies on the image's right (+x).
_STANDING = {
    0: (0, -80), 1: (5, -85), 2: (-5, -85), 3: (10, -82), 4: (-10, -82),
    5: (25, -60), 6: (-25, -60), 7: (45, -40), 8: (-45, -40),
    11: (15, 0), 12: (-15, 0), 13: (15, 40), 14: (-15, 40), 15: (15, 80), 16: (-15, 80),
}


def _waving_person(frames: int = FRAMES) -> np.ndarray:
    """(frames, 17, 3) in image pixels: both forearms swing from down-out to up-out."""
    pose = np.zeros((frames, 17, 3))
    for joint, (x, y) in _STANDING.items():
        pose[:, joint, :2] = (320 + x, 240 + y)
    angles = np.radians(np.linspace(-60, 60, frames))
    for t, angle in enumerate(angles):
        reach = 30 * np.array([np.cos(angle), -np.sin(angle)])
        pose[t, LEFT_WRIST, :2] = pose[t, LEFT_ELBOW, :2] + reach
        pose[t, RIGHT_WRIST, :2] = pose[t, RIGHT_ELBOW, :2] + reach * (-1, 1)
    pose[:, :, 2] = 0.9
    return pose


def _canvas_point(
    pose: np.ndarray, point: np.ndarray, size: tuple[int, int], min_score: float = 0.3
) -> tuple[int, int]:
    """Where `point` lands: the visible joints' box over all frames, fitted into canvas - margin."""
    visible = pose[:, :, 2] >= min_score
    xy = pose[:, :, :2][visible]
    low, high = xy.min(axis=0), xy.max(axis=0)
    width, height = size
    margin = MARGIN_FRACTION * min(width, height)
    room = np.array([width - 2 * margin, height - 2 * margin])
    scale = (room / (high - low)).min()
    x, y = np.rint((point - (low + high) / 2) * scale + (width / 2, height / 2)).astype(int)
    return int(x), int(y)


def _colour_at_midpoint(
    frames: np.ndarray, pose: np.ndarray, t: int, start: int, end: int, size: tuple[int, int]
) -> tuple[int, ...]:
    """The RGB colour of frame t at the midpoint of the limb start -> end."""
    midpoint = (pose[t, start, :2] + pose[t, end, :2]) / 2
    x, y = _canvas_point(pose, midpoint, size)
    return tuple(int(c) for c in frames[t, y, x])


def test_one_frame_per_pose_frame_at_the_requested_width_and_height() -> None:
    frames = render_pose_frames(_waving_person(), size=(200, 120))
    assert frames.shape == (FRAMES, 120, 200, 3)
    assert frames.dtype == np.uint8


def test_the_left_forearm_is_drawn_in_the_left_colour_and_the_right_in_the_right() -> None:
    pose, size = _waving_person(), (160, 160)
    frames = render_pose_frames(pose, size=size)
    for t in (0, 3, 7):
        left = _colour_at_midpoint(frames, pose, t, LEFT_ELBOW, LEFT_WRIST, size)
        right = _colour_at_midpoint(frames, pose, t, RIGHT_ELBOW, RIGHT_WRIST, size)
        assert left == LEFT_COLOUR
        assert right == RIGHT_COLOUR
        assert left != right


def test_every_skeleton_edge_is_tagged_by_the_side_of_the_body_it_belongs_to() -> None:
    sides = {edge: side for edge, side in SKELETON_EDGES}
    assert sides[(LEFT_ELBOW, LEFT_WRIST)] == "left"
    assert sides[(RIGHT_ELBOW, RIGHT_WRIST)] == "right"
    assert sides[(11, 12)] == "centre"  # hip to hip
    assert set(sides.values()) == {"left", "right", "centre"}
    assert len(SKELETON_EDGES) == 19


def test_a_joint_below_the_score_threshold_and_its_edges_are_not_drawn() -> None:
    pose, size = _waving_person(), (160, 160)
    pose[:, LEFT_WRIST, 2] = 0.1
    frames = render_pose_frames(pose, size=size, min_score=0.3)
    for t in (0, 7):
        hidden = _colour_at_midpoint(frames, pose, t, LEFT_ELBOW, LEFT_WRIST, size)
        assert hidden == BACKGROUND_COLOUR
        assert _colour_at_midpoint(frames, pose, t, RIGHT_ELBOW, RIGHT_WRIST, size) == RIGHT_COLOUR


def test_nan_coordinates_are_hidden_like_a_low_score() -> None:
    low_score, with_nan = _waving_person(), _waving_person()
    low_score[:, LEFT_WRIST, 2] = 0.0
    with_nan[:, LEFT_WRIST, :2] = np.nan
    np.testing.assert_array_equal(render_pose_frames(with_nan), render_pose_frames(low_score))


def test_a_sequence_with_no_visible_joint_renders_blank_frames() -> None:
    pose = _waving_person()
    pose[:, :, 2] = 0.0
    frames = render_pose_frames(pose, size=(64, 48))
    assert frames.shape == (FRAMES, 48, 64, 3)
    assert (frames == BACKGROUND_COLOUR).all()


def test_xy_only_poses_such_as_motion_centroids_draw_every_joint() -> None:
    pose = _waving_person()
    xy_only = pose[:, :, :2].copy()
    pose[:, :, 2] = 1.0
    np.testing.assert_array_equal(render_pose_frames(xy_only), render_pose_frames(pose))


def test_normalised_coordinates_are_fitted_into_the_canvas_like_pixels() -> None:
    pixels = _waving_person()[:, :, :2]
    unit_box = (pixels - pixels.min(axis=(0, 1))) / np.ptp(pixels, axis=(0, 1)).max()
    np.testing.assert_array_equal(render_pose_frames(unit_box), render_pose_frames(pixels))


def test_one_fit_for_the_whole_sequence_so_a_walking_figure_moves_across_the_canvas() -> None:
    pose = np.repeat(_waving_person()[:1], 2, axis=0)
    pose[1, :, 0] += 150  # the same figure, further right
    frames = render_pose_frames(pose, size=(160, 160))
    drawn_x = [np.nonzero((frame != BACKGROUND_COLOUR).any(axis=2))[1].mean() for frame in frames]
    assert drawn_x[1] > drawn_x[0] + 40


def test_the_gif_has_one_frame_per_pose_frame_the_requested_size_and_loops_forever() -> None:
    gif = pose_animation_gif(_waving_person(), size=(120, 90), fps=5)
    with Image.open(io.BytesIO(gif)) as image:
        assert image.format == "GIF"
        assert image.n_frames == FRAMES
        assert image.size == (120, 90)
        assert image.info["loop"] == 0
        assert image.info["duration"] == 200


def test_the_gif_frames_show_exactly_the_rendered_colours() -> None:
    pose = _waving_person()
    frames = render_pose_frames(pose, size=(100, 100))
    with Image.open(io.BytesIO(pose_animation_gif(pose, size=(100, 100)))) as image:
        for t in range(FRAMES):
            image.seek(t)
            np.testing.assert_array_equal(np.asarray(image.convert("RGB")), frames[t])


def test_the_keyframe_strip_puts_evenly_spaced_frames_side_by_side() -> None:
    pose = _waving_person()
    frames = render_pose_frames(pose, size=(50, 40))
    strip = keyframe_strip(pose, count=4, size=(50, 40))
    assert strip.shape == (40, 4 * 50, 3)
    for panel, t in enumerate([0, 2, 5, 7]):  # round(linspace(0, 7, 4))
        np.testing.assert_array_equal(strip[:, panel * 50 : (panel + 1) * 50], frames[t])


def test_png_bytes_decode_back_to_the_same_image() -> None:
    strip = keyframe_strip(_waving_person(), count=3, size=(40, 40))
    with Image.open(io.BytesIO(png_bytes(strip))) as image:
        assert image.format == "PNG"
        np.testing.assert_array_equal(np.asarray(image.convert("RGB")), strip)


@pytest.mark.parametrize("shape", [(8, 17), (8, 18, 3), (8, 17, 4), (0, 17, 3)])
def test_a_wrong_shape_is_an_input_error_naming_received_and_expected(shape: tuple) -> None:
    with pytest.raises(InputError) as raised:
        render_pose_frames(np.zeros(shape))
    assert str(shape) in str(raised.value)
    assert "(L, 17, 3)" in str(raised.value)


def test_the_cache_writes_a_gif_named_by_content_hash_and_reuses_it(tmp_path: Path) -> None:
    pose = _waving_person()
    path = cached_pose_animation(str(tmp_path), pose, (80, 80), 10, 0.3)
    first_write = os.stat(path).st_mtime_ns
    again = cached_pose_animation(str(tmp_path), pose.copy(), (80, 80), 10, 0.3)
    assert again == path
    assert os.stat(path).st_mtime_ns == first_write
    name = Path(path).name
    assert Path(path).parent == tmp_path and name.endswith(".gif") and len(name) == 64 + 4
    assert Path(path).read_bytes() == pose_animation_gif(pose, (80, 80), 10, 0.3)
    assert os.listdir(tmp_path) == [name]  # no temporary file left behind


def test_the_cache_key_changes_with_the_pose_and_every_rendering_parameter(tmp_path: Path) -> None:
    pose, cache = _waving_person(), str(tmp_path)
    moved = pose.copy()
    moved[0, LEFT_WRIST, 0] += 1
    paths = {
        cached_pose_animation(cache, pose, (80, 80), 10, 0.3),
        cached_pose_animation(cache, moved, (80, 80), 10, 0.3),
        cached_pose_animation(cache, pose, (80, 60), 10, 0.3),
        cached_pose_animation(cache, pose, (80, 80), 12, 0.3),
        cached_pose_animation(cache, pose, (80, 80), 10, 0.5),
    }
    assert len(paths) == 5
