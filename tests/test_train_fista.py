"""fit_proximal: the optimum of Eq. 6, certified by its KKT residual, on one worker or two."""

from __future__ import annotations

import math

import pytest
import torch
from two_worker_helpers import run_two_workers

from dance.train._elastic_net import ElasticNet, kkt_residual, objective
from dance.train._fista import fit_proximal
from dance.train._saga import fit_saga

F64 = torch.float64


def _problem(rows: int = 120, concepts: int = 10, classes: int = 4, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (rows,), generator=generator)
    X = torch.randn(classes, concepts, generator=generator, dtype=F64)[y]
    X = X + 1.5 * torch.randn(rows, concepts, generator=generator, dtype=F64)
    return (X - X.mean(0)) / X.std(0), y


def test_the_history_starts_at_log_classes_from_zero() -> None:
    # W = 0, b = 0: every row's cross-entropy is log C and the penalty is 0.
    X, y = _problem()
    result = fit_proximal(X, y, 4, ElasticNet(0.01, 0.9), max_iter=1)
    assert result.history[0][1] == pytest.approx(math.log(4), rel=1e-15)


def test_fit_proximal_reaches_the_optimum_of_a_long_saga_run() -> None:
    # A step and batch at which SAGA converges on this problem (to ~1e-16 in 300 epochs).
    X, y = _problem()
    net = ElasticNet(0.02, 0.5)
    ours = fit_proximal(X, y, 4, net, tol=1e-9)
    saga = fit_saga(X, y, net, step=0.5, batch=40, tol=0.0, max_epochs=300, dtype=F64)
    assert ours.objective == pytest.approx(saga.objective, rel=1e-10)
    assert ours.objective <= saga.objective + 1e-12
    torch.testing.assert_close(ours.W, saga.W, rtol=0, atol=1e-6)
    assert torch.equal(ours.W != 0, saga.W != 0)


def test_fit_proximal_ends_below_the_requested_kkt_residual() -> None:
    X, y = _problem()
    net = ElasticNet(0.01, 0.9)
    result = fit_proximal(X, y, 4, net, tol=1e-8)
    assert result.converged
    assert result.kkt_residual <= 1e-8
    assert kkt_residual(X, y, result.W, result.b, net) == result.kkt_residual


def test_fit_proximal_optimum_is_sparse_with_exact_zeros() -> None:
    X, y = _problem()
    result = fit_proximal(X, y, 4, ElasticNet(0.05, 0.99), tol=1e-8)
    assert 0 < result.nonzeros < result.W.numel()
    assert result.nonzeros == int((result.W != 0).sum())


def test_pure_l1_penalty_converges() -> None:
    X, y = _problem()
    result = fit_proximal(X, y, 4, ElasticNet(0.02, 1.0), tol=1e-8)
    assert result.converged and result.kkt_residual <= 1e-8


def test_huge_lambda_gives_zero_weights_and_log_prior_bias() -> None:
    # With W = 0 the bias minimising the cross-entropy is log(class frequency) up to a
    # shift; starting from b = 0 every gradient step keeps sum(b) = 0, fixing the shift.
    X, y = _problem()
    result = fit_proximal(X, y, 4, ElasticNet(10.0, 0.9), tol=1e-12)
    log_priors = torch.log(torch.bincount(y, minlength=4).to(F64) / y.numel())
    assert torch.count_nonzero(result.W) == 0
    torch.testing.assert_close(result.b, log_priors - log_priors.mean(), rtol=0, atol=1e-11)


def test_warm_start_at_the_optimum_takes_no_iterations() -> None:
    X, y = _problem()
    net = ElasticNet(0.01, 0.9)
    cold = fit_proximal(X, y, 4, net, tol=1e-8)
    warm = fit_proximal(X, y, 4, net, tol=1e-8, W0=cold.W, b0=cold.b)
    assert warm.iterations == 0 and warm.converged
    torch.testing.assert_close(warm.W, cold.W, rtol=0, atol=0)


def test_warm_start_from_another_lambda_reaches_the_cold_optimum() -> None:
    X, y = _problem()
    previous = fit_proximal(X, y, 4, ElasticNet(0.05, 0.5), tol=1e-8)
    net = ElasticNet(0.02, 0.5)
    cold = fit_proximal(X, y, 4, net, tol=1e-10)
    warm = fit_proximal(X, y, 4, net, tol=1e-10, W0=previous.W, b0=previous.b)
    assert warm.history[0][1] == pytest.approx(objective(X, y, previous.W, previous.b, net))
    assert warm.objective == pytest.approx(cold.objective, rel=1e-12)
    torch.testing.assert_close(warm.W, cold.W, rtol=0, atol=1e-8)


def test_fit_proximal_stops_unconverged_at_max_iter() -> None:
    X, y = _problem()
    result = fit_proximal(X, y, 4, ElasticNet(0.01, 0.9), tol=1e-12, max_iter=3)
    assert result.iterations == 3 and not result.converged
    assert len(result.history) == 4


def test_the_reported_objective_is_the_objective_of_w_and_b() -> None:
    X, y = _problem()
    net = ElasticNet(0.01, 0.9)
    result = fit_proximal(X, y, 4, net, max_iter=20)
    assert result.objective == objective(X, y, result.W, result.b, net)
    assert result.history[-1][1] == pytest.approx(result.objective, rel=1e-13)


def _fit_shard(collective, rank: int, X, y, split: int, lam: float, alpha: float, tol: float):
    rows = slice(0, split) if rank == 0 else slice(split, None)
    result = fit_proximal(
        X[rows], y[rows], 4, ElasticNet(lam, alpha), collective=collective, tol=tol
    )
    return {
        "W": result.W,
        "b": result.b,
        "iterations": torch.tensor(result.iterations),
        "objective": torch.tensor(result.objective, dtype=F64),
        "kkt": torch.tensor(result.kkt_residual, dtype=F64),
    }


def test_two_workers_reach_the_one_process_result() -> None:
    X, y = _problem()
    one = fit_proximal(X, y, 4, ElasticNet(0.01, 0.9), tol=1e-10)
    rank0, rank1 = run_two_workers(_fit_shard, X, y, 47, 0.01, 0.9, 1e-10)
    for key in rank0:  # every worker holds the same iterates
        assert torch.equal(rank0[key], rank1[key]), key
    assert float(rank0["kkt"]) <= 1e-10
    assert float(rank0["objective"]) == pytest.approx(one.objective, rel=1e-12)
    torch.testing.assert_close(rank0["W"], one.W, rtol=0, atol=1e-9)
    torch.testing.assert_close(rank0["b"], one.b, rtol=0, atol=1e-9)
