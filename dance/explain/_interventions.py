"""Changing the model's mind without retraining (paper section 4.3).

- **Sample level**: set one concept's standardised activation in given videos to a value
  (0 = "as on an average training video") and predict again.
- **Class level**: set or shift W[c, k], the weight concept k carries into class c (the
  reference's edit is a shift by a margin). The edited model is a new model; saved, its
  bundle's JSON records every edit and its parent bundle's path and weights sha256, and
  the parent bundle is never written to.

`compare_predictions` counts what an edit did on a split: predictions fixed, broken,
unchanged and right, unchanged and wrong, and the accuracy before and after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from dance.errors import InputError
from dance.train import DanceModel

ArrayLike = torch.Tensor | np.ndarray


def concept_index(model: DanceModel, concept: str, concept_type: str | None = None) -> int:
    """The column of a concept named `concept` (of `concept_type`, when names repeat)."""
    matches = [
        k for k, (name, kind) in enumerate(zip(model.concept_names, model.concept_types,
                                                strict=True))
        if name == concept and (concept_type is None or kind == concept_type)
    ]
    if not matches:
        raise InputError(
            f"the model has no {concept_type + ' ' if concept_type else ''}concept named "
            f"{concept!r}; its concept "
            f"names are listed per type in its bundle's dance_model.json"
        )
    if len(matches) > 1:
        kinds = sorted({model.concept_types[k] for k in matches})
        raise InputError(
            f"{concept!r} names concepts of several types ({', '.join(kinds)}); say which "
            f"with the concept type"
        )
    return matches[0]


def class_index(model: DanceModel, class_name: str) -> int:
    """The index of a class by name."""
    if class_name not in model.class_names:
        raise InputError(f"the model has no class {class_name!r}; its classes: "
                         f"{', '.join(model.class_names[:20])}")
    return model.class_names.index(class_name)


def logits_with_activation(
    model: DanceModel, features: ArrayLike, concept: int, value: float
) -> torch.Tensor:
    """Sample-level edit: logits (N, C) with concept `concept`'s standardised activation set."""
    with torch.no_grad():
        z = model.standardized(features).clone()
        z[:, concept] = value
        return model.logits_from_standardized(z)


@dataclass(frozen=True)
class ClassEdit:
    """W[class, concept] set to `value` or moved by `shift` (exactly one of them)."""

    class_name: str
    concept: str
    concept_type: str | None = None
    value: float | None = None
    shift: float | None = None

    def __post_init__(self) -> None:
        if (self.value is None) == (self.shift is None):
            raise InputError(
                f"an edit of {self.class_name!r} / {self.concept!r} needs exactly one of "
                f"value (set the weight) and shift (add to it)"
            )


def edit_classes(model: DanceModel, edits: Sequence[ClassEdit]) -> DanceModel:
    """A new model with the class-level edits applied; `model` is left unchanged."""
    if not edits:
        raise InputError("no edits given: name at least one class, concept and value or shift")
    weight = model.final.weight.detach().clone()
    applied = []
    for edit in edits:
        c = class_index(model, edit.class_name)
        k = concept_index(model, edit.concept, edit.concept_type)
        before = float(weight[c, k])
        weight[c, k] = edit.value if edit.value is not None else before + edit.shift
        applied.append({**asdict(edit), "concept_type": model.concept_types[k],
                        "weight_before": before, "weight_after": float(weight[c, k])})
    history = list(model.metadata.get("edits", []))
    history.append({"parent": model.source, "edits": applied})
    names = model.concept_names_by_type
    return DanceModel(
        kind=model.kind,
        concept_weights={t: layer.weight for t, layer in model.concepts.items()},
        mean=model.standardize.mean, std=model.standardize.std,
        final_weight=weight, final_bias=model.final.bias,
        concept_names=names,
        class_names=model.class_names,
        concept_sources=model.concept_sources,
        metadata={**model.metadata, "edits": history},
    )


@dataclass(frozen=True)
class EditOutcome:
    """What an edit did to the predictions of a set of videos."""

    videos: int
    fixed: int  # wrong before, right after
    broken: int  # right before, wrong after
    unchanged_correct: int
    unchanged_wrong: int  # wrong before and after (the prediction may still have moved)
    accuracy_before: float
    accuracy_after: float

    @property
    def accuracy_change(self) -> float:
        """accuracy_after - accuracy_before."""
        return self.accuracy_after - self.accuracy_before


def compare_predictions(
    labels: ArrayLike, before: ArrayLike, after: ArrayLike
) -> EditOutcome:
    """Counts of fixed, broken and unchanged predictions between two sets of predictions."""
    labels, before, after = (np.asarray(a).reshape(-1) for a in (labels, before, after))
    if not labels.shape == before.shape == after.shape:
        raise ValueError(f"labels {labels.shape}, before {before.shape}, after {after.shape}")
    right_before, right_after = before == labels, after == labels
    count = int(labels.size)
    return EditOutcome(
        videos=count,
        fixed=int((~right_before & right_after).sum()),
        broken=int((right_before & ~right_after).sum()),
        unchanged_correct=int((right_before & right_after).sum()),
        unchanged_wrong=int((~right_before & ~right_after).sum()),
        accuracy_before=float(right_before.mean()) if count else 0.0,
        accuracy_after=float(right_after.mean()) if count else 0.0,
    )
