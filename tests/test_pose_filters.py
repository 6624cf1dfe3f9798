"""Specification of the pose frame filter, the raw<->valid map and the clip filters."""

from __future__ import annotations

import numpy as np
import pytest

from dance.config import PoseConfig
from dance.pose.filters import (
    CLIP_REJECT_REASONS,
    ClipDecision,
    FrameValidity,
    frame_validity,
    judge_clip,
    judge_clips,
)

CONFIG = PoseConfig()  # frame_min_score 0.1, clip_min_score 0.5, clip_min_cosine 0.92


def _frames(scores: list[float]) -> np.ndarray:
    """(T, 17, 3) keypoints: one fixed non-degenerate pose, every joint at the given score."""
    xy = np.stack([np.arange(17, dtype=np.float64) * 3 + 10, np.arange(17.0) ** 1.5 + 5], -1)
    poses = np.empty((len(scores), 17, 3))
    poses[:, :, :2] = xy
    poses[:, :, 2] = np.asarray(scores)[:, None]
    return poses


def _still_clip(length: int = 4, score: float = 0.9) -> np.ndarray:
    """(L, 17, 3) clip of one pose held still: cosine 1 between every pair of frames."""
    return _frames([score] * length)


def _pair_clip(
    first_xy: dict[int, tuple[float, float]], second_xy: dict[int, tuple[float, float]]
) -> np.ndarray:
    """Two-frame clip, score 1, joints at the origin except those given per frame."""
    clip = np.zeros((2, 17, 3))
    clip[:, :, 2] = 1.0
    for frame, joints in enumerate((first_xy, second_xy)):
        for joint, xy in joints.items():
            clip[frame, joint, :2] = xy
    return clip


# Frame (1, 0, 0, ...) against (23, 4, 4, 4, 4, 4, 4, 0, ...): |b| = sqrt(625) = 25, so the
# cosine is 23 / 25, computed exactly as the float 0.92.
_COSINE_0_92 = _pair_clip(
    {0: (1.0, 0.0)}, {0: (23.0, 4.0), 1: (4.0, 4.0), 2: (4.0, 4.0), 3: (4.0, 0.0)}
)
# (1, 0, ...) against (22, 11, 4, 2, 0, ...): |b| = 25, cosine 22 / 25 = 0.88.
_COSINE_0_88 = _pair_clip({0: (1.0, 0.0)}, {0: (22.0, 11.0), 1: (4.0, 2.0)})


# --- frame_validity ------------------------------------------------------------------------


def test_frame_is_invalid_when_no_person_was_found() -> None:
    result = frame_validity(_frames([0.9, 0.9]), np.array([True, False]), CONFIG)
    assert result.valid.tolist() == [True, False]


def test_frame_is_invalid_when_mean_score_below_frame_min_score() -> None:
    keypoints = _frames([0.9, 0.09, 0.9])
    result = frame_validity(keypoints, np.ones(3, bool), CONFIG)
    assert result.valid.tolist() == [True, False, True]


def test_frame_with_mean_score_exactly_frame_min_score_is_valid() -> None:
    config = PoseConfig(frame_min_score=0.25)  # 17 * 0.25 and its mean are exact floats
    result = frame_validity(_frames([0.25, 0.24]), np.ones(2, bool), config)
    assert result.valid.tolist() == [True, False]


def test_frame_validity_uses_the_mean_joint_score_not_each_joint() -> None:
    keypoints = _frames([0.0])
    keypoints[0, :9, 2] = 0.0
    keypoints[0, 9:, 2] = 0.5  # mean 4 / 17 = 0.235 although most joints score 0
    assert frame_validity(keypoints, np.ones(1, bool), CONFIG).valid.tolist() == [True]


def test_frame_with_non_finite_keypoints_is_invalid() -> None:
    keypoints = _frames([0.9, 0.9])
    keypoints[1, 4, 0] = np.nan
    assert frame_validity(keypoints, np.ones(2, bool), CONFIG).valid.tolist() == [True, False]


def test_raw_to_valid_counts_valid_frames_and_marks_invalid_with_minus_one() -> None:
    found = np.array([False, True, True, False, True, False])
    result = frame_validity(_frames([0.9] * 6), found, CONFIG)
    assert result.raw_to_valid.tolist() == [-1, 0, 1, -1, 2, -1]
    assert result.raw_to_valid.dtype == np.int32


