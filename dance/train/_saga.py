"""Proximal minibatch SAGA for Eq. 6, step for step as GLM-SAGA (glm_saga 0.1.2, train_saga).

The reference calls ``glm_saga`` with a single lambda; for the multinomial family that
runs ``train_saga`` once, from W = 0 and b = 0, and this module reproduces that loop:

- SAGA keeps, for every training row i, the last residual a_i = softmax(z_i) - onehot(y_i)
  seen for it (a table of N x C scalars, zero at the start) and running averages
  avg_W = (1/N) sum_i a_i x_i^T, avg_b = (1/N) sum_i a_i built from that table.
- For a minibatch B (the rows in a per-epoch permutation, or in order without shuffling)
  with current residuals a and stored ones a_prev:
  W <- prox(W - step * ((a - a_prev)^T X_B / |B| + avg_W)) with the elastic-net proximal map,
  b <- b - step * ((a - a_prev)^T 1 / |B| + avg_b); then the table rows become a and the
  averages move by (a - a_prev)^T X_B / N and (a - a_prev)^T 1 / N.
- Stopping: glm-saga measures each minibatch step, sqrt(||W_new - W||^2 + ||b_new - b||^2),
  and returns as soon as one is <= tol, WITHOUT applying that step; otherwise it stops
  after max_epochs epochs. The issue describes this as "a minibatch step moves the
  parameters by <= tol".

glm-saga forms both gradient terms as (B, C, K) broadcast products averaged over the
batch (most of its epoch time); here the difference (a - a_prev)^T X_B is one (C, B) x
(B, K) matrix product that serves both the step and the averages. The arithmetic is the
same up to floating-point summation order. Shuffling draws torch.randperm(N) per epoch
from a generator seeded with `seed`, the order a DataLoader with a sampler that yields
torch.randperm(N, generator=g) gives glm-saga.

The objective history (float64, every `history_every` epochs) is measured with the clock
stopped, so `seconds` and the history's times are the solver's own time, read from
`clock` (wall time by default; time.process_time gives CPU seconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import torch

from dance.train._elastic_net import (
    ElasticNet,
    SolverResult,
    check_problem,
    objective,
    proximal_step,
    summarise,
)


def fit_saga(
    X: torch.Tensor,
    y: torch.Tensor,
    net: ElasticNet,
    *,
    num_classes: int | None = None,
    step: float = 0.05,
    batch: int = 128,
    tol: float = 1e-4,
    max_epochs: int = 30000,
    seed: int = 0,
    shuffle: bool = True,
    dtype: torch.dtype = torch.float32,
    history_every: int = 1,
    type_slices: Mapping[str, slice] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> SolverResult:
    """Minimise Eq. 6 with GLM-SAGA's proximal minibatch SAGA (one process, zero start)."""
    classes = int(y.max()) + 1 if num_classes is None else num_classes
    check_problem(X, y, classes)
    if step <= 0 or batch < 1 or max_epochs < 0 or history_every < 1:
        raise ValueError(
            f"need step > 0, batch >= 1, max_epochs >= 0, history_every >= 1; got "
            f"{step}, {batch}, {max_epochs}, {history_every}"
        )
    rows, concepts = X.shape
    data = X.to(dtype).contiguous()
    targets = torch.nn.functional.one_hot(y, classes).to(dtype)
    W = torch.zeros(classes, concepts, dtype=dtype)
    b = torch.zeros(classes, dtype=dtype)
    table = torch.zeros(rows, classes, dtype=dtype)
    avg_W = torch.zeros_like(W)
    avg_b = torch.zeros_like(b)
    generator = torch.Generator().manual_seed(seed)
    data64 = X.to(torch.float64)

    history: list[tuple[float, float]] = []
    solver_seconds, epochs, converged = 0.0, 0, False
    while epochs < max_epochs and not converged:
        started = clock()
        order = torch.randperm(rows, generator=generator) if shuffle else torch.arange(rows)
        for first in range(0, rows, batch):
            index = order[first : first + batch]
            X_b = data[index]
            residual = torch.softmax(torch.addmm(b, X_b, W.T), dim=1) - targets[index]
            change = residual - table[index]
            change_W = change.T @ X_b
            change_b = change.sum(0)
            size = X_b.shape[0]
            W_new = proximal_step(W - step * (change_W / size + avg_W), step, net)
            b_new = b - step * (change_b / size + avg_b)
            table[index] = residual
            avg_W += change_W / rows
            avg_b += change_b / rows
            moved = torch.sqrt((W_new - W).pow(2).sum() + (b_new - b).pow(2).sum())
            if float(moved) <= tol:
                converged = True  # glm-saga returns here, leaving the last step unapplied
                break
            W, b = W_new, b_new
        solver_seconds += clock() - started
        epochs += 1
        if epochs % history_every == 0 or converged or epochs == max_epochs:
            history.append((solver_seconds, objective(data64, y, W, b, net)))
    return summarise(
        "saga",
        data64,
        y,
        W,
        b,
        net,
        iterations=epochs,
        seconds=solver_seconds,
        converged=converged,
        history=history,
        type_slices=type_slices,
    )
