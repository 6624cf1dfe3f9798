"""Keyframes and key clips (docs/method.md section 1), streamed over one decode pass.

Usage: make a `KeyframeDetector(KeyframeConfig())`, call `update(chunk.frames)` for each
chunk of `reader.iter_chunks()`, then `keyframes = detector.finish()` and
`clip_windows(keyframes, detector.num_frames, ClipConfig())` for the (S, L) frame indices
of the key clips. `detect_keyframes(frames)` does the same for frames held in memory.
"""

from dance.keyframes._baseline import polynomial_baseline, remove_baseline
from dance.keyframes._clips import clip_frames, clip_windows, select_keyframes
from dance.keyframes._detector import KeyframeDetector, detect_keyframes
from dance.keyframes._peaks import find_peaks
from dance.keyframes._signal import brightened_pixel_counts

__all__ = [
    "KeyframeDetector",
    "brightened_pixel_counts",
    "clip_frames",
    "clip_windows",
    "detect_keyframes",
    "find_peaks",
    "polynomial_baseline",
    "remove_baseline",
    "select_keyframes",
]
