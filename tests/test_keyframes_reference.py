"""Our keyframes equal a plain per-frame re-statement of the reference on every real video.

The reference (docs/method.md section 1) decodes with cv2.VideoCapture (BGR), converts BGR2GRAY,
blurs 9x9, counts non-zeros of a saturating subtract, removes an iterative polyfit
baseline and takes peakutils-style peaks. It is written out below as simply as possible,
one frame and one sample at a time, and compared with the vectorised streaming detector.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from dance.config import KeyframeConfig
from dance.keyframes import KeyframeDetector, polynomial_baseline
from dance.video import open_video

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm"}
CHUNK = 64

pytestmark = pytest.mark.slow


def reference_counts(bgr_frames: Iterable[np.ndarray]) -> list[int]:
    """d_t per frame: blurred gray pixels brighter than in the previous frame (d_0 = 0)."""
    counts, last = [], None
    for frame in bgr_frames:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        blurred = cv2.GaussianBlur(gray, (9, 9), 0.0)
        if last is None:
            last = blurred
        counts.append(cv2.countNonZero(cv2.subtract(blurred, last)))
        last = blurred
    return counts


def reference_baseline(signal: list[int], degree: int = 2) -> np.ndarray:
    """Iterative polyfit baseline: fit, clip the signal to the fit, until coefficients settle."""
    y = np.array(signal, dtype=np.float64)
    x = np.linspace(0.0, np.abs(y).max() ** (1.0 / (degree + 1)), len(y))
    coeffs = np.ones(degree + 1)
    base = y.copy()
    for _ in range(100):
        new_coeffs = np.polyfit(x, y, degree)
        if np.linalg.norm(new_coeffs - coeffs) / np.linalg.norm(coeffs) < 1e-3:
            break
        coeffs = new_coeffs
        base = np.polyval(coeffs, x)
        y = np.minimum(y, base)
    return base


def reference_peaks(y: list[float], threshold: float = 0.3) -> list[int]:
    """Samples where the slope turns from rising to falling above the relative threshold."""
    level = threshold * (max(y) - min(y)) + min(y)
    slopes = [y[i + 1] - y[i] for i in range(len(y) - 1)]
    if all(slope == 0 for slope in slopes):
        return []
    filled = list(slopes)
    i = 0
    while i < len(slopes):
        if slopes[i] != 0:
            i += 1
            continue
        j = i
        while j + 1 < len(slopes) and slopes[j + 1] == 0:
            j += 1
        for k in range(i, j + 1):  # a flat run: first half rises, second half falls
            if i == 0:
                filled[k] = slopes[j + 1]
            elif j == len(slopes) - 1:
                filled[k] = slopes[i - 1]
            else:
                filled[k] = slopes[i - 1] if k < (i + j) / 2 else slopes[j + 1]
        i = j + 1
    return [t for t in range(1, len(y) - 1) if filled[t - 1] > 0 and filled[t] < 0 and y[t] > level]


def reference_keyframes(counts: list[int]) -> list[int]:
    """The reference's keyframe indices for a count signal."""
    if len(counts) < 3:
        return []
    corrected = np.array(counts, dtype=np.float64) - reference_baseline(counts)
    return reference_peaks(corrected.tolist())


def _videos(folder: Path) -> list[Path]:
    videos = sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    assert videos, f"no videos in {folder}"
    return videos


def _opencv_frames(path: Path) -> Iterator[np.ndarray]:
    """BGR frames as the reference reads them: cv2.VideoCapture, one at a time."""
    capture = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield frame
    finally:
        capture.release()


def _swap_red_blue(frames: np.ndarray) -> np.ndarray:
    """RGB <-> BGR for a (T,H,W,3) stack, in one cv2 call over the frames stacked tall."""
    t, h, w, _ = frames.shape
    tall = np.ascontiguousarray(frames).reshape(t * h, w, 3)
    return cv2.cvtColor(tall, cv2.COLOR_RGB2BGR).reshape(t, h, w, 3)


def _fed_as_rgb_chunks(
    detector: KeyframeDetector, bgr_frames: Iterable[np.ndarray]
) -> Iterator[np.ndarray]:
    """Pass BGR frames through unchanged, giving the detector each CHUNK of them as RGB."""
    pending: list[np.ndarray] = []
    for frame in bgr_frames:
        pending.append(frame)
        if len(pending) == CHUNK:
            detector.update(_swap_red_blue(np.stack(pending)))
            pending.clear()
        yield frame
    if pending:
        detector.update(_swap_red_blue(np.stack(pending)))


def _fed_as_bgr_frames(
    detector: KeyframeDetector, rgb_chunks: Iterable[np.ndarray]
) -> Iterator[np.ndarray]:
    """Give the detector each RGB chunk, then yield its frames as BGR for the reference."""
    for chunk in rgb_chunks:
        detector.update(chunk)
        yield from _swap_red_blue(chunk)


def _assert_same_as_reference(detector: KeyframeDetector, counts: list[int], name: str) -> None:
    expected = reference_keyframes(counts)
    assert detector.signal().tolist() == counts, name
    assert detector.finish().tolist() == expected, name
    assert len(expected) > 0, f"{name}: a real video should have keyframes"


def test_keyframes_equal_the_reference_on_opencv_decoded_videos(shared_data: Path) -> None:
    for path in _videos(shared_data):
        detector = KeyframeDetector()
        counts = reference_counts(_fed_as_rgb_chunks(detector, _opencv_frames(path)))
        _assert_same_as_reference(detector, counts, path.name)


def test_keyframes_equal_the_reference_on_frames_from_dance_video(shared_data: Path) -> None:
    # dance.video and cv2.VideoCapture may differ by a few levels on some codecs
    # (MS-MPEG4), so here the reference loop sees exactly the frames our reader decoded.
    for path in _videos(shared_data):
        detector = KeyframeDetector()
        with open_video(path) as reader:
            chunks = (chunk.frames for chunk in reader.iter_chunks(chunk_size=CHUNK))
            counts = reference_counts(_fed_as_bgr_frames(detector, chunks))
            assert detector.num_frames == reader.info.num_frames, path.name
        _assert_same_as_reference(detector, counts, path.name)


def test_baseline_equals_the_reference_polyfit_loop_on_a_real_signal(shared_data: Path) -> None:
    smallest = min(_videos(shared_data), key=lambda path: path.stat().st_size)
    counts = reference_counts(_opencv_frames(smallest))
    ours = polynomial_baseline(np.array(counts), KeyframeConfig())
    assert np.allclose(ours, reference_baseline(counts), rtol=1e-9, atol=1e-6)