def test_valid_to_raw_lists_raw_indices_of_valid_frames() -> None:
    found = np.array([False, True, True, False, True, False])
    result = frame_validity(_frames([0.9] * 6), found, CONFIG)
    assert result.valid_to_raw.tolist() == [1, 2, 4]
    assert result.valid_to_raw.dtype == np.int32


def test_maps_are_inverse_of_each_other() -> None:
    found = np.array([True, False, True, True, False, False, True])
    result = frame_validity(_frames([0.9] * 7), found, CONFIG)
    assert result.raw_to_valid[result.valid_to_raw].tolist() == list(range(4))


def test_all_valid_frames_map_to_themselves() -> None:
    result = frame_validity(_frames([0.9] * 4), np.ones(4, bool), CONFIG)
    assert result.valid.all()
    assert result.raw_to_valid.tolist() == [0, 1, 2, 3]
    assert result.valid_to_raw.tolist() == [0, 1, 2, 3]


def test_all_invalid_frames_give_an_empty_valid_to_raw() -> None:
    result = frame_validity(_frames([0.9] * 3), np.zeros(3, bool), CONFIG)
    assert not result.valid.any()
    assert result.raw_to_valid.tolist() == [-1, -1, -1]
    assert result.valid_to_raw.shape == (0,)


def test_frame_validity_is_a_frozen_record() -> None:
    result = frame_validity(_frames([0.9]), np.ones(1, bool), CONFIG)
    assert isinstance(result, FrameValidity)
    with pytest.raises(AttributeError):
        result.valid = np.zeros(1, bool)  # type: ignore[misc]


def test_frame_validity_rejects_wrong_keypoint_shape() -> None:
    with pytest.raises(ValueError, match=r"keypoints must have shape \(T, 17, 3\)"):
        frame_validity(np.zeros((4, 33, 3)), np.ones(4, bool), CONFIG)


def test_frame_validity_rejects_found_of_another_length() -> None:
    with pytest.raises(ValueError, match="found must have shape"):
        frame_validity(_frames([0.9] * 4), np.ones(3, bool), CONFIG)


def test_frame_validity_rejects_non_bool_found() -> None:
    with pytest.raises(ValueError, match=r"found must be a numpy bool array \(use \.astype"):
        frame_validity(_frames([0.9] * 2), np.ones(2, int), CONFIG)


# --- judge_clip ----------------------------------------------------------------------------


def test_still_confident_clip_is_kept() -> None:
    decision = judge_clip(_still_clip(), np.ones(4, bool), CONFIG)
    assert decision == ClipDecision(kept=True, reason=None, mean_score=0.9, min_cosine=1.0)


def test_clip_touching_an_invalid_frame_is_rejected_as_invalid_frames() -> None:
    decision = judge_clip(_still_clip(), np.array([True, True, False, True]), CONFIG)
    assert (decision.kept, decision.reason) == (False, "invalid_frames")


def test_clip_with_mean_score_below_clip_min_score_is_rejected_as_low_score() -> None:
    decision = judge_clip(_still_clip(score=0.49), np.ones(4, bool), CONFIG)
    assert (decision.kept, decision.reason) == (False, "low_score")
    assert decision.mean_score == pytest.approx(0.49)


def test_clip_with_mean_score_exactly_clip_min_score_is_kept() -> None:
    clip = _still_clip(length=2)
    clip[0, :, 2] = 0.25
    clip[1, :, 2] = 0.75  # mean exactly 0.5
    decision = judge_clip(clip, np.ones(2, bool), CONFIG)
    assert decision.mean_score == 0.5
    assert decision.kept


def test_clip_with_a_jump_below_clip_min_cosine_is_rejected_as_discontinuous() -> None:
    decision = judge_clip(_COSINE_0_88, np.ones(2, bool), CONFIG)
    assert (decision.kept, decision.reason) == (False, "discontinuous")
    assert decision.min_cosine == pytest.approx(0.88)


def test_clip_with_cosine_exactly_clip_min_cosine_is_kept() -> None:
    decision = judge_clip(_COSINE_0_92, np.ones(2, bool), CONFIG)
    assert decision.min_cosine == 0.92
    assert decision.kept


def test_min_cosine_is_the_worst_consecutive_pair() -> None:
    clip = np.concatenate([_COSINE_0_92, _COSINE_0_88[1:]])  # pairs: 0.92, then (b92 . b88)
    first, second = clip[1, :, :2].ravel(), clip[2, :, :2].ravel()
    expected = min(0.92, first @ second / (np.linalg.norm(first) * np.linalg.norm(second)))
    decision = judge_clip(clip, np.ones(3, bool), CONFIG)
    assert decision.min_cosine == pytest.approx(expected)


