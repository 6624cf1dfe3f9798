"""Keyframes and key clips (REFERENCE.md 1), streamed over one decode pass.

    detector = KeyframeDetector(KeyframeConfig())
    for chunk in reader.iter_chunks():
        detector.update(chunk.frames)
    windows = clip_windows(detector.finish(), detector.num_frames, ClipConfig())
"""

from dance.keyframes._baseline import polynomial_baseline, remove_baseline
from dance.keyframes._clips import clip_windows, select_keyframes
from dance.keyframes._detector import KeyframeDetector, detect_keyframes
from dance.keyframes._peaks import find_peaks
from dance.keyframes._signal import brightened_pixel_counts

__all__ = [
    "KeyframeDetector",
    "brightened_pixel_counts",
    "clip_windows",
    "detect_keyframes",
    "find_peaks",
    "polynomial_baseline",
    "remove_baseline",
    "select_keyframes",
]
