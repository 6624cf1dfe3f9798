"""TCAV scores of gradients along a CAV, and their significance against random runs.

For N examples of a class with gradients g_i of the class logit with respect to a layer's
(flattened) activations, the directional derivatives along a CAV v are d_i = g_i . v:

    sign-count  |{i : d_i > 0}| / N
    magnitude   sum_i max(d_i, 0) / sum_i |d_i|        (Kim et al. 2018, TCAV_Q magnitude)

A concept matters when its scores over R runs (CAVs from different random contrast sets
or seeds) differ from those of R runs of random concepts: a two-sided t-test, with the
p-value Bonferroni-corrected over the hypotheses tested (concepts x layers x classes).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import torch
from scipy import stats

from dance.errors import InputError

MIN_RUNS = 2  # a t-test needs a variance on each side


class Significance(NamedTuple):
    """A two-sided t-test of concept runs against random runs, Bonferroni-corrected."""

    t: float
    p: float
    p_corrected: float
    significant: bool


def tcav_scores(gradients: torch.Tensor, cav: torch.Tensor) -> tuple[float, float]:
    """(sign-count, magnitude) of gradients (N, F) along a CAV (F,)."""
    if gradients.ndim != 2 or cav.ndim != 1 or gradients.shape[1] != cav.shape[0]:
        raise InputError(
            f"gradients must be (examples, features) and the CAV (features,), got "
            f"{tuple(gradients.shape)} and {tuple(cav.shape)}"
        )
    if gradients.shape[0] == 0:
        raise InputError("no gradients to score: the class has no examples")
    derivatives = gradients.double() @ cav.double()
    sign_count = float((derivatives > 0).double().mean())
    total = float(derivatives.abs().sum())
    # All derivatives zero: no direction is preferred, so half (as a tie), not 0/0.
    magnitude = float(derivatives.clamp_min(0).sum()) / total if total > 0 else 0.5
    return sign_count, magnitude


def tcav_significance(
    concept_scores: Sequence[float],
    random_scores: Sequence[float],
    hypotheses: int,
    alpha: float = 0.05,
) -> Significance:
    """Two-sided t-test of concept runs vs random runs; p_corrected = min(1, p * hypotheses)."""
    for name, scores in (("concept", concept_scores), ("random", random_scores)):
        if len(scores) < MIN_RUNS:
            raise InputError(
                f"{name} scores: {len(scores)} run(s); at least {MIN_RUNS} runs are "
                f"needed for a t-test (raise the number of random runs)"
            )
    if hypotheses < 1:
        raise InputError(f"hypotheses must be at least 1, got {hypotheses}")
    a = [float(value) for value in concept_scores]
    b = [float(value) for value in random_scores]
    if max(a) == min(a) and max(b) == min(b):
        # No variance on either side: scipy gives NaN; equal constants are no evidence,
        # different constants are as strong as it gets.
        t, p = (0.0, 1.0) if a[0] == b[0] else (math.copysign(math.inf, a[0] - b[0]), 0.0)
    else:
        with warnings.catch_warnings():
            # One constant side (e.g. a sign-count of 1.0 in every run) is a valid sample;
            # scipy warns about precision all the same.
            warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)
            result = stats.ttest_ind(a, b)
        t, p = float(result.statistic), float(result.pvalue)
    p_corrected = min(1.0, p * hypotheses)
    return Significance(t, p, p_corrected, p_corrected < alpha)
