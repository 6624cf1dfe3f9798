"""How good a trained dual encoder is: retrieval chance, and Eq. 3's ROC-AUC against truth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from dance.dual._loop import caption_pool
from dance.encoders import VideoTextEncoder

CONCEPT_KINDS = ("objects", "scenes")


def retrieval_chance(captions: Sequence[Sequence[str]]) -> float:
    """The video->caption accuracy of a random ranking: the mean share of the pool a video owns."""
    pool = caption_pool(captions)
    if not pool:
        return float("nan")
    return float(np.mean([len(set(own)) / len(pool) for own in captions]))


def concept_auc(videos: np.ndarray, texts: np.ndarray, truth: np.ndarray) -> list[float | None]:
    """Per concept: ROC-AUC of cos(video, text) against presence; None where it is undefined.

    videos (V, D) and texts (C, D) are L2-normalised rows, truth (V, C) is 0/1. A concept
    present in every video or in none has no AUC.
    """
    from sklearn.metrics import roc_auc_score

    scores = videos @ texts.T
    aucs: list[float | None] = []
    for column in range(truth.shape[1]):
        present = truth[:, column].astype(bool)
        if present.all() or not present.any():
            aucs.append(None)
        else:
            aucs.append(float(roc_auc_score(present, scores[:, column])))
    return aucs


def annotation_auc(
    encoder: VideoTextEncoder,
    clips: np.ndarray,
    annotations: Sequence[Mapping[str, Sequence[str] | None]],
    template: str,
) -> dict[str, dict]:
    """Eq. 3 scores ("A video of {concept}") against annotated presence, per concept kind.

    clips: (V, T, H, W, 3) uint8 dual-encoder clips; annotations: per video, the names of
    its objects and scenes. Returns, per kind, the mean AUC over concepts with one and the
    AUC of each concept.
    """
    videos = encoder.embed_videos(clips)
    result: dict[str, dict] = {}
    for kind in CONCEPT_KINDS:
        names = sorted({name for row in annotations for name in (row.get(kind) or [])})
        truth = np.array(
            [[name in set(row.get(kind) or []) for name in names] for row in annotations],
            dtype=np.float32,
        ).reshape(len(annotations), len(names))
        texts = encoder.embed_texts([template.format(concept=name) for name in names])
        aucs = concept_auc(videos, texts, truth)
        defined = [auc for auc in aucs if auc is not None]
        result[kind] = {
            "mean_auc": float(np.mean(defined)) if defined else None,
            "per_concept": dict(zip(names, aucs, strict=True)),
        }
    return result
