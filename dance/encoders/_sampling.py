"""Which frames of a video feed the backbone and the dual encoder (docs/method.md sections 5, 6)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # annotations only: the encoders import without the whole config package
    from dance.config import BackboneConfig, DualEncoderConfig


def _segment_middles(num_frames_in_video: int, count: int) -> np.ndarray:
    """Split [0, n) into `count` equal segments and take each one's middle frame.

    Index i is floor((i + 0.5) * n / count), computed in integers so it is exact. A video
    shorter than `count` repeats its frames evenly (each about count / n times).
    """
    i = np.arange(count, dtype=np.int64)
    return (2 * i + 1) * num_frames_in_video // (2 * count)


def _stride_around_middle(num_frames_in_video: int, count: int, stride: int) -> np.ndarray:
    """`count` frames `stride` apart, the window centred in the video.

    The window spans (count - 1) * stride + 1 frames and starts at (n - span) // 2. When it
    does not fit, the stride shrinks to the largest one that fits (so a short video is
    still covered end to end, never frozen on a clamped last frame); when even stride 1
    does not fit (n < count) the frames are repeated evenly as segment middles.
    """
    fitting = (num_frames_in_video - 1) // (count - 1) if count > 1 else stride
    step = min(stride, fitting)
    if step < 1:
        return _segment_middles(num_frames_in_video, count)
    span = (count - 1) * step + 1
    start = (num_frames_in_video - span) // 2
    return start + step * np.arange(count, dtype=np.int64)


def backbone_frame_indices(num_frames_in_video: int, config: BackboneConfig) -> np.ndarray:
    """Frame indices of the backbone clip: (config.num_frames,) int64, ascending, in range.

    - ``segment_middles`` (KTH, Penn Action, HAA): n frames split into num_frames equal
      segments; index i = floor((i + 0.5) * n / num_frames). Short videos repeat frames.
    - ``stride_around_middle`` (UCF-101): num_frames frames `stride` apart, centred in the
      video (start = (n - span) // 2, span = (num_frames - 1) * stride + 1); a video too
      short for the stride uses the largest stride that fits, and one shorter than
      num_frames falls back to segment middles.
    """
    if isinstance(num_frames_in_video, bool) or not isinstance(
        num_frames_in_video, (int, np.integer)
    ):
        raise TypeError(
            f"num_frames_in_video must be an int, got {type(num_frames_in_video).__name__}"
        )
    if num_frames_in_video < 1:
        raise ValueError(
            f"num_frames_in_video must be >= 1, got {num_frames_in_video}: a video with no "
            "decoded frames has no backbone clip; mark it failed before sampling"
        )
    n = int(num_frames_in_video)
    if config.sampling == "segment_middles":
        return _segment_middles(n, config.num_frames)
    return _stride_around_middle(n, config.num_frames, config.stride)


def dual_frame_indices(backbone_indices: np.ndarray, config: DualEncoderConfig) -> np.ndarray:
    """Frames of the dual-encoder clip, taken from the backbone clip: (config.num_frames,) int64.

    Position i of the backbone clip is floor(i * len / num_frames); for the paper's 16 -> 8
    this is every second frame starting at the first (positions 0, 2, ..., 14). A
    num_frames larger than the backbone clip repeats frames evenly.
    """
    indices = np.asarray(backbone_indices)
    if indices.ndim != 1 or indices.size == 0:
        raise ValueError(
            f"backbone_indices must be a non-empty 1-D array of frame indices, got shape "
            f"{indices.shape}; pass the output of backbone_frame_indices"
        )
    if not np.issubdtype(indices.dtype, np.integer):
        raise TypeError(
            f"backbone_indices must hold integers, got dtype {indices.dtype}; pass the output "
            "of backbone_frame_indices"
        )
    positions = np.arange(config.num_frames, dtype=np.int64) * indices.size // config.num_frames
    return indices[positions].astype(np.int64)
