"""The objective of Eq. 6: penalty, proximal map, objective, KKT residual, non-zeros."""

from __future__ import annotations

import json
import math

import pytest
import torch

from dance.errors import InputError
from dance.train._elastic_net import (
    ElasticNet,
    SolverResult,
    check_problem,
    elastic_net_penalty,
    kkt_residual,
    nonzeros,
    objective,
    proximal_step,
)

F64 = torch.float64


def test_lam_eff_is_lam_over_alpha_and_splits_into_l1_and_l2() -> None:
    net = ElasticNet(lam=0.3, alpha=0.5)
    assert net.lam_eff == pytest.approx(0.6)
    assert net.l1 == pytest.approx(0.3)
    assert net.l2 == pytest.approx(0.3)


@pytest.mark.parametrize("lam, alpha", [(-1.0, 0.5), (math.nan, 0.5), (0.1, 0.0), (0.1, 1.5)])
def test_elastic_net_rejects_out_of_range_settings(lam: float, alpha: float) -> None:
    with pytest.raises(ValueError):
        ElasticNet(lam, alpha)


def test_penalty_matches_hand_computation() -> None:
    # ||W||_1 = 6, ||W||_F^2 = 14; l1 = l2 = 0.3: 0.3 * 6 + 0.5 * 0.3 * 14 = 3.9
    W = torch.tensor([[1.0, -2.0], [0.0, 3.0]], dtype=F64)
    assert float(elastic_net_penalty(W, ElasticNet(0.3, 0.5))) == pytest.approx(3.9)


def test_proximal_step_soft_thresholds_then_shrinks() -> None:
    # step * l1 = step * l2 = 0.15: soft-threshold by 0.15, then divide by 1.15
    V = torch.tensor([1.0, -0.25, 0.1, -2.0], dtype=F64)
    expected = torch.tensor([17 / 23, -2 / 23, 0.0, -37 / 23], dtype=F64)
    torch.testing.assert_close(proximal_step(V, 0.5, ElasticNet(0.3, 0.5)), expected)


def test_proximal_step_minimises_step_penalty_plus_distance() -> None:
    net, step = ElasticNet(0.3, 0.5), 0.5
    V = torch.tensor([[0.7, -0.05, -1.3]], dtype=F64)
    best = proximal_step(V, step, net)

    def value(W: torch.Tensor) -> float:
        return float(step * elastic_net_penalty(W, net) + 0.5 * (W - V).pow(2).sum())

    for direction in torch.eye(3, dtype=F64):
        for sign in (1.0, -1.0):
            assert value(best) < value(best + sign * 1e-4 * direction)


def test_proximal_step_equals_glm_saga_operator() -> None:
    elasticnet = pytest.importorskip("glm_saga.elasticnet")
    net, step = ElasticNet(7e-4, 0.99), 0.05
    V = torch.randn(5, 7, generator=torch.Generator().manual_seed(0), dtype=F64) * 1e-3
    theirs = elasticnet.soft_threshold_with_shrinkage(
        V, step * net.lam_eff * net.alpha, step * net.lam_eff * (1 - net.alpha)
    )
    torch.testing.assert_close(proximal_step(V, step, net), theirs, rtol=1e-15, atol=1e-18)


def _two_by_two() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=F64)
    y = torch.tensor([0, 1, 1])
    return X, y, torch.eye(2, dtype=F64), torch.zeros(2, dtype=F64)


def test_objective_matches_hand_computation() -> None:
    # logits [1, 0], [0, 1], [1, 1]: CE log(1 + e^-1) twice and log 2; penalty 0.3*2 + 0.15*2
    X, y, W, b = _two_by_two()
    expected = (2 * math.log1p(math.exp(-1)) + math.log(2)) / 3 + 0.9
    assert objective(X, y, W, b, ElasticNet(0.3, 0.5)) == pytest.approx(expected, rel=1e-14)


