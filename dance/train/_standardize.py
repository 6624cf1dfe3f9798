"""Standardising concept activations with the train mean and unbiased std.

The final layer sees each concept activation as (a - mean) / std, where mean and std are
taken over the training videos once and then fixed (validation, test and the bundle use
the train values). The std is the unbiased one, sqrt(sum (a - mean)^2 / (n - 1)), as
``torch.std`` in the reference. In data-parallel training every worker holds some of the
training rows: the row count, the column sums and then the column sums of squared
deviations are added over workers (two passes, which is exact where the one-pass
sum-of-squares formula cancels), in float64, so all workers get the same mean and std.

A concept whose activation is the same on every training video has std 0; dividing by it
would give infinities, so fitting refuses it and names the concept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from dance.errors import InputError
from dance.train._collective import Collective

_ONE_PROCESS = Collective()


@dataclass(frozen=True)
class Standardizer:
    """Per-concept train mean and unbiased std; ``apply`` maps a to (a - mean) / std."""

    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def fit(
        cls,
        activations: torch.Tensor,
        collective: Collective = _ONE_PROCESS,
        names: Sequence[str] | None = None,
    ) -> Standardizer:
        """Train mean and unbiased std of each column, over the rows of all workers."""
        if activations.ndim != 2:
            raise ValueError(f"activations must be (rows, concepts), not {activations.shape}")
        if names is not None and len(names) != activations.shape[1]:
            raise ValueError(f"{len(names)} names for {activations.shape[1]} concepts")
        values = activations.detach().to(torch.float64)
        rows = collective.sum(
            torch.tensor(float(values.shape[0]), dtype=torch.float64, device=values.device)
        )
        if rows < 2:
            raise InputError(
                f"standardising concept activations needs at least 2 training videos, got "
                f"{int(rows)}; add training videos"
            )
        mean = collective.sum(values.sum(dim=0)) / rows
        variance = collective.sum(((values - mean) ** 2).sum(dim=0)) / (rows - 1)
        std = variance.sqrt()
        constant = torch.nonzero(std == 0).flatten().tolist()
        if constant:
            shown = [
                f"{index} ({names[index]!r})" if names is not None else str(index)
                for index in constant[:5]
            ]
            more = f" and {len(constant) - 5} more" if len(constant) > 5 else ""
            raise InputError(
                f"concept {', '.join(shown)}{more} has the same activation on every "
                f"training video (std 0) and cannot be standardised; drop it (the clip cut "
                f"or the interpretability cut should remove such a concept) or train on "
                f"more varied videos"
            )
        return cls(mean=mean.to(activations.dtype), std=std.to(activations.dtype))

    def to(self, device: torch.device | str) -> Standardizer:
        """The same standardizer with its tensors on `device`."""
        return Standardizer(mean=self.mean.to(device), std=self.std.to(device))

    def apply(self, activations: torch.Tensor) -> torch.Tensor:
        """(activations - mean) / std, column by column."""
        if activations.shape[-1] != self.mean.shape[0]:
            raise ValueError(
                f"activations have {activations.shape[-1]} concepts, the standardizer "
                f"{self.mean.shape[0]}"
            )
        return (activations - self.mean) / self.std
