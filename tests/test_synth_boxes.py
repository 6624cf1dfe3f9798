"""DANCE-Synth's per-frame boxes, checked against the rendered frames before encoding.

White-box: the renderer's own frames (no h264, no sensor noise) show the object's exact
fill colour, which the encoded videos do not.
"""

from __future__ import annotations

import numpy as np
import pytest

from dance.config import SynthConfig
from dance.synth import class_catalogue
from dance.synth._generate import plan_jobs
from dance.synth._objects import OBJECT_COLORS
from dance.synth._render import VideoTruth, drawn_boxes, render_video

# Every class of the catalogue once: every object and every way of holding it.
CLEAN = SynthConfig.preset_config(
    "tiny",
    num_classes=13,
    videos_per_class=2,
    test_fraction=0.5,
    noise_std=0.0,
    shifted_test=False,
    workers=1,
)


@pytest.fixture(scope="module")
def rendered() -> list[tuple[np.ndarray, VideoTruth]]:
    """The first video of each class: (T, H, W, 3) frames and the ground truth."""
    jobs = [job for job in plan_jobs(CLEAN, class_catalogue(CLEAN)) if job.spec.index == 0]
    out = []
    for job in jobs:
        frames, truth = render_video(job.spec)
        out.append((np.stack(list(frames)), truth))
    return out


def _inside(mask: np.ndarray, box: np.ndarray) -> bool:
    """Whether every set pixel of an (H, W) mask lies in frame[y0:y1, x0:x1]."""
    x0, y0, x1, y1 = box.astype(int)
    return bool(mask.sum() == mask[y0:y1, x0:x1].sum())


def test_the_objects_fill_colour_is_found_only_inside_its_box(
    rendered: list[tuple[np.ndarray, VideoTruth]],
) -> None:
    seen = set()
    for frames, truth in rendered:
        colours = np.array(OBJECT_COLORS[truth.object], dtype=np.uint8)
        for frame, box in zip(frames, truth.object_boxes, strict=True):
            mask = (frame[:, :, None, :] == colours).all(axis=3).any(axis=2)
            if mask.any():
                assert not np.isnan(box).any(), f"{truth.object} drawn without a box"
                assert _inside(mask, box), f"{truth.object} pixels outside {box}"
                seen.add(truth.object)
    assert seen == set(OBJECT_COLORS)  # every object was checked


def test_the_objects_box_lies_in_the_frame_and_is_not_empty(
    rendered: list[tuple[np.ndarray, VideoTruth]],
) -> None:
    for frames, truth in rendered:
        height, width = frames.shape[1:3]
        boxes = truth.object_boxes[~np.isnan(truth.object_boxes).any(axis=1)]
        assert len(boxes) > 0
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= width).all()
        assert (boxes[:, 1] >= 0).all() and (boxes[:, 3] <= height).all()
        assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()


def test_the_person_box_holds_the_visible_keypoints_in_every_frame(
    rendered: list[tuple[np.ndarray, VideoTruth]],
) -> None:
    for _, truth in rendered:
        for kp, box in zip(truth.keypoints, truth.person_boxes, strict=True):
            visible = kp[kp[:, 2] > 0]
            assert (visible[:, 0] >= box[0]).all() and (visible[:, 0] < box[2]).all()
            assert (visible[:, 1] >= box[1]).all() and (visible[:, 1] < box[3]).all()


def test_the_person_box_is_about_the_persons_height(
    rendered: list[tuple[np.ndarray, VideoTruth]],
) -> None:
    low, high = CLEAN.person_height
    for frames, truth in rendered:
        heights = truth.person_boxes[:, 3] - truth.person_boxes[:, 1]
        # Head to shoes, arms raised above the head at most about half as much again.
        assert (heights > 0.8 * low * frames.shape[1]).all()
        assert (heights < 1.6 * high * frames.shape[1]).all()


def test_a_drawing_outside_the_frame_has_a_nan_box() -> None:
    offsets = np.array([[2, 2], [2, 2]])

    def draw(canvas: np.ndarray, t: int) -> None:
        """A dot inside the frame at t=0, in the margin the camera crops away at t=1."""
        canvas[10, 12] = 255 if t == 0 else 0
        canvas[0, 0] = 0 if t == 0 else 255

    boxes = drawn_boxes(draw, (24, 24), offsets, 20, 20)
    np.testing.assert_array_equal(boxes[0], [10, 8, 11, 9])  # canvas (12, 10) - offset (2, 2)
    assert np.isnan(boxes[1]).all()
