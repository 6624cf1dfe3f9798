"""The two concept cuts of Label-free CBM, applied to object and scene concepts.

- Clip cut (before the concept layer is trained): a concept is dropped when the mean of
  its top-k pseudo labels over the training videos is <= the threshold (k 5, threshold
  0.2): no training video shows it clearly, so no layer could learn it.
- Interpretability cut (after training): a concept is dropped when the cos^3 similarity
  between its learned activation and its pseudo labels on the validation videos is <= the
  threshold (0.3): the layer did not learn it faithfully.

Both compare with ``<=``, as the reference: a value equal to the threshold is dropped. A
value that is not a number is dropped too (it is not above the threshold). Each cut
returns a ``CutResult`` that keeps the surviving indices (positions in the list of
concepts the cut was given) and records every dropped concept with its value.

In data-parallel training the top-k runs over the train rows of all workers. Each worker
takes its local top-k per concept (padded with -inf when it holds fewer than k rows) and
writes it into its own slot of a zero (world, k, M) buffer; a sum over workers then
gathers every worker's candidates, and the global top-k is the top-k of those. When all
workers together hold fewer than k rows, the mean runs over all of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from dance.train._collective import Collective

_ONE_PROCESS = Collective()


@dataclass(frozen=True)
class DroppedConcept:
    """One concept a cut removed: its position, name, the rule, its value and the threshold."""

    index: int
    name: str
    rule: str
    value: float
    threshold: float

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (a non-finite value becomes null)."""
        return {
            "index": self.index,
            "name": self.name,
            "rule": self.rule,
            "value": self.value if math.isfinite(self.value) else None,
            "threshold": self.threshold,
        }


@dataclass(frozen=True)
class CutResult:
    """Which concepts survived a cut (positions and names) and which were dropped, and why."""

    kept: tuple[int, ...]
    kept_names: tuple[str, ...]
    dropped: tuple[DroppedConcept, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: kept positions and names, and each dropped concept."""
        return {
            "kept": list(self.kept),
            "kept_names": list(self.kept_names),
            "dropped": [entry.to_json() for entry in self.dropped],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CutResult:
        """The CutResult that ``to_json`` wrote (a null value reads back as NaN)."""
        return cls(
            kept=tuple(int(index) for index in data["kept"]),
            kept_names=tuple(str(name) for name in data["kept_names"]),
            dropped=tuple(
                DroppedConcept(
                    index=int(entry["index"]),
                    name=str(entry["name"]),
                    rule=str(entry["rule"]),
                    value=math.nan if entry["value"] is None else float(entry["value"]),
                    threshold=float(entry["threshold"]),
                )
                for entry in data["dropped"]
            ),
        )


def _cut(values: torch.Tensor, names: Sequence[str], rule: str, threshold: float) -> CutResult:
    """Keep the concepts whose value is above the threshold; record the others."""
    if values.ndim != 1 or values.shape[0] != len(names):
        raise ValueError(f"{len(names)} names for values of shape {tuple(values.shape)}")
    # Compared in the values' own dtype, as the reference compares a float32 tensor with
    # a Python float: a float32 0.2 equals the threshold 0.2 and is dropped.
    above = (values > threshold).tolist()
    kept, dropped = [], []
    for index, (value, keep) in enumerate(zip(values.tolist(), above)):
        if keep:
            kept.append(index)
        else:
            dropped.append(DroppedConcept(index, names[index], rule, float(value), threshold))
    return CutResult(tuple(kept), tuple(names[index] for index in kept), tuple(dropped))


def _global_top_k(
    values: torch.Tensor, top_k: int, collective: Collective = _ONE_PROCESS
) -> torch.Tensor:
    """(k', M): the k' = min(k, all rows) largest values of each column over all workers."""
    k_local = min(top_k, values.shape[0])
    local = torch.full((top_k, values.shape[1]), -math.inf, dtype=values.dtype,
                       device=values.device)
    local[:k_local] = torch.topk(values, k_local, dim=0).values
    slots = torch.zeros((collective.world_size, *local.shape), dtype=values.dtype,
                        device=values.device)
    slots[collective.rank] = local
    candidates = collective.sum(slots).reshape(-1, values.shape[1])
    rows = collective.sum(
        torch.tensor(float(values.shape[0]), dtype=torch.float64, device=values.device)
    )
    return torch.topk(candidates, min(top_k, int(rows)), dim=0).values


def clip_cut(
    train_pseudo_labels: torch.Tensor,
    names: Sequence[str],
    threshold: float = 0.2,
    top_k: int = 5,
    collective: Collective = _ONE_PROCESS,
) -> CutResult:
    """Drop concept j when the mean of its top-k train pseudo labels is <= threshold."""
    if train_pseudo_labels.ndim != 2:
        raise ValueError(f"pseudo labels must be (rows, concepts), not "
                         f"{tuple(train_pseudo_labels.shape)}")
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, not {top_k}")
    labels = train_pseudo_labels.detach()
    labels = labels if labels.is_floating_point() else labels.to(torch.float32)
    top_mean = _global_top_k(labels, top_k, collective).mean(dim=0)
    return _cut(top_mean, names, "clip_cut", threshold)


def interpretability_cut(
    val_similarity: torch.Tensor, names: Sequence[str], threshold: float = 0.3
) -> CutResult:
    """Drop concept j when its validation cos^3 similarity is <= threshold."""
    return _cut(val_similarity.detach(), names, "interpretability_cut", threshold)
