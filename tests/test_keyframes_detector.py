"""Keyframe detector rules (docs/method.md section 1) on hand-made frames and signals."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from dance.config import KeyframeConfig
from dance.keyframes import (
    KeyframeDetector,
    brightened_pixel_counts,
    detect_keyframes,
    find_peaks,
    polynomial_baseline,
    remove_baseline,
)

NO_BLUR = KeyframeConfig(blur_kernel=1)  # a 1x1 Gaussian is the identity: counts are exact


def _flash_video(flashes: dict[int, int], num_frames: int = 100) -> np.ndarray:
    """Gray 40x60 frames of constant 100, with a side x side square at 200 on flash frames."""
    frames = np.full((num_frames, 40, 60), 100, dtype=np.uint8)
    for frame, side in flashes.items():
        frames[frame, 5 : 5 + side, 5 : 5 + side] = 200
    return frames


def _moving_blobs(num_frames: int = 150, seed: int = 0) -> np.ndarray:
    """RGB 48x64 frames: noise plus bright squares that appear and move at random times."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 60, size=(num_frames, 48, 64, 3), dtype=np.uint8)
    for t in range(num_frames):
        for _ in range(int(rng.integers(0, 4))):
            y, x, side = rng.integers(0, 40), rng.integers(0, 56), rng.integers(3, 9)
            frames[t, y : y + side, x : x + side] = rng.integers(120, 256, size=3)
    return frames


# --- the per-frame signal ---------------------------------------------------------------


def test_counts_only_pixels_that_got_brighter() -> None:
    frames = np.full((3, 4, 5), 50, dtype=np.uint8)
    frames[1, 0, :3] = 60  # 3 pixels brighter than frame 0
    frames[1, 3, 0] = 10  # 1 pixel darker: not counted
    frames[2, 0, :3] = 60  # unchanged from frame 1: not counted
    frames[2, 2, :2] = 51  # 2 pixels brighter than frame 1
    counts, _ = brightened_pixel_counts(frames, None, NO_BLUR)
    assert counts.tolist() == [0, 3, 3]


def test_first_frame_of_a_video_counts_zero() -> None:
    frames = np.full((1, 4, 4), 255, dtype=np.uint8)
    counts, _ = brightened_pixel_counts(frames, None, NO_BLUR)
    assert counts.tolist() == [0]


def test_first_frame_of_a_later_chunk_compares_with_the_previous_chunk() -> None:
    previous = np.zeros((4, 4), dtype=np.uint8)
    frames = np.zeros((2, 4, 4), dtype=np.uint8)
    frames[0, :2, :] = 1
    counts, last = brightened_pixel_counts(frames, previous, NO_BLUR)
    assert counts.tolist() == [8, 0]
    assert np.array_equal(last, frames[1])


def test_saturating_subtract_nonzeros_are_exactly_the_brighter_pixels() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        current, before = rng.integers(0, 256, size=(2, 33, 47), dtype=np.uint8)
        same = rng.random(before.shape) < 0.3  # many equal pixels: equal is not brighter
        before[same] = current[same]
        assert cv2.countNonZero(cv2.subtract(current, before)) == np.count_nonzero(current > before)


def test_rgb_counts_equal_the_reference_bgr2gray_blur_subtract_loop() -> None:
    frames = _moving_blobs(num_frames=12)
    counts, last = brightened_pixel_counts(frames, None, KeyframeConfig())
    expected, previous = [], None
    for rgb in frames:
        gray = cv2.cvtColor(np.ascontiguousarray(rgb[:, :, ::-1]), cv2.COLOR_BGR2GRAY)
        blurred = cv2.GaussianBlur(gray, (9, 9), 0)
        previous = blurred if previous is None else previous
        expected.append(cv2.countNonZero(cv2.subtract(blurred, previous)))
        previous = blurred
    assert counts.tolist() == expected
    assert np.array_equal(last, previous)


def test_gray_frames_give_the_same_counts_as_their_rgb_version() -> None:
    rgb = _moving_blobs(num_frames=10)
    gray = np.stack([cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in rgb])
    config = KeyframeConfig()
    assert np.array_equal(
        brightened_pixel_counts(rgb, None, config)[0],
        brightened_pixel_counts(gray, None, config)[0],
    )


def test_frames_must_be_uint8() -> None:
    with pytest.raises(ValueError, match="uint8"):
        brightened_pixel_counts(np.zeros((2, 4, 4), dtype=np.float32), None, NO_BLUR)


def test_a_single_rgb_frame_without_a_time_axis_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"frame\[None\]"):
        brightened_pixel_counts(np.zeros((4, 5, 3), dtype=np.uint8), None, NO_BLUR)


