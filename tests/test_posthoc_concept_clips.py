"""Concept clips for Video-TCAV: spatial, spatiotemporal and random clips, and box tracks."""

from __future__ import annotations

import numpy as np
import pytest

from dance.errors import InputError
from dance.posthoc import (
    link_track,
    plan_random_clips,
    random_clips,
    spatial_clip,
    spatiotemporal_clip,
)

HEIGHT, WIDTH = 48, 64


def _moving_square(sides: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(T, H, W, 3) black frames with one white square of the given side per frame, moving
    right and down, and its exact (T, 4) boxes."""
    frames = np.zeros((len(sides), HEIGHT, WIDTH, 3), dtype=np.uint8)
    boxes = np.zeros((len(sides), 4), dtype=np.float32)
    for t, side in enumerate(sides):
        x, y = 6 + 5 * t, 4 + 3 * t
        frames[t, y : y + side, x : x + side] = 255
        boxes[t] = (x, y, x + side, y + side)
    return frames, boxes


def _centroid(image: np.ndarray) -> tuple[float, float]:
    """(x, y) of the brightness-weighted centre of an (H, W, C) image."""
    weight = image.astype(np.float64).sum(axis=2)
    ys, xs = np.indices(weight.shape)
    return float((xs * weight).sum() / weight.sum()), float((ys * weight).sum() / weight.sum())


# --- spatial clips -------------------------------------------------------------------------


def test_a_spatial_clip_is_one_crop_repeated_length_times() -> None:
    frames, boxes = _moving_square([8, 8, 8])
    clip = spatial_clip(frames[1], boxes[1], size=16, length=5)
    assert clip.shape == (5, 16, 16, 3) and clip.dtype == np.uint8
    for frame in clip:
        np.testing.assert_array_equal(frame, clip[0])
    assert clip[0].min() == 255  # the crop is exactly the white square


def test_a_spatial_clip_of_a_wide_box_is_squared_so_the_object_keeps_its_shape() -> None:
    frame = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    frame[20:24, 10:30] = 255  # a 20 x 4 bar
    clip = spatial_clip(frame, np.array([10, 20, 30, 24]), size=20, length=1)
    rows = np.flatnonzero(clip[0, :, :, 0].max(axis=1) > 128)
    assert clip[0, 10, :, 0].min() > 128  # the bar spans the full width...
    assert len(rows) == 4  # ...and a fifth of the height, as in the frame


# --- spatiotemporal clips ------------------------------------------------------------------


def test_a_spatiotemporal_clip_keeps_a_moving_square_centred() -> None:
    frames, boxes = _moving_square([4, 6, 8, 10, 8, 6])
    clip = spatiotemporal_clip(frames, boxes, size=20, length=6)
    assert clip.shape == (6, 20, 20, 3)
    for frame in clip:
        x, y = _centroid(frame)
        assert abs(x - 9.5) < 0.25 and abs(y - 9.5) < 0.25


def test_a_spatiotemporal_clip_keeps_the_instance_at_its_scale_across_frames() -> None:
    frames, boxes = _moving_square([4, 6, 8, 10])
    clip = spatiotemporal_clip(frames, boxes, size=10, length=4)  # window 10 px: no resize
    widths = [np.flatnonzero(frame[:, :, 0].max(axis=0) == 255).size for frame in clip]
    assert widths == [4, 6, 8, 10]


def test_a_spatiotemporal_clip_starts_at_the_given_frame() -> None:
    frames, boxes = _moving_square([4, 6, 8, 10])
    later = spatiotemporal_clip(frames, boxes, size=10, length=2, start=2)
    whole = spatiotemporal_clip(frames, boxes, size=10, length=4)
    np.testing.assert_array_equal(later, whole[2:])


def test_crops_past_the_frame_border_are_padded_with_the_fill_value() -> None:
    frames = np.full((2, HEIGHT, WIDTH, 3), 100, dtype=np.uint8)
    boxes = np.array([[0, 0, 8, 8], [0, 0, 8, 8]], dtype=np.float32)
    boxes[1] = (0, 0, 4, 4)  # centred on (2, 2) with the 8 px window: half of it outside
    clip = spatiotemporal_clip(frames, boxes, size=8, length=2, fill=7)
    assert (clip[0] == 100).all()
    assert (clip[1, :2] == 7).all() and (clip[1, :, :2] == 7).all()
    assert (clip[1, 2:, 2:] == 100).all()


def test_a_frame_without_a_box_takes_the_nearest_frames_box() -> None:
    frames, boxes = _moving_square([6, 6, 6])
    gap = boxes.copy()
    gap[1] = np.nan
    clip = spatiotemporal_clip(frames, gap, size=6, length=3)
    held = spatial_clip(frames[1], boxes[0], size=6, length=1)[0]
    np.testing.assert_array_equal(clip[1], held)


# --- linking boxes into a track ------------------------------------------------------------


def test_link_track_follows_one_of_two_boxes_whatever_their_order() -> None:
    left = [np.array([2 + 2 * t, 10, 12 + 2 * t, 20]) for t in range(6)]
    right = [np.array([40 - 2 * t, 30, 50 - 2 * t, 40]) for t in range(6)]
    detections = [
        np.stack([a, b] if t % 2 == 0 else [b, a]) for t, (a, b) in enumerate(zip(left, right))
    ]
    track = link_track(detections, min_iou=0.3, first=1)  # frame 0: index 1 is `right`
    np.testing.assert_array_equal(track, np.stack(right).astype(np.float32))


def test_link_track_leaves_a_gap_and_picks_the_instance_up_again() -> None:
    box = np.array([[10.0, 10, 20, 20]])
    far = np.array([[40.0, 30, 50, 40]])
    track = link_track([box, far, np.zeros((0, 4)), box + 1], min_iou=0.5)
    assert np.isnan(track[1]).all() and np.isnan(track[2]).all()
    np.testing.assert_array_equal(track[3], box[0] + 1)


def test_a_linked_track_with_gaps_makes_a_clip() -> None:
    frames, boxes = _moving_square([6, 6, 6, 6])
    detections = [boxes[0][None], np.zeros((0, 4)), boxes[2][None], boxes[3][None]]
    track = link_track(detections, min_iou=0.01)
    clip = spatiotemporal_clip(frames, track, size=6, length=4)
    assert clip.shape == (4, 6, 6, 3)


# --- random clips --------------------------------------------------------------------------


def _labelled_videos() -> tuple[list[np.ndarray], list[str]]:
    """Three videos, each filled with its own grey level, and their classes."""
    videos = [np.full((8, 32, 40, 3), level, dtype=np.uint8) for level in (10, 20, 30)]
    return videos, ["squat", "jump", "squat"]


def test_random_clips_come_only_from_other_classes_videos() -> None:
    videos, labels = _labelled_videos()
    clips = random_clips(videos, labels, exclude="squat", count=6, size=16, length=4, seed=0)
    assert clips.shape == (6, 4, 16, 16, 3)
    assert (clips == 20).all()


def test_random_clips_are_the_same_for_the_same_seed() -> None:
    videos, labels = _labelled_videos()
    videos = [np.random.default_rng(i).integers(0, 255, v.shape, np.uint8) for i, v in
              enumerate(videos)]  # fmt: skip
    a = random_clips(videos, labels, exclude="jump", count=4, size=8, length=3, seed=5)
    b = random_clips(videos, labels, exclude="jump", count=4, size=8, length=3, seed=5)
    c = random_clips(videos, labels, exclude="jump", count=4, size=8, length=3, seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_planned_random_windows_lie_inside_the_frame_and_the_video() -> None:
    shapes = [(8, 32, 40), (12, 48, 30)]
    plans = plan_random_clips(shapes, [0, 1], exclude=2, count=50, length=5, seed=1)
    for plan in plans:
        frames, height, width = shapes[plan.video]
        x0, y0, x1, y1 = plan.box
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height and x1 - x0 == y1 - y0
        assert 0 <= plan.start and plan.start + 5 <= frames


def test_spatial_random_clips_repeat_one_frame() -> None:
    videos = [np.random.default_rng(0).integers(0, 255, (6, 24, 24, 3), np.uint8)]
    clips = random_clips(videos, [1], exclude=0, count=2, size=8, length=4, seed=0, kind="spatial")
    assert all((clip == clip[0]).all() for clip in clips)


# --- bad inputs ----------------------------------------------------------------------------


def test_an_empty_box_is_refused_with_the_box_convention() -> None:
    frames, _ = _moving_square([8])
    with pytest.raises(InputError, match="empty.*x0, y0, x1, y1 corners"):
        spatial_clip(frames[0], np.array([10, 10, 10, 20]), size=8, length=2)


def test_a_box_outside_the_frame_is_refused_naming_the_frame_size() -> None:
    frames, _ = _moving_square([8])
    with pytest.raises(InputError, match="outside the 64x48 frame.*decoded size"):
        spatial_clip(frames[0], np.array([70, 10, 80, 20]), size=8, length=2)


def test_fewer_frames_than_the_clip_length_are_refused_naming_the_fix() -> None:
    frames, boxes = _moving_square([6, 6, 6])
    with pytest.raises(InputError, match="needs 4 frames, the video has 3.*shorter length"):
        spatiotemporal_clip(frames, boxes, size=8, length=4)


def test_a_track_with_no_box_in_the_clip_is_refused() -> None:
    frames, boxes = _moving_square([6, 6, 6])
    with pytest.raises(InputError, match="no box in any frame"):
        spatiotemporal_clip(frames, np.full_like(boxes, np.nan), size=8, length=3)


def test_one_box_per_frame_is_required() -> None:
    frames, boxes = _moving_square([6, 6, 6])
    with pytest.raises(InputError, match=r"boxes must be \(3, 4\)"):
        spatiotemporal_clip(frames, boxes[:2], size=8, length=2)


def test_random_clips_without_other_classes_are_refused() -> None:
    videos, labels = _labelled_videos()
    with pytest.raises(InputError, match="other classes' videos"):
        random_clips(videos, labels, exclude=["squat", "jump"], count=2, size=8, length=2, seed=0)


def test_link_track_needs_a_valid_first_box() -> None:
    with pytest.raises(InputError, match="first=2 is not a box of frame 0"):
        link_track([np.zeros((1, 4)) + [0, 0, 4, 4]], first=2)
