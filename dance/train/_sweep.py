"""A lambda path for the sparse final layer, and the pick by validation accuracy at a sparsity.

The concept layers and the standardisation stay fixed (a sweep reuses a trained bundle);
only Eq. 6 is solved again for each lambda. Lambdas run from the largest (sparsest) to
the smallest, each solve warm-started from the previous solution, as glmnet-style paths
do: neighbouring optima are close, so each solve takes a fraction of a cold start. A
path may be cut into contiguous segments solved in parallel (each segment warm-starts
along itself).

The pick: among the lambdas whose model has at most `max_nonzeros_per_class` non-zero
weights in every class (the target sparsity; None = any), the best validation accuracy;
ties go to the sparser model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from dance.train._elastic_net import ElasticNet
from dance.train._fista import fit_proximal


@dataclass
class PathPoint:
    """One lambda's solution and how it scores."""

    lam: float
    objective: float
    kkt_residual: float
    nonzeros: int
    max_nonzeros_per_class: int
    nonzeros_per_type: dict[str, int]
    train_acc: float
    val_acc: float
    iterations: int
    seconds: float
    W: torch.Tensor
    b: torch.Tensor

    def to_json(self) -> dict[str, Any]:
        """Everything but W and b."""
        return {k: v for k, v in self.__dict__.items() if k not in ("W", "b")}


def _accuracy(x: torch.Tensor, y: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> float:
    if len(y) == 0:
        return float("nan")
    return float(((x @ W.T + b).argmax(dim=1) == y).double().mean())


def lambda_path(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    val_x: torch.Tensor,
    val_y: torch.Tensor,
    num_classes: int,
    lams: Sequence[float],
    alpha: float,
    *,
    tol: float = 1e-6,
    max_iter: int = 20_000,
    type_slices: Mapping[str, slice] | None = None,
) -> list[PathPoint]:
    """Solve Eq. 6 for each lambda, largest first, each warm-started from the last."""
    points: list[PathPoint] = []
    W0 = b0 = None
    for lam in sorted(lams, reverse=True):
        result = fit_proximal(
            train_x, train_y, num_classes, ElasticNet(lam=lam, alpha=alpha), tol=tol,
            max_iter=max_iter, W0=W0, b0=b0, type_slices=type_slices,
        )
        W0, b0 = result.W, result.b
        points.append(
            PathPoint(
                lam=lam,
                objective=result.objective,
                kkt_residual=result.kkt_residual,
                nonzeros=result.nonzeros,
                max_nonzeros_per_class=max(result.nonzeros_per_class, default=0),
                nonzeros_per_type=dict(result.nonzeros_per_type),
                train_acc=result.train_accuracy,
                val_acc=_accuracy(val_x.double(), val_y, result.W, result.b),
                iterations=result.iterations,
                seconds=result.seconds,
                W=result.W,
                b=result.b,
            )
        )
    return points


def path_segments(lams: Sequence[float], segments: int) -> list[list[float]]:
    """The lambdas, largest first, cut into at most `segments` contiguous runs."""
    ordered = sorted(set(lams), reverse=True)
    count = max(1, min(segments, len(ordered)))
    size, extra = divmod(len(ordered), count)
    runs, start = [], 0
    for index in range(count):
        end = start + size + (index < extra)
        runs.append(ordered[start:end])
        start = end
    return runs


def pick_lambda(points: Sequence[PathPoint], max_nonzeros_per_class: int | None) -> PathPoint:
    """The best validation accuracy within the target sparsity (ties: the sparser model)."""
    allowed = [
        p for p in points
        if max_nonzeros_per_class is None or p.max_nonzeros_per_class <= max_nonzeros_per_class
    ]
    if not allowed:
        sparsest = min(p.max_nonzeros_per_class for p in points)
        raise ValueError(
            f"no lambda on the path keeps <= {max_nonzeros_per_class} non-zero weights per "
            f"class (the sparsest has {sparsest}); add larger lambdas to train.sweep_lams or "
            "raise train.sweep_max_nonzeros_per_class"
        )
    return max(allowed, key=lambda p: (p.val_acc, -p.nonzeros, p.lam))


def format_path(points: Sequence[PathPoint], picked: PathPoint | None = None) -> str:
    """The path as a table: lambda, non-zeros, accuracy (train, validation), objective."""
    header = f"{'lambda':>10} {'non-zero':>8} {'max/class':>9} {'train %':>7} {'val %':>6}  objective"
    lines = [header]
    for p in sorted(points, key=lambda p: -p.lam):
        mark = "  <- picked" if picked is not None and p.lam == picked.lam else ""
        lines.append(
            f"{p.lam:10.3g} {p.nonzeros:8d} {p.max_nonzeros_per_class:9d} "
            f"{100 * p.train_acc:7.1f} {100 * p.val_acc:6.1f}  {p.objective:.6g}{mark}"
        )
    return "\n".join(lines)