def test_frames_with_four_channels_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"\(T,H,W,3\) RGB or \(T,H,W\) gray"):
        brightened_pixel_counts(np.zeros((2, 4, 4, 4), dtype=np.uint8), None, NO_BLUR)


def test_previous_frame_of_another_size_is_rejected() -> None:
    frames = np.zeros((2, 4, 4), dtype=np.uint8)
    with pytest.raises(ValueError, match="frame size changed"):
        brightened_pixel_counts(frames, np.zeros((5, 4), dtype=np.uint8), NO_BLUR)


# --- baseline ---------------------------------------------------------------------------


def test_baseline_of_a_pure_quadratic_is_the_quadratic() -> None:
    x = np.arange(80, dtype=np.float64)
    quadratic = 0.5 * x**2 - 30 * x + 900
    assert np.allclose(polynomial_baseline(quadratic, KeyframeConfig()), quadratic)
    assert np.allclose(remove_baseline(quadratic, KeyframeConfig()), 0.0, atol=1e-9)


def test_baseline_runs_under_spikes_so_spikes_survive_removal() -> None:
    x = np.arange(100, dtype=np.float64)
    drift = 0.02 * (x - 50) ** 2 + 10
    spiky = drift.copy()
    spiky[[20, 60]] += 500
    corrected = remove_baseline(spiky, KeyframeConfig())
    assert corrected[20] > 450 and corrected[60] > 450
    assert np.median(np.abs(np.delete(corrected, [20, 60]))) < 5


def test_baseline_stops_after_max_iterations() -> None:
    signal = np.r_[np.zeros(30), 1000.0, np.zeros(30)]
    one_fit = polynomial_baseline(signal, KeyframeConfig(baseline_max_iter=1))
    x = np.linspace(0.0, 1000.0 ** (1 / 3), signal.size)
    assert np.allclose(one_fit, np.polyval(np.polyfit(x, signal, 2), x))


def test_baseline_of_an_all_zero_signal_is_zero() -> None:
    assert np.array_equal(polynomial_baseline(np.zeros(10), KeyframeConfig()), np.zeros(10))


# --- peaks ------------------------------------------------------------------------------


def test_peaks_are_local_maxima_above_threshold() -> None:
    signal = np.array([0, 5, 0, 1, 0, 9, 3, 4, 2, 0], dtype=np.float64)
    # threshold 0.3 * 9 = 2.7: the maxima at 1 (5), 5 (9) and 7 (4); 3 (1) is below it
    assert find_peaks(signal, KeyframeConfig()).tolist() == [1, 5, 7]


def test_threshold_is_relative_to_the_signal_range() -> None:
    signal = np.array([0, 5, 0, 1, 0, 9, 3, 4, 2, 0], dtype=np.float64)
    config = KeyframeConfig(threshold=0.5)  # 4.5: the maximum at 7 (4) now falls below
    assert find_peaks(signal, config).tolist() == [1, 5]
    assert find_peaks(signal * 1000 + 7, config).tolist() == [1, 5]


def test_plateau_peak_is_its_middle_frame() -> None:
    odd = np.array([0, 1, 5, 5, 5, 1, 0], dtype=np.float64)
    assert find_peaks(odd, KeyframeConfig()).tolist() == [3]
    even = np.array([0, 1, 5, 5, 5, 5, 1, 0], dtype=np.float64)
    assert find_peaks(even, KeyframeConfig()).tolist() == [3]  # left of the two middles
    pair = np.array([0, 5, 5, 0], dtype=np.float64)
    assert find_peaks(pair, KeyframeConfig()).tolist() == [1]


def test_plateau_at_either_end_is_not_a_peak() -> None:
    assert find_peaks(np.array([5, 5, 5, 1, 0, 3, 0.0]), KeyframeConfig()).tolist() == [5]
    assert find_peaks(np.array([0, 3, 0, 1, 5, 5, 5.0]), KeyframeConfig()).tolist() == [1]


def test_steps_and_valleys_on_plateaus_are_not_peaks() -> None:
    assert find_peaks(np.array([0, 2, 2, 4, 4, 6.0]), KeyframeConfig()).size == 0
    assert find_peaks(np.array([6, 0, 0, 0, 6, 0.0]), KeyframeConfig()).tolist() == [4]


def test_first_and_last_samples_are_never_peaks() -> None:
    assert find_peaks(np.array([9, 0, 4, 0, 9.0]), KeyframeConfig()).tolist() == [2]


def test_flat_signal_has_no_peaks() -> None:
    assert find_peaks(np.full(20, 3.0), KeyframeConfig()).size == 0


