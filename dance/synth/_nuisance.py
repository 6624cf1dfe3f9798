"""Seeded nuisance: camera jitter, distractor shapes, sensor noise, brightness."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def camera_path(num_frames: int, max_px: int, rng: np.random.Generator) -> np.ndarray:
    """Integer crop offsets (T, 2) in [0, 2 * max_px]: a smoothed random walk (hand-held shake)."""
    if max_px == 0:
        return np.zeros((num_frames, 2), dtype=np.int64)
    steps = rng.normal(0.0, 0.6, size=(num_frames, 2))
    walk = np.cumsum(steps, axis=0)
    kernel = np.ones(5) / 5.0
    smooth = np.stack([np.convolve(walk[:, i], kernel, mode="same") for i in range(2)], axis=1)
    smooth -= smooth.mean(axis=0)
    return np.clip(np.round(smooth) + max_px, 0, 2 * max_px).astype(np.int64)


@dataclass(frozen=True)
class Distractor:
    """A coloured shape drifting across the background."""

    kind: str  # "circle" | "rect" | "triangle"
    color: tuple[int, int, int]
    start: tuple[float, float]
    velocity: tuple[float, float]
    size: float


def sample_distractors(
    count_max: int, height: int, width: int, rng: np.random.Generator
) -> list[Distractor]:
    """Up to `count_max` distractor shapes with random colour, path and size."""
    count = int(rng.integers(0, count_max + 1)) if count_max > 0 else 0
    out: list[Distractor] = []
    for _ in range(count):
        out.append(
            Distractor(
                kind=("circle", "rect", "triangle")[int(rng.integers(3))],
                color=tuple(int(v) for v in rng.integers(0, 256, size=3)),  # type: ignore[arg-type]
                start=(float(rng.uniform(0, width)), float(rng.uniform(0, height * 0.6))),
                velocity=(float(rng.uniform(-1.5, 1.5)), float(rng.uniform(-0.5, 0.5))),
                size=float(rng.uniform(0.03, 0.07) * min(height, width)),
            )
        )
    return out


def draw_distractors(img: np.ndarray, shapes: list[Distractor], frame: int) -> None:
    """Draw the distractors at their position in `frame`."""
    for d in shapes:
        x = d.start[0] + d.velocity[0] * frame
        y = d.start[1] + d.velocity[1] * frame
        s = d.size
        if d.kind == "circle":
            cv2.circle(img, (int(x), int(y)), int(s), d.color, -1, cv2.LINE_AA)
        elif d.kind == "rect":
            cv2.rectangle(img, (int(x - s), int(y - s * 0.6)), (int(x + s), int(y + s * 0.6)),
                          d.color, -1)  # fmt: skip
        else:
            pts = np.array([[x, y - s], [x - s, y + s], [x + s, y + s]], dtype=np.int32)
            cv2.fillPoly(img, [pts], d.color, cv2.LINE_AA)


class NoiseBank:
    """Gaussian sensor noise: one field twice the frame size, cropped at a random offset per frame.

    Drawing fresh normals every frame costs more than rendering the frame; shifted crops of
    one larger field look the same and keep the video deterministic.
    """

    def __init__(self, height: int, width: int, std: float, rng: np.random.Generator) -> None:
        """Draw the noise field for frames of (height, width)."""
        self._h, self._w, self._std = height, width, std
        self._rng = rng
        self._field = (
            np.round(rng.normal(0.0, std, size=(2 * height, 2 * width, 3))).astype(np.int16)
            if std > 0
            else None
        )

    def apply(self, img: np.ndarray) -> np.ndarray:
        """The frame with this frame's noise added (saturating at 0 and 255)."""
        if self._field is None:
            return img
        dy, dx = (int(v) for v in self._rng.integers(0, (self._h, self._w)))
        noise = self._field[dy : dy + self._h, dx : dx + self._w]
        return np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def apply_gain(img: np.ndarray, gain: float) -> np.ndarray:
    """The image with its brightness scaled by `gain`."""
    return np.clip(img.astype(np.float32) * gain, 0, 255).astype(np.uint8)
