"""The fused blur + compare + count kernel gives OpenCV's bytes and counts exactly."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from dance.config import KeyframeConfig
from dance.keyframes import KeyframeDetector, _fused_count, brightened_pixel_counts
from dance.keyframes._fused_count import (
    count_increases,
    fused_count_supported,
    opencv_fixed_point_taps,
)
from dance.keyframes._signal import BrightenedPixelCounter

FUSED = KeyframeConfig()
PER_OPERATION = KeyframeConfig(fused_blur=False)


def _opencv_counts(gray: np.ndarray, previous: np.ndarray | None) -> tuple[list[int], np.ndarray]:
    """The reference: cv2.GaussianBlur 9x9, then count pixels brighter than the frame before."""
    counts = []
    for frame in gray:
        blurred = cv2.GaussianBlur(frame, (9, 9), 0)
        counts.append(0 if previous is None else int(np.count_nonzero(blurred > previous)))
        previous = blurred
    assert previous is not None
    return counts, previous


def _noisy_scene(num_frames: int, height: int, width: int, seed: int) -> np.ndarray:
    """Gray frames: a smooth drifting gradient, sensor-like noise and saturated patches."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    frames = []
    for t in range(num_frames):
        base = 128 + 100 * np.sin((x + 3 * t) / 9.0) * np.cos((y - 2 * t) / 7.0)
        frame = base + rng.normal(0, 6, size=(height, width))
        frame[rng.random((height, width)) < 0.02] = 255
        frames.append(np.clip(np.rint(frame), 0, 255).astype(np.uint8))
    return np.stack(frames)


def test_default_blur_is_opencvs_fixed_point_kernel() -> None:
    taps = opencv_fixed_point_taps(9, 0.0)
    assert taps == (4, 13, 30, 51, 60, 51, 30, 13, 4)


def test_fused_kernel_is_used_for_the_default_blur_on_this_opencv() -> None:
    assert fused_count_supported(9, 0.0)


@pytest.mark.parametrize(("ksize", "sigma"), [(7, 0.0), (9, 2.5), (11, 0.0), (1, 0.0)])
def test_other_blurs_are_not_claimed_by_the_fused_kernel(ksize: int, sigma: float) -> None:
    assert not fused_count_supported(ksize, sigma)


@pytest.mark.parametrize(("height", "width"), [(5, 5), (5, 17), (31, 5), (48, 64), (97, 131)])
def test_fused_blur_and_counts_equal_opencv_on_every_frame_size(height: int, width: int) -> None:
    gray = _noisy_scene(6, height, width, seed=height * width)
    blurred = (np.empty((height, width), np.uint8), np.empty((height, width), np.uint8))
    counts, last = count_increases(gray, None, blurred, 9, 0.0)
    expected_counts, expected_last = _opencv_counts(gray, None)
    assert counts.tolist() == expected_counts
    assert np.array_equal(last, expected_last)


def test_fused_first_frame_compares_with_the_previous_chunks_last_frame() -> None:
    gray = _noisy_scene(5, 40, 52, seed=3)
    previous = cv2.GaussianBlur(gray[0], (9, 9), 0)
    blurred = (np.empty((40, 52), np.uint8), previous.copy())  # may share the second buffer
    counts, _ = count_increases(gray[1:], blurred[1], blurred, 9, 0.0)
    assert counts.tolist() == _opencv_counts(gray[1:], previous)[0]


def test_fused_counts_handle_black_and_white_extremes() -> None:
    gray = np.zeros((4, 20, 30), dtype=np.uint8)
    gray[1] = 255  # everything brightens at once, at the top of the range
    gray[2, ::2, ::3] = 255
    blurred = (np.empty((20, 30), np.uint8), np.empty((20, 30), np.uint8))
    counts, last = count_increases(gray, None, blurred, 9, 0.0)
    expected_counts, expected_last = _opencv_counts(gray, None)
    assert counts.tolist() == expected_counts == [0, 600, 0, 0]
    assert np.array_equal(last, expected_last)


@pytest.mark.parametrize("size", [(3, 40), (40, 4), (1, 1)])
def test_frames_smaller_than_the_kernel_reach_give_opencvs_counts(size: tuple[int, int]) -> None:
    gray = _noisy_scene(4, *size, seed=5)
    counts, last = brightened_pixel_counts(gray, None, FUSED)
    expected_counts, expected_last = _opencv_counts(gray, None)
    assert counts.tolist() == expected_counts
    assert np.array_equal(last, expected_last)


def test_counter_gives_the_same_counts_with_and_without_fusing_across_chunks() -> None:
    gray = _noisy_scene(23, 36, 44, seed=7)
    fused, per_operation = BrightenedPixelCounter(FUSED), BrightenedPixelCounter(PER_OPERATION)
    for start in range(0, 23, 5):
        chunk = gray[start : start + 5]
        assert fused.count(chunk).tolist() == per_operation.count(chunk).tolist()
        assert np.array_equal(fused.last_blurred, per_operation.last_blurred)


def test_keyframes_are_the_same_with_and_without_fusing() -> None:
    gray = _noisy_scene(60, 30, 40, seed=11)
    gray[[12, 31, 47]] = np.clip(gray[[12, 31, 47]].astype(int) + 60, 0, 255).astype(np.uint8)
    indices = []
    for config in (FUSED, PER_OPERATION):
        detector = KeyframeDetector(config)
        for start in range(0, 60, 16):
            detector.update(gray[start : start + 16])
        indices.append(detector.finish().tolist())
    assert indices[0] == indices[1]
    assert {12, 31, 47} <= set(indices[0])


def test_an_opencv_with_unknown_gray_rounding_falls_back_to_cv2_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # What a future OpenCV that rounds RGB2GRAY differently looks like to the start-up check.
    cvt_color = cv2.cvtColor
    monkeypatch.setattr(cv2, "cvtColor", lambda *a, **k: np.minimum(cvt_color(*a, **k), 254))
    _fused_count.gray_rule_for.cache_clear()
    try:
        assert not fused_count_supported(9, 0.0)
        assert "no known RGB2GRAY rule matches it" in caplog.text
        rgb = _noisy_scene(5, 20, 30, seed=2)[..., None].repeat(3, axis=3)
        gray = np.stack([cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in rgb])
        assert brightened_pixel_counts(rgb, None, FUSED)[0].tolist() == _opencv_counts(gray, None)[0]
    finally:
        _fused_count.gray_rule_for.cache_clear()


def test_importing_keyframes_does_not_load_numba() -> None:
    # numba and LLVM cost a process about 120 MiB: only a detector that counts loads them.
    code = "import sys, dance.keyframes; print('numba' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