def test_min_distance_keeps_the_higher_of_close_peaks() -> None:
    signal = np.array([0, 5, 0, 8, 0, 0, 0, 6, 0.0])
    assert find_peaks(signal, KeyframeConfig()).tolist() == [1, 3, 7]
    assert find_peaks(signal, KeyframeConfig(min_distance=2)).tolist() == [3, 7]


def test_peaks_are_ascending_int32() -> None:
    peaks = find_peaks(np.array([0, 5, 0, 8, 0.0]), KeyframeConfig())
    assert peaks.dtype == np.int32 and peaks.tolist() == [1, 3]


def test_non_finite_signal_is_rejected() -> None:
    with pytest.raises(ValueError, match="NaN"):
        find_peaks(np.array([0, 1, np.nan, 0]), KeyframeConfig())


# --- the detector -----------------------------------------------------------------------


def test_flash_frames_are_the_keyframes() -> None:
    frames = _flash_video({20: 12, 50: 15, 80: 12})
    assert detect_keyframes(frames).tolist() == [20, 50, 80]


def test_small_changes_below_the_relative_threshold_are_not_keyframes() -> None:
    frames = _flash_video({20: 14, 50: 3, 80: 14})  # frame 50's flash is ~5% of the others
    assert detect_keyframes(frames).tolist() == [20, 80]


def test_static_video_has_no_keyframes() -> None:
    assert detect_keyframes(_flash_video({})).size == 0


def test_fewer_than_three_frames_have_no_keyframes() -> None:
    detector = KeyframeDetector()
    detector.update(_flash_video({1: 10}, num_frames=2))
    assert detector.num_frames == 2
    assert detector.finish().size == 0


def test_chunk_size_does_not_change_keyframes() -> None:
    frames = _moving_blobs()
    whole = detect_keyframes(frames)
    assert whole.size > 5
    for chunk_size in (1, 7, 64):
        detector = KeyframeDetector()
        for start in range(0, len(frames), chunk_size):
            detector.update(frames[start : start + chunk_size])
        assert detector.num_frames == len(frames)
        assert np.array_equal(detector.finish(), whole), f"chunk size {chunk_size}"


def test_chunks_read_on_the_worker_give_the_same_counts_and_stay_untouched() -> None:
    frames = _moving_blobs()
    reference = KeyframeDetector()
    reference.update(frames)
    # Fresh arrays per chunk, as a decoder returns them; gray conversion on the worker.
    chunks = [frames[start : start + 16].copy() for start in range(0, len(frames), 16)]
    detector = KeyframeDetector()
    for chunk in chunks:
        detector.update(chunk, frames_stay_unchanged=True)
    assert np.array_equal(detector.signal(), reference.signal())
    assert np.array_equal(detector.finish(), reference.finish())
    assert np.array_equal(np.concatenate(chunks), frames)


def test_keyframes_are_ascending_int32_frame_indices() -> None:
    keyframes = detect_keyframes(_moving_blobs())
    assert keyframes.dtype == np.int32
    assert np.all(np.diff(keyframes) > 0)
    assert keyframes.min() >= 0 and keyframes.max() < 150


def test_signal_holds_one_count_per_frame_starting_at_zero() -> None:
    detector = KeyframeDetector()
    detector.update(_moving_blobs(num_frames=9))
    signal = detector.signal()
    assert signal.shape == (9,) and signal[0] == 0 and np.all(signal[1:] > 0)


def test_frame_size_change_between_chunks_is_rejected() -> None:
    detector = KeyframeDetector()
    detector.update(np.zeros((2, 8, 8), dtype=np.uint8))
    with pytest.raises(ValueError, match="frame size changed"):
        detector.update(np.zeros((2, 8, 9), dtype=np.uint8))


def test_empty_chunk_is_ignored() -> None:
    detector = KeyframeDetector()
    detector.update(np.zeros((0, 8, 8, 3), dtype=np.uint8))
    assert detector.num_frames == 0 and detector.finish().size == 0


def test_same_frames_give_the_same_keyframes_every_time() -> None:
    frames = _moving_blobs(seed=3)
    assert np.array_equal(detect_keyframes(frames), detect_keyframes(frames.copy()))


def test_caller_may_overwrite_its_chunk_right_after_update() -> None:
    frames = _flash_video({20: 12, 50: 15, 80: 12})
    detector, buffer = KeyframeDetector(), np.empty((10, 40, 60), dtype=np.uint8)
    for start in range(0, len(frames), 10):
        buffer[:] = frames[start : start + 10]
        detector.update(buffer)  # a reader reusing one buffer: the next fill must not leak in
    assert detector.finish().tolist() == [20, 50, 80]
