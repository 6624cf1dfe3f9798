"""Key clips (docs/method.md section 1): which keyframes, and the frame window around each."""

from __future__ import annotations

import numpy as np
import pytest

from dance.config import ClipConfig
from dance.keyframes import clip_windows, select_keyframes


def _clips(num_clips: int = 10, clip_length: int = 16) -> ClipConfig:
    return ClipConfig(num_clips=num_clips, clip_length=clip_length)


def test_all_keyframes_are_kept_when_at_most_n() -> None:
    keyframes = np.array([3, 9, 40], dtype=np.int32)
    assert select_keyframes(keyframes, _clips(num_clips=3)).tolist() == [3, 9, 40]


def test_more_than_n_keyframes_are_picked_evenly_by_linspace() -> None:
    keyframes = np.arange(0, 100, 5)  # K = 20
    # linspace(0, 19, 10).astype(int) = [0, 2, 4, 6, 8, 10, 12, 14, 16, 19]
    assert select_keyframes(keyframes, _clips()).tolist() == [0, 10, 20, 30, 40, 50, 60, 70, 80, 95]


def test_selection_with_n_of_one_takes_the_first_keyframe() -> None:
    assert select_keyframes(np.array([4, 8, 12]), _clips(num_clips=1)).tolist() == [4]


def test_even_length_window_is_half_before_and_half_after() -> None:
    windows = clip_windows(np.array([10]), 20, _clips(clip_length=4))
    assert windows.tolist() == [[8, 9, 10, 11]]  # [k - L/2, k + L/2)


def test_odd_length_window_is_centred_on_the_keyframe() -> None:
    windows = clip_windows(np.array([10]), 20, _clips(clip_length=5))
    assert windows.tolist() == [[8, 9, 10, 11, 12]]  # [k - L//2, k + L//2 + 1)


def test_window_near_the_start_is_shifted_not_padded() -> None:
    windows = clip_windows(np.array([0, 1]), 20, _clips(clip_length=4))
    assert windows.tolist() == [[0, 1, 2, 3], [0, 1, 2, 3]]


def test_window_near_the_end_is_shifted_not_padded() -> None:
    windows = clip_windows(np.array([18, 19]), 20, _clips(clip_length=5))
    assert windows.tolist() == [[15, 16, 17, 18, 19], [15, 16, 17, 18, 19]]


def test_video_exactly_one_clip_long_gives_the_whole_video() -> None:
    windows = clip_windows(np.array([2]), 6, _clips(clip_length=6))
    assert windows.tolist() == [[0, 1, 2, 3, 4, 5]]


def test_short_video_repeats_each_frame_ceil_l_over_n_times() -> None:
    windows = clip_windows(np.array([1]), 3, _clips(clip_length=8))
    assert windows.tolist() == [[0, 0, 0, 1, 1, 1, 2, 2]]  # ceil(8/3) = 3, cut to 8


def test_short_video_repetition_is_truncated_to_l() -> None:
    windows = clip_windows(np.array([1, 3]), 5, _clips(clip_length=16))
    row = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]  # ceil(16/5) = 4
    assert windows.tolist() == [row, row]


def test_windows_use_the_selected_keyframes() -> None:
    keyframes = np.arange(0, 100, 5)
    windows = clip_windows(keyframes, 100, _clips())
    selected = select_keyframes(keyframes, _clips())
    assert windows.shape == (10, 16)
    assert np.array_equal(windows, clip_windows(selected, 100, _clips()))
    assert windows[1].tolist() == list(range(2, 18))  # keyframe 10: [10 - 8, 10 + 8)


def test_default_windows_are_sixteen_frames_around_each_keyframe() -> None:
    windows = clip_windows(np.array([30, 60]), 100, ClipConfig())
    assert windows.tolist() == [list(range(22, 38)), list(range(52, 68))]


def test_windows_are_int32_with_one_row_per_clip() -> None:
    windows = clip_windows(np.array([5, 50], dtype=np.int64), 64, _clips())
    assert windows.dtype == np.int32 and windows.shape == (2, 16)


def test_no_keyframes_give_no_clips() -> None:
    windows = clip_windows(np.array([], dtype=np.int32), 50, _clips())
    assert windows.shape == (0, 16) and windows.dtype == np.int32


def test_keyframe_outside_the_video_is_rejected() -> None:
    with pytest.raises(ValueError, match="outside a video of num_frames=20"):
        clip_windows(np.array([5, 20]), 20, _clips())


def test_unsorted_keyframes_are_rejected() -> None:
    with pytest.raises(ValueError, match="strictly ascending"):
        select_keyframes(np.array([9, 3]), _clips())


def test_non_integer_keyframes_are_rejected() -> None:
    with pytest.raises(ValueError, match="integer"):
        select_keyframes(np.array([1.5, 3.0]), _clips())


def test_video_without_frames_is_rejected() -> None:
    with pytest.raises(ValueError, match="num_frames must be >= 1"):
        clip_windows(np.array([], dtype=np.int32), 0, _clips())
