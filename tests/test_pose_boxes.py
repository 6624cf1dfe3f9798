"""Person-box maths of the top-down pose backend: exact values."""

from __future__ import annotations

import numpy as np
import pytest

from dance.pose._boxes import (
    clip_boxes,
    crop_and_resize,
    crop_boxes,
    crop_points_to_image,
    grow_to_aspect,
    pad_boxes,
    select_largest,
)


def test_clip_boxes_limits_coordinates_to_the_image() -> None:
    boxes = np.array([[-5.0, -1.0, 120.0, 50.0]])
    np.testing.assert_array_equal(clip_boxes(boxes, 100, 80), [[0.0, 0.0, 100.0, 50.0]])


def test_pad_boxes_adds_padding_on_every_side() -> None:
    padded = pad_boxes(np.array([[10.0, 20.0, 30.0, 60.0]]), 10, 100, 100)
    np.testing.assert_array_equal(padded, [[0.0, 10.0, 40.0, 70.0]])


def test_pad_boxes_clips_the_padded_box_to_the_image() -> None:
    padded = pad_boxes(np.array([[5.0, 5.0, 95.0, 98.0]]), 10, 100, 100)
    np.testing.assert_array_equal(padded, [[0.0, 0.0, 100.0, 100.0]])


def test_pad_boxes_rejects_negative_padding() -> None:
    with pytest.raises(ValueError, match="padding"):
        pad_boxes(np.array([[0.0, 0.0, 1.0, 1.0]]), -1, 10, 10)


def test_grow_to_aspect_widens_a_tall_box_about_its_centre() -> None:
    grown = grow_to_aspect(np.array([[0.0, 0.0, 30.0, 80.0]]), (3, 4))
    np.testing.assert_allclose(grown, [[-15.0, 0.0, 45.0, 80.0]])


def test_grow_to_aspect_heightens_a_wide_box_about_its_centre() -> None:
    grown = grow_to_aspect(np.array([[0.0, 0.0, 60.0, 40.0]]), (3, 4))
    np.testing.assert_allclose(grown, [[0.0, -20.0, 60.0, 60.0]])


def test_grow_to_aspect_keeps_a_box_already_at_the_aspect() -> None:
    box = np.array([[3.0, 4.0, 33.0, 44.0]])
    np.testing.assert_allclose(grow_to_aspect(box, (3, 4)), box)


def test_crop_boxes_pads_clips_then_grows_to_three_by_four() -> None:
    # pad -> (10, 10, 50, 110) -> clip to 200x100 -> (10, 10, 50, 100): 40 x 90,
    # grown to width 67.5 about x = 30.
    region = crop_boxes(np.array([[20.0, 20.0, 40.0, 100.0]]), 10, (3, 4), 200, 100)
    np.testing.assert_allclose(region, [[-3.75, 10.0, 63.75, 100.0]])


def test_select_largest_picks_the_largest_box_above_the_threshold() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 50, 50], [0, 0, 20, 20]], dtype=float)
    scores = np.array([0.9, 0.3, 0.8])
    assert select_largest(boxes, scores, 0.25) == 1


def test_select_largest_ignores_boxes_at_or_below_the_threshold() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 50, 50]], dtype=float)
    scores = np.array([0.9, 0.25])
    assert select_largest(boxes, scores, 0.25) == 0


def test_select_largest_returns_minus_one_when_nothing_passes() -> None:
    boxes = np.array([[0, 0, 10, 10]], dtype=float)
    assert select_largest(boxes, np.array([0.1]), 0.25) == -1


def test_select_largest_breaks_area_ties_by_score() -> None:
    boxes = np.array([[0, 0, 10, 10], [5, 5, 15, 15]], dtype=float)
    assert select_largest(boxes, np.array([0.5, 0.7]), 0.25) == 1


def test_crop_and_resize_at_unit_scale_copies_the_pixels() -> None:
    # UDP: crop pixels 0..3 sample the box edges x = 2.5 .. 5.5, the centres of columns 2..5.
    image = np.arange(10 * 12 * 3, dtype=np.uint8).reshape(10, 12, 3)
    crop = crop_and_resize(image, np.array([2.5, 3.5, 5.5, 6.5]), 4, 4)
    np.testing.assert_array_equal(crop, image[3:7, 2:6])


def test_crop_and_resize_fills_outside_the_image_with_black() -> None:
    image = np.full((8, 8, 3), 200, dtype=np.uint8)
    crop = crop_and_resize(image, np.array([-7.5, 0.5, 7.5, 7.5]), 16, 8)
    assert (crop[:, :8] == 0).all()
    assert (crop[:, 8:] == 200).all()


def test_crop_points_to_image_puts_the_end_pixels_on_the_box_edges() -> None:
    points = np.array([[[0.0, 0.0], [191.0, 255.0], [95.5, 63.75]]])
    mapped = crop_points_to_image(points, np.array([[10.0, 20.0, 40.0, 60.0]]), 192, 256)
    np.testing.assert_allclose(mapped, [[[10.0, 20.0], [40.0, 60.0], [25.0, 30.0]]])


def test_crop_then_map_back_returns_to_the_same_image_point() -> None:
    image = np.zeros((60, 80, 3), dtype=np.uint8)
    image[30:34, 50:54] = 255  # a bright block centred on (52, 32)
    region = np.array([40.0, 20.0, 64.0, 52.0])
    crop = crop_and_resize(image, region, 49, 65)  # 2x up-sampling
    ys, xs = np.nonzero(crop[..., 0] > 127)
    centre = np.array([[[xs.mean(), ys.mean()]]])
    np.testing.assert_allclose(crop_points_to_image(centre, region[None], 49, 65), [[[52.0, 32.0]]])
