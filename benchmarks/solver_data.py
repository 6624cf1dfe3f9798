"""Synthetic final-layer problems for benchmarks/solver.py: UCF-101-sized standardised concepts.

A problem has N rows (videos), K concepts split into motion / object / scene columns and
C classes, and is generated, seeded, as

    x_i = mu[y_i] + F z_i + noise * e_i,      z_i ~ N(0, I_r), e_i ~ N(0, I_K)

- class sizes: UCF-101's split-1 train set has 9,537 videos in 101 classes of about 70
  to 120; here each class gets a share proportional to a uniform(0.7, 1.3) weight;
- class means mu[c] = A u_c + s_c: a shared low-rank part (rank `class_rank`, so classes
  resemble one another, as "playing cello" and "playing violin" share concepts) plus a
  sparse part: each class shifts `informative` random concepts by N(0, shift^2), the
  concepts that truly name it;
- F (K, r) correlates concepts within a video (one scene raises many scene concepts
  together), with loadings N(0, factor_scale^2 / r);
- every column is standardised with its mean and unbiased standard deviation, as the
  pipeline standardises concept activations before the final layer.

`ucf101` is the issue's case; `ucf101_correlated` the harder one: stronger concept
correlation (few strong factors), weaker class signal and a smaller lambda, which makes
the optimum denser and the problem worse conditioned.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class ProblemSpec:
    """How one synthetic problem is generated and solved."""

    name: str
    rows: int = 9537
    motion: int = 100
    object: int = 450
    scene: int = 450
    classes: int = 101
    class_rank: int = 10
    informative: int = 15
    shift: float = 1.0
    factors: int = 20
    factor_scale: float = 1.0
    noise: float = 1.0
    lam: float = 7e-4
    alpha: float = 0.99
    seed: int = 0

    @property
    def concepts(self) -> int:
        """K, all concept columns."""
        return self.motion + self.object + self.scene

    def type_slices(self) -> dict[str, slice]:
        """Column slices per concept type, in the pipeline's order motion, object, scene."""
        return {
            "motion": slice(0, self.motion),
            "object": slice(self.motion, self.motion + self.object),
            "scene": slice(self.motion + self.object, self.concepts),
        }

    def to_json(self) -> dict:
        """The spec as JSON-ready values."""
        return asdict(self)


SPECS = {
    "ucf101": ProblemSpec(name="ucf101"),
    "ucf101_correlated": ProblemSpec(
        name="ucf101_correlated",
        shift=0.7,
        factors=5,
        factor_scale=2.0,
        lam=2e-4,
        seed=1,
    ),
}


def generate(spec: ProblemSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """(X float32 (N, K) standardised, y int64 (N,)) for `spec`, seeded."""
    rng = np.random.default_rng(spec.seed)
    weights = rng.uniform(0.7, 1.3, spec.classes)
    sizes = np.floor(weights / weights.sum() * spec.rows).astype(int)
    sizes[np.argsort(-weights)[: spec.rows - sizes.sum()]] += 1  # largest weights take the rest
    y = rng.permutation(np.repeat(np.arange(spec.classes), sizes))

    means = (
        rng.normal(size=(spec.classes, spec.class_rank))
        @ rng.normal(size=(spec.class_rank, spec.concepts))
        / np.sqrt(spec.class_rank)
    )
    for c in range(spec.classes):
        chosen = rng.choice(spec.concepts, spec.informative, replace=False)
        means[c, chosen] += spec.shift * rng.normal(size=spec.informative)
    loadings = rng.normal(size=(spec.concepts, spec.factors)) * (
        spec.factor_scale / np.sqrt(spec.factors)
    )
    latent = rng.normal(size=(spec.rows, spec.factors))
    X = means[y] + latent @ loadings.T + spec.noise * rng.normal(size=(spec.rows, spec.concepts))
    X = (X - X.mean(0)) / X.std(0, ddof=1)
    return torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y.astype(np.int64))
