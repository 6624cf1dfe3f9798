"""The reversed-video sanity check (paper section 4.3: Bowing reversed reads as Burpee).

A model that uses motion should change its mind when a video plays backwards, and its
explanation should change with it. Given the features of each video and of the same
video reversed (computed by the same preprocessing code), `compare_reversed` reports
how often the prediction changed, how many of the top-k concepts stayed, and, where
classes come in reversal pairs (DANCE-Synth's raise_arms / lower_arms), how often a
reversed video is predicted as its pair class, next to how often the forward video is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from dance.train import DanceModel

ArrayLike = torch.Tensor | np.ndarray


@dataclass(frozen=True)
class ReversedVideo:
    """One video's prediction and top concepts, forward and reversed."""

    video_id: str
    label: int
    forward: int
    reversed: int
    forward_top: tuple[int, ...]  # concept columns, most contributing first
    reversed_top: tuple[int, ...]


@dataclass(frozen=True)
class ReversalResult:
    """How predictions and explanations moved when the videos were played backwards."""

    videos: tuple[ReversedVideo, ...]
    changed: float  # share of videos whose prediction changed
    top_kept: float  # mean share of the forward top-k concepts still in the reversed top-k
    pair_videos: int  # videos whose class has a reversal partner
    pair_rate: float  # share of those predicted as the partner when reversed
    pair_rate_forward: float  # ... and when played forward (the baseline)


def compare_reversed(
    model: DanceModel,
    video_ids: Sequence[str],
    features: ArrayLike,
    reversed_features: ArrayLike,
    labels: ArrayLike,
    partners: Mapping[int, int] | None = None,
    top_k: int = 3,
) -> ReversalResult:
    """Predictions and top-k concepts of each video forward vs reversed (rows aligned)."""
    labels = np.asarray(labels).reshape(-1)
    if not len(video_ids) == len(features) == len(reversed_features) == len(labels):
        raise ValueError(
            f"{len(video_ids)} ids, {len(features)} forward rows, {len(reversed_features)} "
            f"reversed rows and {len(labels)} labels must be aligned one per video"
        )
    forward, forward_top = _predicted_with_top(model, features, top_k)
    backward, backward_top = _predicted_with_top(model, reversed_features, top_k)
    videos = tuple(
        ReversedVideo(video_id, int(label), int(f), int(b), tuple(ft), tuple(bt))
        for video_id, label, f, b, ft, bt in zip(
            video_ids, labels, forward, backward, forward_top.tolist(), backward_top.tolist(),
            strict=True,
        )
    )
    kept = [len(set(v.forward_top) & set(v.reversed_top)) / max(1, len(v.forward_top))
            for v in videos]
    partners = dict(partners or {})
    paired = [v for v in videos if v.label in partners]
    return ReversalResult(
        videos=videos,
        changed=float(np.mean(forward != backward)) if len(videos) else 0.0,
        top_kept=float(np.mean(kept)) if kept else 0.0,
        pair_videos=len(paired),
        pair_rate=_share(v.reversed == partners[v.label] for v in paired),
        pair_rate_forward=_share(v.forward == partners[v.label] for v in paired),
    )


def _predicted_with_top(
    model: DanceModel, features: ArrayLike, top_k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Predicted class per row and the columns of its top-k contributions."""
    with torch.no_grad():
        contributions = model.contributions(features)
        predicted = model.logits(features).argmax(dim=1)
        order = torch.argsort(contributions, dim=1, descending=True, stable=True)
    return predicted.numpy(), order[:, : min(top_k, order.shape[1])].numpy()


def _share(flags: Iterable[bool]) -> float:
    """Mean of an iterable of booleans (0 when empty)."""
    values = list(flags)
    return float(np.mean(values)) if values else 0.0
