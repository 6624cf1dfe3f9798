"""Which frames feed the backbone (16) and the dual encoder (8): exact indices.

The rules are in docs/method.md sections 5 and 6.
"""

from __future__ import annotations

import numpy as np
import pytest

from dance.config import BackboneConfig, DualEncoderConfig
from dance.encoders import backbone_frame_indices, dual_frame_indices

SEGMENTS = BackboneConfig(sampling="segment_middles")
STRIDED = BackboneConfig(sampling="stride_around_middle", stride=4)


def test_segment_middles_take_the_middle_of_sixteen_equal_segments() -> None:
    # 160 frames -> segments of 10 frames, middles at 5, 15, ..., 155.
    np.testing.assert_array_equal(backbone_frame_indices(160, SEGMENTS), np.arange(5, 160, 10))


def test_segment_middles_floor_fractional_middles() -> None:
    # Middle of segment i is floor((i + 0.5) * 100 / 16).
    expected = [3, 9, 15, 21, 28, 34, 40, 46, 53, 59, 65, 71, 78, 84, 90, 96]
    np.testing.assert_array_equal(backbone_frame_indices(100, SEGMENTS), expected)


def test_segment_middles_repeat_frames_of_a_short_video_evenly() -> None:
    expected = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]
    np.testing.assert_array_equal(backbone_frame_indices(4, SEGMENTS), expected)


def test_a_single_frame_video_repeats_that_frame() -> None:
    for config in (SEGMENTS, STRIDED):
        np.testing.assert_array_equal(backbone_frame_indices(1, config), np.zeros(16))


def test_stride_around_middle_centres_a_stride_four_window() -> None:
    # Span 15 * 4 + 1 = 61 frames, starting at (100 - 61) // 2 = 19.
    np.testing.assert_array_equal(backbone_frame_indices(100, STRIDED), np.arange(19, 80, 4))


def test_stride_around_middle_shrinks_the_stride_when_the_window_does_not_fit() -> None:
    # 40 frames: stride 4 needs 61; the largest fitting stride is 2 (span 31, start 4).
    np.testing.assert_array_equal(backbone_frame_indices(40, STRIDED), np.arange(4, 35, 2))


def test_stride_around_middle_uses_every_frame_when_the_video_has_exactly_sixteen() -> None:
    np.testing.assert_array_equal(backbone_frame_indices(16, STRIDED), np.arange(16))


def test_stride_around_middle_falls_back_to_segment_middles_below_sixteen_frames() -> None:
    expected = [0, 0, 1, 2, 2, 3, 4, 4, 5, 5, 6, 7, 7, 8, 9, 9]
    np.testing.assert_array_equal(backbone_frame_indices(10, STRIDED), expected)


def test_the_clip_length_follows_the_config() -> None:
    config = BackboneConfig(sampling="segment_middles", num_frames=4)
    np.testing.assert_array_equal(backbone_frame_indices(8, config), [1, 3, 5, 7])


def test_indices_are_always_in_range_ascending_and_sixteen_long() -> None:
    for config in (SEGMENTS, STRIDED):
        for n in range(1, 300):
            indices = backbone_frame_indices(n, config)
            assert indices.shape == (16,) and indices.dtype == np.int64
            assert indices.min() >= 0 and indices.max() < n, (config.sampling, n)
            assert np.all(np.diff(indices) >= 0), (config.sampling, n)


def test_a_video_without_frames_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="num_frames_in_video must be >= 1"):
        backbone_frame_indices(0, SEGMENTS)


def test_dual_frames_are_every_second_backbone_frame() -> None:
    backbone = backbone_frame_indices(160, SEGMENTS)
    dual = dual_frame_indices(backbone, DualEncoderConfig())
    np.testing.assert_array_equal(dual, [5, 25, 45, 65, 85, 105, 125, 145])


def test_dual_frames_follow_the_configured_count() -> None:
    backbone = np.arange(16)
    np.testing.assert_array_equal(
        dual_frame_indices(backbone, DualEncoderConfig(num_frames=4)), [0, 4, 8, 12]
    )


def test_dual_frames_reject_a_non_integer_index_array() -> None:
    with pytest.raises(TypeError, match="backbone_indices must hold integers"):
        dual_frame_indices(np.linspace(0, 10, 16), DualEncoderConfig())
