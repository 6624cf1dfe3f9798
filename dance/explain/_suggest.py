"""Class-level edits suggested from validation data (the paper's Volleyball Spiking edit).

In the paper a user sees that misclassified Volleyball Spiking videos strongly show a
concept the class gives zero weight, and turns that weight on. `suggest_class_edits`
automates the search, on validation videos only (no test or shifted video is looked at):

1. for each class c, its misclassified validation videos;
2. candidates: concepts with W[c, k] = 0 whose mean standardised activation on those
   videos is at least `min_activation`, ranked by how much more active they are there
   than on the other classes' validation videos (specific to c, not active everywhere);
3. each candidate's edit sets W[c, k] to the class's largest weight (the concept becomes
   as strong a piece of evidence as the class's strongest one), and is kept only if
   validation accuracy does not drop (greedy, in ranked order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dance.explain._interventions import ClassEdit, edit_classes
from dance.train import DanceModel

ArrayLike = torch.Tensor | np.ndarray


@dataclass(frozen=True)
class SuggestedEdit:
    """A class-level edit and the validation evidence for it."""

    edit: ClassEdit
    misclassified_videos: int  # validation videos of the class predicted as another
    activation: float  # mean standardised activation on them
    elsewhere: float  # mean standardised activation on other classes' validation videos
    val_accuracy_after: float


def suggest_class_edits(
    model: DanceModel,
    features: ArrayLike,
    labels: ArrayLike,
    per_class: int = 2,
    min_activation: float = 0.5,
) -> list[SuggestedEdit]:
    """Zero-weight concepts strongly active on a class's misclassified validation videos."""
    labels = np.asarray(labels).reshape(-1)
    with torch.no_grad():
        z = model.standardized(features).double().numpy()
    if len(labels) != len(z):
        raise ValueError(f"{len(labels)} labels for {len(z)} feature rows")
    weight = model.final.weight.detach().double().numpy()
    accepted: list[SuggestedEdit] = []
    current = model
    accuracy = _accuracy(current, features, labels)
    for c, name in enumerate(model.class_names):
        predicted = current.logits(features).argmax(1).numpy()
        missed = (labels == c) & (predicted != c)
        others = labels != c
        if not missed.any() or not others.any() or weight[c].max() <= 0:
            continue
        active = z[missed].mean(axis=0)
        elsewhere = z[others].mean(axis=0)
        candidates = np.flatnonzero((weight[c] == 0) & (active >= min_activation))
        ranked = candidates[np.argsort(-(active - elsewhere)[candidates], kind="stable")]
        taken = 0
        for k in ranked:
            if taken == per_class:
                break
            if active[k] - elsewhere[k] <= 0:
                break
            edit = ClassEdit(name, model.concept_names[k], model.concept_types[k],
                             value=float(weight[c].max()))
            trial = edit_classes(current, [edit])
            trial_accuracy = _accuracy(trial, features, labels)
            if trial_accuracy < accuracy:
                continue
            current, accuracy, taken = trial, trial_accuracy, taken + 1
            accepted.append(SuggestedEdit(edit, int(missed.sum()), float(active[k]),
                                          float(elsewhere[k]), trial_accuracy))
    return accepted


def _accuracy(model: DanceModel, features: ArrayLike, labels: np.ndarray) -> float:
    """Top-1 accuracy of `model` on the rows."""
    if len(labels) == 0:
        return 0.0
    with torch.no_grad():
        return float((model.logits(features).argmax(1).numpy() == labels).mean())
