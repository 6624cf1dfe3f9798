"""Do the explanations point at the real causes? Two checks of a trained model.

- **Fidelity against ground truth** (DANCE-Synth): every class records the factor that
  separates it from its pair (motion, object or scene). A faithful explanation of a
  correctly predicted video puts concepts of that type among its top contributions;
  `explanation_fidelity` is the share of top-k contributions whose type matches, next to
  the share expected if the top-k were drawn at random from the class's non-zero weights.
- **Deletion curve** (any dataset): zero the standardised activation (set it to the
  training mean) of each video's k most contributing concepts and predict again. If the
  explanation names what the decision rests on, accuracy falls faster than when k random
  concepts are zeroed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from dance.explain._contributions import VideoExplanation
from dance.train import DanceModel

ArrayLike = torch.Tensor | np.ndarray


@dataclass(frozen=True)
class FidelityResult:
    """Share of top-k contributions whose type is the class's separating factor."""

    videos: int
    contributions: int  # top-k contributions counted (positive ones only)
    matching: int
    by_factor: dict[str, dict[str, float]]  # factor -> videos, share, chance
    chance: float  # expected share for random picks among the class's non-zero weights

    @property
    def share(self) -> float:
        """matching / contributions (0 when nothing was counted)."""
        return self.matching / self.contributions if self.contributions else 0.0


def explanation_fidelity(
    model: DanceModel,
    explanations: Sequence[VideoExplanation],
    labels: ArrayLike,
    factors: Mapping[str, str],
) -> FidelityResult:
    """Fidelity of the explanations of correctly predicted videos, by separating factor.

    `factors` maps a class name to the concept type that separates it from its pair;
    classes not in it (mixed classes) and wrongly predicted videos are left out. Only
    contributions that pushed the class up (> 0) count as explanation.
    """
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(explanations):
        raise ValueError(f"{len(labels)} labels for {len(explanations)} explanations")
    types = np.asarray(model.concept_types)
    weight = model.final.weight.detach().numpy()
    per_factor: dict[str, list[float]] = {}
    counted = matching = 0
    chance_sum = 0.0
    for explanation, label in zip(explanations, labels, strict=True):
        factor = factors.get(explanation.class_name)
        if factor is None or explanation.class_index != int(label):
            continue
        top = [part for part in explanation.top if part.contribution > 0]
        if not top:
            continue
        hits = sum(part.type == factor for part in top)
        nonzero = weight[explanation.class_index] != 0
        chance = float((types[nonzero] == factor).mean()) if nonzero.any() else 0.0
        counted += len(top)
        matching += hits
        chance_sum += chance * len(top)
        stats = per_factor.setdefault(factor, [0, 0, 0, 0.0])
        stats[0] += 1
        stats[1] += len(top)
        stats[2] += hits
        stats[3] += chance * len(top)
    return FidelityResult(
        videos=int(sum(s[0] for s in per_factor.values())),
        contributions=counted,
        matching=matching,
        by_factor={
            factor: {"videos": s[0], "share": s[2] / s[1], "chance": s[3] / s[1]}
            for factor, s in sorted(per_factor.items())
        },
        chance=chance_sum / counted if counted else 0.0,
    )


@dataclass(frozen=True)
class DeletionCurve:
    """Accuracy with each video's top-k concepts zeroed, and with k random ones."""

    ks: tuple[int, ...]
    top: tuple[float, ...]
    random: tuple[float, ...]  # mean over `repeats` random draws
    videos: int


def deletion_curve(
    model: DanceModel,
    features: ArrayLike,
    labels: ArrayLike,
    ks: Sequence[int] = (0, 1, 2, 3, 5, 10),
    repeats: int = 5,
    seed: int = 0,
) -> DeletionCurve:
    """Accuracy as each video's k most contributing concepts (vs k random) are zeroed."""
    labels_t = torch.as_tensor(np.array(labels).reshape(-1), dtype=torch.long)
    with torch.no_grad():
        z = model.standardized(features)
        predicted = model.logits_from_standardized(z).argmax(dim=1)
        # the concepts each video's own explanation ranks first (its predicted class)
        ranking = torch.argsort(z * model.final.weight[predicted], dim=1, descending=True,
                                stable=True)
    if len(labels_t) != len(z):
        raise ValueError(f"{len(labels_t)} labels for {len(z)} feature rows")
    generator = torch.Generator().manual_seed(seed)
    top_acc, random_acc = [], []
    for k in ks:
        k = min(int(k), z.shape[1])
        top_acc.append(_accuracy_without(model, z, ranking[:, :k], labels_t))
        draws = [
            _accuracy_without(
                model, z, torch.rand(z.shape, generator=generator).argsort(dim=1)[:, :k], labels_t
            )
            for _ in range(repeats)
        ]
        random_acc.append(float(np.mean(draws)))
    return DeletionCurve(tuple(int(k) for k in ks), tuple(top_acc), tuple(random_acc), len(z))


def _accuracy_without(
    model: DanceModel, z: torch.Tensor, columns: torch.Tensor, labels: torch.Tensor
) -> float:
    """Accuracy with each row's given concept columns set to 0 (the training mean)."""
    if len(z) == 0:
        return 0.0
    edited = z.clone()
    edited.scatter_(1, columns, 0.0)
    with torch.no_grad():
        predicted = model.logits_from_standardized(edited).argmax(dim=1)
    return float((predicted == labels).double().mean())
