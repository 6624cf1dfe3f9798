"""Specification of pose clip normalisation: minmax (reference), torso and box."""

from __future__ import annotations

import numpy as np
import pytest

from dance.pose.normalize import NORMALIZATION_METHODS, normalize_clip, normalize_clips

LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP = 5, 6, 11, 12


def _random_clips(num_clips: int, length: int = 4, seed: int = 0) -> np.ndarray:
    """(S, L, 17, 3) clips of random poses in pixel coordinates with scores in [0, 1]."""
    rng = np.random.default_rng(seed)
    clips = rng.uniform(0, 640, size=(num_clips, length, 17, 3))
    clips[..., 2] = rng.uniform(0, 1, size=(num_clips, length, 17))
    return clips


def _at(flat: np.ndarray, frame: int, joint: int, axis: int) -> float:
    """The documented flat layout: time-major, then joint, then (x, y)."""
    return float(flat[frame * 17 * 2 + joint * 2 + axis])


# --- minmax --------------------------------------------------------------------------------


def test_minmax_gives_known_values_on_a_tiny_pose() -> None:
    clip = np.zeros((1, 17, 3))
    clip[0, :, 0], clip[0, :, 1] = 20.0, 25.0
    clip[0, 0, :2] = (10.0, 50.0)  # x min, y max
    clip[0, 1, :2] = (30.0, 0.0)  # x max, y min
    flat = normalize_clip(clip)
    assert (_at(flat, 0, 0, 0), _at(flat, 0, 0, 1)) == (0.0, 1.0)
    assert (_at(flat, 0, 1, 0), _at(flat, 0, 1, 1)) == (1.0, 0.0)
    assert all(_at(flat, 0, j, a) == 0.5 for j in range(2, 17) for a in (0, 1))


def test_minmax_scales_x_and_y_separately() -> None:
    clip = _random_clips(1, length=1)[0]
    clip[0, :, 1] *= 0.01  # y spans far less than x; each still fills [0, 1]
    xy = normalize_clip(clip).reshape(17, 2)
    assert xy.min(axis=0).tolist() == [0.0, 0.0]
    assert xy.max(axis=0).tolist() == [1.0, 1.0]


def test_minmax_scales_each_frame_on_its_own() -> None:
    clip = _random_clips(1, length=2)[0]
    clip[1, :, :2] = clip[0, :, :2] * 5 + 100  # a bigger, shifted copy of frame 0
    flat = normalize_clip(clip)
    np.testing.assert_allclose(flat[:34], flat[34:], atol=1e-6)


def test_flat_layout_is_time_major_then_joint_then_xy() -> None:
    clip = _random_clips(1, length=3, seed=1)[0]
    flat = normalize_clip(clip)
    for frame in range(3):
        for axis in (0, 1):
            values = clip[frame, :, axis]
            expected = (values - values.min()) / (values.max() - values.min())
            for joint in range(17):
                assert _at(flat, frame, joint, axis) == pytest.approx(expected[joint], abs=1e-6)


def test_output_is_float32_of_length_l_times_34() -> None:
    flat = normalize_clip(_random_clips(1, length=16)[0])
    assert (flat.dtype, flat.shape) == (np.float32, (16 * 17 * 2,))


def test_minmax_is_the_default_method() -> None:
    clip = _random_clips(1)[0]
    np.testing.assert_array_equal(normalize_clip(clip), normalize_clip(clip, "minmax"))


def test_minmax_degenerate_axis_becomes_zero_not_nan() -> None:
    clip = _random_clips(1, length=2)[0]
    clip[0, :, 0] = 42.0  # every joint on one vertical line in frame 0
    xy = normalize_clip(clip).reshape(2, 17, 2)
    assert (xy[0, :, 0] == 0.0).all()
    assert (xy[0, :, 1].min(), xy[0, :, 1].max()) == (0.0, 1.0)
    assert xy[1].max() == 1.0


def test_minmax_frame_collapsed_to_one_point_becomes_all_zeros() -> None:
    clip = _random_clips(1, length=2)[0]
    clip[1, :, :2] = (300.0, 200.0)
    xy = normalize_clip(clip).reshape(2, 17, 2)
    assert (xy[1] == 0.0).all()
    assert np.isfinite(xy).all()


@pytest.mark.parametrize("method", NORMALIZATION_METHODS)
def test_scores_do_not_affect_the_normalisation(method: str) -> None:
    clip = _random_clips(1)[0]
    rescored = clip.copy()
    rescored[..., 2] = 0.0
    np.testing.assert_array_equal(normalize_clip(clip, method), normalize_clip(rescored, method))


# --- torso and box -------------------------------------------------------------------------


