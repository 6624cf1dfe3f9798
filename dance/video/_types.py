"""Plain value types: what a video is (VideoInfo) and a run of its frames (VideoChunk)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class VideoInfo:
    """Frame count, frame rate (frames per second) and frame size (pixels) of a video."""

    num_frames: int
    fps: float
    height: int
    width: int

    def __post_init__(self) -> None:
        for name in ("num_frames", "height", "width"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"VideoInfo.{name} must be a positive int, got {value!r}")
        if not self.fps > 0:
            raise ValueError(f"VideoInfo.fps must be positive, got {self.fps!r}")

    @property
    def duration_s(self) -> float:
        """Length in seconds: num_frames / fps."""
        return self.num_frames / self.fps


@dataclass(frozen=True)
class VideoChunk:
    """Consecutive frames: `frames` (T, H, W, 3) uint8 RGB, the first being frame `start`."""

    start: int
    frames: np.ndarray

    @property
    def stop(self) -> int:
        """Index one past the last frame of the chunk."""
        return self.start + int(self.frames.shape[0])
