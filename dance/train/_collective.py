"""Sums across data-parallel workers, so one training function serves one process or many.

Every loss and solver in dance.train computes *global* quantities (a mean over all
training videos, a column mean for centring, an objective) from per-worker partial sums.
`Collective.sum` adds a tensor over workers and is differentiable: the backward pass of a
sum is a sum, so each worker's parameters receive the gradient of the global loss with
respect to its own rows. Because every worker computes the same global loss, the
gradients reaching the partial sums are counted once per worker; `average_gradients`
then sums the parameter gradients over workers and divides by the world size, which
leaves exactly the gradient of the global loss on every worker (the same rule
DistributedDataParallel applies).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class _AllReduceSum(torch.autograd.Function):
    """all_reduce(SUM) whose backward is all_reduce(SUM) of the incoming gradient.

    Written here because torch.distributed.nn.functional.all_reduce, which does the same,
    is deprecated, and its replacement's autograd support is private API.
    """

    @staticmethod
    def forward(ctx, values: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        total = values.detach().clone()
        dist.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        total = grad.contiguous().clone()
        dist.all_reduce(total)
        return total


class Collective:
    """One process: sums are the tensor itself, gradients are left alone."""

    world_size: int = 1
    rank: int = 0

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """The sum of `values` over workers (differentiable)."""
        return values

    def average_gradients(self, parameters: Iterable[torch.nn.Parameter]) -> None:
        """Average parameter gradients over workers (see the module docstring)."""


class TorchDistributedCollective(Collective):
    """Workers joined by torch.distributed (gloo on CPU, NCCL on GPU), e.g. inside Ray Train."""

    def __init__(self) -> None:
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            raise RuntimeError("torch.distributed is not initialised; use Collective()")
        self.world_size = dist.get_world_size()
        self.rank = dist.get_rank()

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """The sum of `values` over workers (differentiable: backward sums the gradients)."""
        return _AllReduceSum.apply(values)

    def average_gradients(self, parameters: Iterable[torch.nn.Parameter]) -> None:
        """Sum each parameter's gradient over workers and divide by the world size."""
        import torch.distributed as dist

        for parameter in parameters:
            if parameter.grad is not None:
                dist.all_reduce(parameter.grad)
                parameter.grad /= self.world_size


def local_or_distributed() -> Collective:
    """The distributed collective when torch.distributed runs, else the one-process one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return TorchDistributedCollective()
    return Collective()