@pytest.mark.parametrize("method", NORMALIZATION_METHODS)
def test_scaling_and_translating_a_clip_leaves_its_normalisation_unchanged(method: str) -> None:
    clip = _random_clips(1, length=5)[0]
    moved = clip.copy()
    moved[..., :2] = clip[..., :2] * 2.5 + np.array([-130.0, 70.0])
    np.testing.assert_allclose(
        normalize_clip(moved, method), normalize_clip(clip, method), atol=1e-5
    )


def test_torso_centres_each_frame_on_the_mid_hip() -> None:
    xy = normalize_clip(_random_clips(1, length=3)[0], "torso").reshape(3, 17, 2)
    mid_hip = (xy[:, LEFT_HIP] + xy[:, RIGHT_HIP]) / 2
    np.testing.assert_allclose(mid_hip, 0.0, atol=1e-6)


def test_torso_divides_by_the_clip_mean_shoulder_hip_distance() -> None:
    clip = np.zeros((2, 17, 3))
    clip[:, LEFT_HIP, :2], clip[:, RIGHT_HIP, :2] = (90.0, 200.0), (110.0, 200.0)
    clip[:, LEFT_SHOULDER, :2], clip[:, RIGHT_SHOULDER, :2] = (90.0, 170.0), (110.0, 170.0)
    clip[1, LEFT_SHOULDER, 1] = clip[1, RIGHT_SHOULDER, 1] = 150.0  # torsos 30 and 50
    clip[:, 0, :2] = (100.0, 120.0)  # nose 80 px above the mid-hip; other joints at the origin
    xy = normalize_clip(clip, "torso").reshape(2, 17, 2)
    assert xy[0, 0].tolist() == [0.0, -2.0]  # -80 / mean(30, 50)
    assert xy[1, LEFT_SHOULDER].tolist() == [-0.25, -1.25]


def test_torso_with_zero_length_gives_zeros_not_nan() -> None:
    clip = _random_clips(1, length=2)[0]
    clip[:, [LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP], :2] = (50.0, 60.0)
    assert (normalize_clip(clip, "torso") == 0.0).all()


def test_box_centres_each_frame_on_its_box_centre() -> None:
    xy = normalize_clip(_random_clips(1, length=3)[0], "box").reshape(3, 17, 2)
    np.testing.assert_allclose((xy.min(axis=1) + xy.max(axis=1)) / 2, 0.0, atol=1e-6)


def test_box_divides_by_the_clips_largest_box_side() -> None:
    clip = np.zeros((2, 17, 3))
    clip[0, :, :2] = (10.0, 10.0)
    clip[0, 0, :2], clip[0, 1, :2] = (0.0, 0.0), (20.0, 40.0)  # box 20 x 40
    clip[1, :, :2] = (5.0, 5.0)
    clip[1, 1, :2] = (85.0, 25.0)  # box 80 x 20: the largest side of the clip is 80
    xy = normalize_clip(clip, "box").reshape(2, 17, 2)
    assert xy[0, 1].tolist() == [0.125, 0.25]
    assert xy[1, 1].tolist() == [0.5, 0.125]


def test_box_of_a_clip_collapsed_to_points_gives_zeros_not_nan() -> None:
    clip = np.zeros((3, 17, 3))
    clip[:, :, :2] = (12.0, 34.0)
    assert (normalize_clip(clip, "box") == 0.0).all()


# --- batches and bad input -----------------------------------------------------------------


@pytest.mark.parametrize("method", NORMALIZATION_METHODS)
def test_normalize_clips_equals_stacking_normalize_clip(method: str) -> None:
    clips = _random_clips(6, length=4, seed=3)
    clips[2, 1, :, 0] = 7.0  # one degenerate axis in the batch
    stacked = np.stack([normalize_clip(clip, method) for clip in clips])
    batched = normalize_clips(clips, method)
    assert (batched.dtype, batched.shape) == (np.float32, (6, 4 * 34))
    np.testing.assert_array_equal(batched, stacked)


def test_normalize_clips_of_no_clips_is_empty() -> None:
    assert normalize_clips(np.zeros((0, 16, 17, 3))).shape == (0, 16 * 34)


def test_unknown_method_names_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="'minmax', 'torso', 'box'"):
        normalize_clip(_random_clips(1)[0], "zscore")


def test_wrong_clip_shape_is_refused() -> None:
    with pytest.raises(ValueError, match=r"clip must have shape \(L, 17, 3\)"):
        normalize_clip(np.zeros((4, 17, 2)))


def test_non_finite_clip_is_refused() -> None:
    clip = _random_clips(1)[0]
    clip[2, 5, 0] = np.inf
    with pytest.raises(ValueError, match="clips holds NaN/inf"):
        normalize_clips(clip[None])
