"""The concept-layer losses: Eq. 4 for motion concepts, the cos^3 similarity of Eq. 5 for
object and scene concepts, each a GLOBAL quantity over every worker's rows.

Eq. 4 (motion): binary cross-entropy with logits between the layer's outputs and the
video's multi-hot motion labels, averaged over every (row, concept) entry whose row has
known labels. A row whose video kept no clip has no motion labels (``known`` False) and
contributes neither to the sum nor to the count. Sum and count are added over workers,
so the loss is the mean over all training videos, whatever the sharding.

Eq. 5 (object, scene), after Label-free CBM's ``cos_similarity_cubed_single``: each
column of the activations and of the pseudo labels is centred by its mean over the batch
(here the global batch: column sums and row counts are added over workers), raised to
the third power, and compared with cosine similarity. The cube sharpens the comparison
towards the large deviations, the few videos where a concept clearly shows. Two readings:

- ``per="concept"`` (Label-free CBM's code, the default): for concept j, the cosine
  between column j of the cubed activations and column j of the cubed pseudo labels,
  one value per concept; the numerator and the squared norms are sums over rows, added
  over workers.
- ``per="sample"`` (the paper's Eq. 5 as printed): for video i, the cosine between row i
  of the cubed activations and row i of the cubed pseudo labels, one value per row of
  this worker; ``cos3_loss`` averages them over all rows of all workers.

The loss is minus the mean similarity. Where a cosine has a zero vector (a concept whose
values are all equal over the batch, or, per sample, a row equal to the column means)
Label-free CBM divides by zero and gets NaN, which then spreads through the gradient;
here that similarity is 0, with zero gradient, so training goes on and the
interpretability cut drops such a concept (0 <= its threshold).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from dance.train._collective import Collective

SimilarityReading = Literal["concept", "sample"]

_ONE_PROCESS = Collective()


def motion_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    known: torch.Tensor,
    collective: Collective = _ONE_PROCESS,
) -> torch.Tensor:
    """Eq. 4: BCE with logits averaged over all known (row, concept) entries of all workers."""
    if logits.shape != targets.shape or logits.ndim != 2:
        raise ValueError(f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)}")
    if known.shape != logits.shape[:1] or known.dtype != torch.bool:
        raise ValueError(f"known must be a bool vector of {logits.shape[0]} rows")
    # Selecting the known rows (rather than multiplying by a mask) keeps a masked row's
    # non-finite logits out of both the value and the gradient.
    entries = F.binary_cross_entropy_with_logits(
        logits[known], targets[known].to(logits.dtype), reduction="sum"
    )
    count = torch.tensor(float(known.sum()) * logits.shape[1], dtype=logits.dtype,
                         device=logits.device)
    return collective.sum(entries) / collective.sum(count)


def _centred_cubes(values: torch.Tensor, collective: Collective) -> torch.Tensor:
    """(values - global column mean)^3."""
    rows = torch.tensor(float(values.shape[0]), dtype=values.dtype, device=values.device)
    mean = collective.sum(values.sum(dim=0)) / collective.sum(rows)
    return (values - mean) ** 3


def _safe_cosine(
    dot: torch.Tensor, squares_a: torch.Tensor, squares_b: torch.Tensor
) -> torch.Tensor:
    """dot / sqrt(squares_a * squares_b), 0 where a norm is 0 (dot is 0 there too)."""
    product = squares_a * squares_b
    # The replaced denominator keeps sqrt away from 0, whose infinite slope would turn
    # the zero incoming gradient into NaN.
    return dot / torch.where(product > 0, product, torch.ones_like(product)).sqrt()


def cos3_similarity(
    activations: torch.Tensor,
    targets: torch.Tensor,
    per: SimilarityReading = "concept",
    collective: Collective = _ONE_PROCESS,
) -> torch.Tensor:
    """Cosine of centred cubes: (M,) global values per concept, or (n,) this worker's rows."""
    if activations.shape != targets.shape or activations.ndim != 2:
        raise ValueError(
            f"activations {tuple(activations.shape)} and targets {tuple(targets.shape)}"
        )
    cubes_a = _centred_cubes(activations, collective)
    cubes_z = _centred_cubes(targets.to(activations.dtype), collective)
    if per == "concept":
        return _safe_cosine(
            collective.sum((cubes_a * cubes_z).sum(dim=0)),
            collective.sum((cubes_a * cubes_a).sum(dim=0)),
            collective.sum((cubes_z * cubes_z).sum(dim=0)),
        )
    if per == "sample":
        return _safe_cosine(
            (cubes_a * cubes_z).sum(dim=1),
            (cubes_a * cubes_a).sum(dim=1),
            (cubes_z * cubes_z).sum(dim=1),
        )
    raise ValueError(f"per must be 'concept' or 'sample', not {per!r}")


def cos3_loss(
    activations: torch.Tensor,
    targets: torch.Tensor,
    per: SimilarityReading = "concept",
    collective: Collective = _ONE_PROCESS,
) -> torch.Tensor:
    """Minus the mean cos^3 similarity: over concepts, or over all rows of all workers."""
    similarity = cos3_similarity(activations, targets, per, collective)
    if per == "concept":
        return -similarity.mean()
    rows = torch.tensor(float(similarity.shape[0]), dtype=similarity.dtype,
                        device=similarity.device)
    return -collective.sum(similarity.sum()) / collective.sum(rows)