def test_objective_equals_glm_saga_elastic_loss() -> None:
    elasticnet = pytest.importorskip("glm_saga.elasticnet")
    generator = torch.Generator().manual_seed(1)
    X = torch.randn(20, 6, generator=generator, dtype=F64)
    y = torch.randint(0, 3, (20,), generator=generator)
    linear = torch.nn.Linear(6, 3).to(F64)
    net = ElasticNet(0.05, 0.7)
    with torch.no_grad():
        linear.weight.copy_(torch.randn(3, 6, generator=generator, dtype=F64))
        linear.bias.copy_(torch.randn(3, generator=generator, dtype=F64))
        theirs = elasticnet.elastic_loss(linear, X, y, net.lam_eff, net.alpha)
    ours = objective(X, y, linear.weight.detach(), linear.bias.detach(), net)
    assert ours == pytest.approx(float(theirs), rel=1e-14)


def _one_feature() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.tensor([[1.0], [-1.0]], dtype=F64), torch.tensor([0, 1])


def test_kkt_residual_at_zero_is_gradient_beyond_the_l1_weight() -> None:
    # W = 0, b = 0: p = 1/2, grad_W = [0.5, -0.5], grad_b = 0; l1 = 0.3 leaves 0.2
    X, y = _one_feature()
    W, b = torch.zeros(2, 1, dtype=F64), torch.zeros(2, dtype=F64)
    assert kkt_residual(X, y, W, b, ElasticNet(0.3, 1.0)) == pytest.approx(0.2, rel=1e-14)


def test_kkt_residual_is_zero_where_zero_weights_are_optimal() -> None:
    X, y = _one_feature()
    W, b = torch.zeros(2, 1, dtype=F64), torch.zeros(2, dtype=F64)
    assert kkt_residual(X, y, W, b, ElasticNet(0.5, 1.0)) == 0.0


def test_kkt_residual_at_a_nonzero_weight_adds_the_l1_sign() -> None:
    # W = [[1], [0]]: grad_W = [-1/(1+e), 1/(1+e)]; w=1 gives -1/(1+e) + 0.3, w=0 gives 0
    X, y = _one_feature()
    W, b = torch.tensor([[1.0], [0.0]], dtype=F64), torch.zeros(2, dtype=F64)
    expected = 0.3 - 1 / (1 + math.e)
    assert kkt_residual(X, y, W, b, ElasticNet(0.3, 1.0)) == pytest.approx(expected, rel=1e-12)


def test_kkt_residual_counts_the_bias_gradient() -> None:
    # With b = [1, 0] and W = 0 (optimal for lam = 0.5), grad_b = sigma(1) - 1/2 per class.
    X, y = _one_feature()
    W, b = torch.zeros(2, 1, dtype=F64), torch.tensor([1.0, 0.0], dtype=F64)
    expected = 1 / (1 + math.exp(-1)) - 0.5
    assert kkt_residual(X, y, W, b, ElasticNet(5.0, 1.0)) == pytest.approx(expected, rel=1e-12)


def test_nonzeros_counts_per_class_and_per_concept_type() -> None:
    W = torch.tensor([[0.0, 1.0, 0.0, -2.0], [3.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    per_class, per_type = nonzeros(W, {"motion": slice(0, 1), "object": slice(1, 4)})
    assert per_class == [2, 1, 0]
    assert per_type == {"motion": 1, "object": 2}


def test_check_problem_names_rows_with_non_finite_activations() -> None:
    X = torch.zeros(6, 2)
    X[2, 1], X[4, 0] = math.nan, math.inf
    with pytest.raises(InputError, match=r"2 rows \(first: \[2, 4\]\)"):
        check_problem(X, torch.zeros(6, dtype=torch.int64), 2)


def test_check_problem_rejects_labels_outside_the_classes() -> None:
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        check_problem(torch.zeros(2, 2), torch.tensor([0, 2]), 2)


def test_solver_result_json_holds_no_tensors_and_counts_nonzeros() -> None:
    result = SolverResult(
        solver="proximal",
        W=torch.zeros(2, 3),
        b=torch.zeros(2),
        objective=0.5,
        train_accuracy=1.0,
        kkt_residual=1e-7,
        iterations=3,
        seconds=0.1,
        converged=True,
        history=[(0.0, 0.7), (0.1, 0.5)],
        nonzeros_per_class=[2, 1],
        nonzeros_per_type={"motion": 3},
    )
    data = json.loads(json.dumps(result.to_json()))
    assert data["nonzeros"] == 3
    assert data["history"] == [[0.0, 0.7], [0.1, 0.5]]
    assert "W" not in data and "b" not in data
