"""Iterative polynomial baseline of a signal (the peakutils.baseline algorithm)."""

from __future__ import annotations

import numpy as np

from dance.config import KeyframeConfig
from dance.keyframes._validate import as_signal

# Residuals this small relative to the signal are round-off of an exact fit, not structure.
ROUNDOFF_RELATIVE = 1e-9


def polynomial_baseline(signal: np.ndarray, config: KeyframeConfig) -> np.ndarray:
    """Baseline of a 1-D signal: repeated polynomial fits to y <- min(y, fit) until stable."""
    y = as_signal(signal)
    if y.size == 0:
        return y
    order = config.baseline_degree + 1
    # x spans [0, max|y|^(1/order)] so the Vandermonde columns have comparable magnitude.
    x = np.linspace(0.0, float(np.abs(y).max()) ** (1.0 / order), y.size)
    vander = np.vander(x, order)
    fit = np.linalg.pinv(vander)  # least-squares solve, factorised once for every iteration
    coeffs = np.ones(order)
    base = y.copy()
    for _ in range(config.baseline_max_iter):
        new_coeffs = fit @ y
        previous_norm = np.linalg.norm(coeffs)
        # A zero previous norm gives peakutils NaN/inf, which never counts as converged.
        if previous_norm > 0 and np.linalg.norm(new_coeffs - coeffs) / previous_norm < (
            config.baseline_tol
        ):
            break
        coeffs = new_coeffs
        base = vander @ coeffs
        y = np.minimum(y, base)
    return base


def remove_baseline(signal: np.ndarray, config: KeyframeConfig) -> np.ndarray:
    """The signal minus its iterative polynomial baseline (float64, same length)."""
    values = as_signal(signal)
    corrected = values - polynomial_baseline(values, config)
    # A signal the polynomial fits exactly (3 frames, constant counts) leaves only
    # round-off, whose sign pattern depends on the BLAS; call it flat so results are
    # deterministic across machines (peakutils would pick "peaks" in that noise).
    scale = float(np.abs(values).max()) if values.size else 0.0
    if values.size and float(np.abs(corrected).max()) <= ROUNDOFF_RELATIVE * scale:
        return np.zeros_like(corrected)
    return corrected