def test_cosine_compares_raw_xy_so_a_uniform_scale_is_continuous() -> None:
    clip = _still_clip(length=2)
    clip[1, :, :2] *= 3.0  # same direction in (x, y) space: cosine 1
    assert judge_clip(clip, np.ones(2, bool), CONFIG).min_cosine == pytest.approx(1.0)


def test_invalid_frames_is_reported_before_low_score_and_discontinuity() -> None:
    clip = _COSINE_0_88.copy()
    clip[:, :, 2] = 0.1
    decision = judge_clip(clip, np.array([True, False]), CONFIG)
    assert decision.reason == "invalid_frames"


def test_low_score_is_reported_before_discontinuity() -> None:
    clip = _COSINE_0_88.copy()
    clip[:, :, 2] = 0.1
    assert judge_clip(clip, np.ones(2, bool), CONFIG).reason == "low_score"


def test_frame_with_every_joint_at_the_origin_breaks_continuity() -> None:
    clip = _still_clip(length=2)
    clip[1, :, :2] = 0.0
    decision = judge_clip(clip, np.ones(2, bool), CONFIG)
    assert (decision.reason, decision.min_cosine) == ("discontinuous", 0.0)


def test_one_frame_clip_has_min_cosine_one() -> None:
    decision = judge_clip(_still_clip(length=1), np.ones(1, bool), CONFIG)
    assert (decision.kept, decision.min_cosine) == (True, 1.0)


def test_thresholds_come_from_the_config() -> None:
    strict = PoseConfig(clip_min_score=0.95)
    assert judge_clip(_still_clip(score=0.9), np.ones(4, bool), strict).reason == "low_score"


def test_judge_clip_refuses_nan_in_a_frame_flagged_valid() -> None:
    clip = _still_clip(length=2)
    clip[1, 3, 1] = np.nan
    with pytest.raises(ValueError, match=r"clips\[0, 1\] is flagged valid"):
        judge_clip(clip, np.ones(2, bool), CONFIG)


def test_nan_in_an_invalid_frame_is_rejected_not_raised() -> None:
    clip = _still_clip(length=2)
    clip[1] = np.nan
    decision = judge_clip(clip, np.array([True, False]), CONFIG)
    assert decision.reason == "invalid_frames"
    assert np.isnan(decision.mean_score)


def test_judge_clip_rejects_frame_valid_of_another_length() -> None:
    with pytest.raises(ValueError, match="frame_valid must have shape"):
        judge_clip(_still_clip(length=4), np.ones(3, bool), CONFIG)


def test_reject_reasons_are_the_documented_three() -> None:
    assert CLIP_REJECT_REASONS == ("invalid_frames", "low_score", "discontinuous")


def test_clip_decision_refuses_an_unknown_reason() -> None:
    with pytest.raises(ValueError, match="reject reason must be one of"):
        ClipDecision(kept=False, reason="blurry", mean_score=0.9, min_cosine=1.0)


# --- judge_clips ---------------------------------------------------------------------------


def test_judge_clips_judges_each_clip_by_its_own_frames() -> None:
    clips = np.stack([_still_clip(2), _still_clip(2, score=0.3), _COSINE_0_88, _COSINE_0_92])
    valid = np.ones((4, 2), bool)
    valid[0, 1] = False
    reasons = [d.reason for d in judge_clips(clips, valid, CONFIG)]
    assert reasons == ["invalid_frames", "low_score", "discontinuous", None]


def test_judge_clips_equals_judge_clip_on_each_clip() -> None:
    rng = np.random.default_rng(0)
    clips = rng.uniform(0, 100, size=(12, 5, 17, 3))
    clips[:, :, :, 2] = rng.uniform(0.3, 0.8, size=(12, 5, 17))
    clips[:, 1:] = clips[:, :1] + rng.normal(0, 8, size=(12, 4, 17, 3))  # some jumps
    valid = rng.uniform(size=(12, 5)) > 0.1
    batched = judge_clips(clips, valid, CONFIG)
    assert batched == [judge_clip(c, v, CONFIG) for c, v in zip(clips, valid)]
    assert len({d.reason for d in batched}) > 1


def test_judge_clips_of_no_clips_is_empty() -> None:
    assert judge_clips(np.zeros((0, 16, 17, 3)), np.zeros((0, 16), bool), CONFIG) == []
