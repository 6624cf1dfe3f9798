"""Keypoint error of predicted poses against ground truth (DANCE-Synth), in pixels and heights."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from dance.pose.skeleton import NUM_COCO17_JOINTS


def keypoint_errors(pred: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-joint errors of (N, 17, >=2) predictions vs (N, 17, 3) truth: (pixels, / height).

    A joint counts where the truth marks it visible (score > 0) and the prediction is
    finite; other entries are NaN. The height is the vertical extent of the frame's
    visible true joints; frames with fewer than 2 visible joints give NaN normalised errors.
    """
    pred = np.asarray(pred, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    if pred.ndim != 3 or pred.shape[1] != NUM_COCO17_JOINTS or pred.shape[2] < 2:
        raise ValueError(f"pred must be (N, 17, 2 or 3), got {pred.shape}")
    if truth.shape != (pred.shape[0], NUM_COCO17_JOINTS, 3):
        raise ValueError(f"truth must be (N, 17, 3) matching pred's N, got {truth.shape}")
    visible = truth[..., 2] > 0
    usable = visible & np.isfinite(pred[..., :2]).all(axis=2)
    pixels = np.hypot(pred[..., 0] - truth[..., 0], pred[..., 1] - truth[..., 1])
    pixels = np.where(usable, pixels, np.nan)
    ys = np.where(visible, truth[..., 1], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames: height NaN below
        height = np.nanmax(ys, axis=1) - np.nanmin(ys, axis=1)
    height = np.where((visible.sum(axis=1) >= 2) & (height > 0), height, np.nan)
    return pixels, pixels / height[:, None]


@dataclass
class KeypointErrorMeter:
    """Running mean of keypoint errors over many clips (pixels and person heights)."""

    pixel_sum: float = 0.0
    pixel_count: int = 0
    normalised_sum: float = 0.0
    normalised_count: int = 0
    clips: int = 0
    missing_truth: list[str] = field(default_factory=list)

    def add(self, pred: np.ndarray, truth: np.ndarray) -> None:
        """Add one clip's (L, 17, 3) predictions and truth."""
        pixels, normalised = keypoint_errors(pred, truth)
        finite_px, finite_norm = pixels[np.isfinite(pixels)], normalised[np.isfinite(normalised)]
        self.pixel_sum += float(finite_px.sum())
        self.pixel_count += int(finite_px.size)
        self.normalised_sum += float(finite_norm.sum())
        self.normalised_count += int(finite_norm.size)
        self.clips += 1

    def result(self) -> dict[str, float | int | None]:
        """Mean pixel and normalised error (None without joints), and the clips scored."""
        return {
            "mean_px": self.pixel_sum / self.pixel_count if self.pixel_count else None,
            "mean_normalised": (
                self.normalised_sum / self.normalised_count if self.normalised_count else None
            ),
            "clips": self.clips,
            "joints": self.pixel_count,
        }
