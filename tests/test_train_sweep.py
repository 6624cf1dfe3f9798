"""The lambda path: warm starts reach the cold-start optimum; the pick honours the sparsity."""

from __future__ import annotations

import pytest
import torch

from dance.train import (
    ElasticNet,
    PathPoint,
    fit_proximal,
    lambda_path,
    path_segments,
    pick_lambda,
)


def _problem(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    centres = torch.randn(3, 8, generator=generator, dtype=torch.float64)
    y = torch.arange(60) % 3
    x = centres[y] + 0.8 * torch.randn(60, 8, generator=generator, dtype=torch.float64)
    return x[:45], y[:45], x[45:], y[45:]


def test_each_warm_started_point_reaches_the_cold_start_objective():
    train_x, train_y, val_x, val_y = _problem()
    points = lambda_path(train_x, train_y, val_x, val_y, 3, [1e-3, 3e-2, 1e-2], 0.99, tol=1e-10)
    assert [p.lam for p in points] == [3e-2, 1e-2, 1e-3]  # largest first
    for point in points:
        cold = fit_proximal(train_x, train_y, 3, ElasticNet(lam=point.lam, alpha=0.99), tol=1e-10)
        assert point.objective == pytest.approx(cold.objective, rel=1e-9)


def test_smaller_lambdas_keep_more_weights():
    train_x, train_y, val_x, val_y = _problem()
    points = lambda_path(train_x, train_y, val_x, val_y, 3, [3e-1, 3e-2, 1e-3], 0.99)
    assert [p.nonzeros for p in points] == sorted(p.nonzeros for p in points)


def _point(lam: float, val_acc: float, per_class: int, nonzeros: int) -> PathPoint:
    zero = torch.zeros(1)
    return PathPoint(lam, 0.0, 0.0, nonzeros, per_class, {}, 1.0, val_acc, 1, 0.0, zero, zero)


def test_the_pick_is_the_best_validation_accuracy_within_the_sparsity_target():
    points = [
        _point(1e-1, 0.5, per_class=2, nonzeros=6),
        _point(3e-2, 0.9, per_class=4, nonzeros=10),
        _point(1e-2, 0.9, per_class=5, nonzeros=14),
        _point(1e-3, 1.0, per_class=9, nonzeros=25),
    ]
    assert pick_lambda(points, None).lam == 1e-3
    assert pick_lambda(points, 5).lam == 3e-2  # 0.9 twice within 5 per class: the sparser
    assert pick_lambda(points, 2).lam == 1e-1


def test_an_unreachable_sparsity_target_is_an_error_naming_the_fix():
    train_x, train_y, val_x, val_y = _problem()
    points = lambda_path(train_x, train_y, val_x, val_y, 3, [1e-4], 0.99)
    with pytest.raises(ValueError, match="add larger lambdas to train.sweep_lams"):
        pick_lambda(points, 0)


def test_path_segments_are_contiguous_runs_covering_every_lambda():
    assert path_segments([1e-3, 1e-1, 1e-2, 1e-4, 1e-5], 2) == [[1e-1, 1e-2, 1e-3], [1e-4, 1e-5]]
    assert path_segments([1e-3], 4) == [[1e-3]]
