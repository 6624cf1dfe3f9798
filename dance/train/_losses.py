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

from dataclasses import dataclass
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
    _check_motion(logits, targets, known)
    count = _known_entries(known, logits.shape[1], logits.dtype, logits.device)
    return collective.sum(_bce_sum(logits, targets, known)) / collective.sum(count)


def motion_loss_share(
    logits: torch.Tensor,
    targets: torch.Tensor,
    known: torch.Tensor,
    total_entries: float,
    world_size: int,
) -> torch.Tensor:
    """This worker's share of Eq. 4 for training: no collective, the count given once.

    The share is the worker's BCE sum / (the known entries of all workers / world_size).
    Its gradient, averaged over workers (``Collective.average_gradients``), is exactly
    the gradient of the global loss, and the mean of the shares is its value: the rule
    DistributedDataParallel relies on. Eq. 4 is a plain sum over entries, so unlike
    cos^3 it needs no collective inside the loss, and a training step makes a single
    all-reduce, the gradient's.
    """
    _check_motion(logits, targets, known)
    # divided (not multiplied by the inverse) so one worker computes exactly motion_loss
    return _bce_sum(logits, targets, known) / (total_entries / world_size)


def known_motion_entries(known: torch.Tensor, concepts: int, collective: Collective) -> float:
    """The number of known (row, concept) entries over all workers (one all-reduce)."""
    count = _known_entries(known, concepts, torch.float64, known.device)
    return float(collective.sum(count.reshape(1)).item())


def _check_motion(logits: torch.Tensor, targets: torch.Tensor, known: torch.Tensor) -> None:
    if logits.shape != targets.shape or logits.ndim != 2:
        raise ValueError(f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)}")
    if known.shape != logits.shape[:1] or known.dtype != torch.bool:
        raise ValueError(f"known must be a bool vector of {logits.shape[0]} rows")


def _bce_sum(logits: torch.Tensor, targets: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    # Selecting the known rows (rather than multiplying by a mask) keeps a masked row's
    # non-finite logits out of both the value and the gradient.
    return F.binary_cross_entropy_with_logits(
        logits[known], targets[known].to(logits.dtype), reduction="sum"
    )


def _known_entries(known: torch.Tensor, concepts: int, dtype: torch.dtype,
                   device: torch.device) -> torch.Tensor:
    return torch.tensor(float(known.sum()) * concepts, dtype=dtype, device=device)


@dataclass(frozen=True)
class Cos3Targets:
    """Pseudo labels prepared once for Eq. 5: they never change while a layer trains.

    ``cubes`` are this worker's rows, centred by the global column means and cubed;
    ``squares`` the global per-concept sums of their squares; ``rows`` the global row
    count. Preparing them once takes the targets' arithmetic and three all-reduces out
    of every training step.
    """

    cubes: torch.Tensor  # (n, M) this worker's rows
    squares: torch.Tensor  # (M,) summed over all workers' rows
    rows: torch.Tensor  # () all workers' rows


def prepare_cos3_targets(
    targets: torch.Tensor, dtype: torch.dtype, collective: Collective = _ONE_PROCESS
) -> Cos3Targets:
    """Centred cubes of the pseudo labels in `dtype`, with their global statistics."""
    if targets.ndim != 2:
        raise ValueError(f"targets must be (rows, M), not {tuple(targets.shape)}")
    values = targets.to(dtype)
    rows = collective.sum(torch.tensor(float(values.shape[0]), dtype=dtype, device=values.device))
    cubes = (values - collective.sum(values.sum(dim=0)) / rows) ** 3
    return Cos3Targets(cubes, collective.sum((cubes * cubes).sum(dim=0)), rows)


def _safe_cosine(
    dot: torch.Tensor, squares_a: torch.Tensor, squares_b: torch.Tensor
) -> torch.Tensor:
    """dot / sqrt(squares_a * squares_b), 0 where a norm is 0 (dot is 0 there too)."""
    product = squares_a * squares_b
    # The replaced denominator keeps sqrt away from 0, whose infinite slope would turn
    # the zero incoming gradient into NaN.
    return dot / torch.where(product > 0, product, torch.ones_like(product)).sqrt()


def centre_columns(values: torch.Tensor, collective: Collective = _ONE_PROCESS) -> torch.Tensor:
    """`values` minus their column means over all workers' rows (not differentiable)."""
    with torch.no_grad():
        rows = collective.sum(
            torch.tensor(float(values.shape[0]), dtype=torch.float64, device=values.device)
        )
        total = collective.sum(values.to(torch.float64).sum(dim=0))
        return values - (total / rows).to(values.dtype)


def cos3_similarity(
    activations: torch.Tensor,
    targets: torch.Tensor | Cos3Targets,
    per: SimilarityReading = "concept",
    collective: Collective = _ONE_PROCESS,
    centred: bool = False,
) -> torch.Tensor:
    """Cosine of centred cubes: (M,) global values per concept, or (n,) this worker's rows.

    ``centred=True`` says the activations already have zero global column means, as a
    bias-free layer's outputs have on ``centre_columns(features)``: the step then skips
    the mean's all-reduce and its gradient's.
    """
    if per not in ("concept", "sample"):
        raise ValueError(f"per must be 'concept' or 'sample', not {per!r}")
    if not isinstance(targets, Cos3Targets):
        if activations.shape != targets.shape:
            raise ValueError(
                f"activations {tuple(activations.shape)} and targets {tuple(targets.shape)}"
            )
        targets = prepare_cos3_targets(targets, activations.dtype, collective)
    if activations.shape != targets.cubes.shape or activations.ndim != 2:
        raise ValueError(
            f"activations {tuple(activations.shape)} and targets {tuple(targets.cubes.shape)}"
        )
    if not centred:
        activations = activations - collective.sum(activations.sum(dim=0)) / targets.rows
    cubes = activations**3
    if per == "concept":
        # the two sums travel in one all-reduce (and one in the backward pass)
        sums = collective.sum(
            torch.stack([(cubes * targets.cubes).sum(dim=0), (cubes * cubes).sum(dim=0)])
        )
        return _safe_cosine(sums[0], sums[1], targets.squares)
    return _safe_cosine(
        (cubes * targets.cubes).sum(dim=1),
        (cubes * cubes).sum(dim=1),
        (targets.cubes * targets.cubes).sum(dim=1),
    )


def cos3_loss(
    activations: torch.Tensor,
    targets: torch.Tensor | Cos3Targets,
    per: SimilarityReading = "concept",
    collective: Collective = _ONE_PROCESS,
    centred: bool = False,
) -> torch.Tensor:
    """Minus the mean cos^3 similarity: over concepts, or over all rows of all workers."""
    similarity = cos3_similarity(activations, targets, per, collective, centred)
    if per == "concept":
        return -similarity.mean()
    rows = targets.rows if isinstance(targets, Cos3Targets) else collective.sum(
        torch.tensor(float(similarity.shape[0]), dtype=similarity.dtype, device=similarity.device)
    )
    return -collective.sum(similarity.sum()) / rows
