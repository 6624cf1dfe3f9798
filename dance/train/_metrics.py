"""Classification metrics of one split: top-1, top-5, per-class accuracy, confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def split_metrics(
    labels: np.ndarray, logits: np.ndarray, class_names: Sequence[str], top_k: int = 5
) -> dict[str, Any]:
    """Top-1, top-k, per-class accuracy and the confusion matrix (rows: true, cols: predicted)."""
    labels = np.asarray(labels, dtype=np.int64)
    logits = np.asarray(logits, dtype=np.float64)
    count, num_classes = len(labels), len(class_names)
    if logits.shape != (count, num_classes):
        raise ValueError(f"logits have shape {logits.shape}; expected ({count}, {num_classes})")
    if count == 0:
        return {"num_videos": 0, "top1": None, f"top{top_k}": None, "per_class": {},
                "confusion": [[0] * num_classes for _ in range(num_classes)]}
    predicted = logits.argmax(axis=1)
    k = min(top_k, num_classes)
    # stable: among equal logits the lower class index ranks first, as argmax does
    ranked = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = {}
    for index, name in enumerate(class_names):
        total = int(confusion[index].sum())
        per_class[name] = {
            "videos": total,
            "accuracy": float(confusion[index, index] / total) if total else None,
        }
    return {
        "num_videos": count,
        "top1": float((predicted == labels).mean()),
        f"top{top_k}": float((ranked == labels[:, None]).any(axis=1).mean()),
        "per_class": per_class,
        "confusion": confusion.tolist(),
    }


def most_confused(confusion: Sequence[Sequence[int]], class_names: Sequence[str]) -> list[dict]:
    """Off-diagonal cells of a confusion matrix, largest first (true, predicted, count)."""
    cells = [
        {"true": class_names[t], "predicted": class_names[p], "videos": int(n)}
        for t, row in enumerate(confusion)
        for p, n in enumerate(row)
        if t != p and n
    ]
    return sorted(cells, key=lambda c: (-c["videos"], c["true"], c["predicted"]))
