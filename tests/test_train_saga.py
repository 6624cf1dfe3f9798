"""fit_saga against the glm-saga package it reproduces (same data, same order, float32)."""

from __future__ import annotations

import contextlib
import io
import warnings

import pytest
import torch
from torch.utils.data import DataLoader, Sampler

from dance.train._elastic_net import ElasticNet, objective
from dance.train._saga import fit_saga

elasticnet = pytest.importorskip("glm_saga.elasticnet")


class _SeededPermutations(Sampler):
    """torch.randperm(n) per epoch from a seeded generator: the order fit_saga draws."""

    def __init__(self, rows: int, seed: int) -> None:
        self.rows = rows
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self):
        return iter(torch.randperm(self.rows, generator=self.generator).tolist())

    def __len__(self) -> int:
        return self.rows


def _problem(rows: int = 100, concepts: int = 8, classes: int = 3):
    generator = torch.Generator().manual_seed(0)
    y = torch.randint(0, classes, (rows,), generator=generator)
    X = torch.randn(classes, concepts, generator=generator)[y]
    X = X + torch.randn(rows, concepts, generator=generator)
    return (X - X.mean(0)) / X.std(0), y


def _glm_saga(X, y, net, *, step, batch, epochs, tol, seed):
    """The reference's call: glm_saga with one lambda (metadata), zero-initialised linear."""
    classes = int(y.max()) + 1
    linear = torch.nn.Linear(X.shape[1], classes)
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.zero_()
    sampler = _SeededPermutations(X.shape[0], seed)
    loader = DataLoader(elasticnet.IndexedTensorDataset(X, y), batch_size=batch, sampler=sampler)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glm-saga's softmax without dim
        elasticnet.glm_saga(
            linear, loader, step, epochs, net.alpha, k=1, epsilon=1, do_zero=False,
            metadata={"max_reg": {"nongrouped": net.lam}}, n_ex=X.shape[0],
            n_classes=classes, tol=tol,
        )  # fmt: skip
    return linear.weight.detach(), linear.bias.detach()


def test_fit_saga_matches_glm_saga_after_five_shuffled_epochs() -> None:
    X, y = _problem()
    net = ElasticNet(0.02, 0.9)
    W_ref, b_ref = _glm_saga(X, y, net, step=0.05, batch=16, epochs=5, tol=1e-8, seed=3)
    ours = fit_saga(X, y, net, step=0.05, batch=16, tol=1e-8, max_epochs=5, seed=3)
    assert ours.iterations == 5 and not ours.converged
    assert (W_ref == 0).any(), "the comparison should include thresholded weights"
    torch.testing.assert_close(ours.W, W_ref, rtol=0, atol=1e-6)
    torch.testing.assert_close(ours.b, b_ref, rtol=0, atol=1e-6)


def test_fit_saga_stops_at_the_same_minibatch_step_as_glm_saga() -> None:
    # A loose tolerance ends both part-way through an epoch, the last step left unapplied.
    X, y = _problem()
    net = ElasticNet(0.02, 0.9)
    W_ref, b_ref = _glm_saga(X, y, net, step=0.05, batch=16, epochs=50, tol=0.02, seed=5)
    ours = fit_saga(X, y, net, step=0.05, batch=16, tol=0.02, max_epochs=50, seed=5)
    assert ours.converged and ours.iterations < 50
    torch.testing.assert_close(ours.W, W_ref, rtol=0, atol=1e-6)
    torch.testing.assert_close(ours.b, b_ref, rtol=0, atol=1e-6)


def test_fit_saga_in_order_matches_glm_saga_without_shuffling() -> None:
    X, y = _problem(rows=70)
    net = ElasticNet(0.01, 0.5)
    classes = int(y.max()) + 1
    linear = torch.nn.Linear(X.shape[1], classes)
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.zero_()
    loader = DataLoader(elasticnet.IndexedTensorDataset(X, y), batch_size=32, shuffle=False)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glm-saga's softmax without dim
        elasticnet.train_saga(
            linear, loader, 0.1, 4, net.lam_eff, net.alpha, group=False, n_ex=70,
            n_classes=classes, tol=1e-8,
        )  # fmt: skip
    ours = fit_saga(X, y, net, step=0.1, batch=32, tol=1e-8, max_epochs=4, shuffle=False)
    torch.testing.assert_close(ours.W, linear.weight.detach(), rtol=0, atol=1e-6)
    torch.testing.assert_close(ours.b, linear.bias.detach(), rtol=0, atol=1e-6)


def test_fit_saga_records_the_float64_objective_of_each_epoch() -> None:
    X, y = _problem()
    net = ElasticNet(0.02, 0.9)
    result = fit_saga(X, y, net, batch=16, tol=1e-8, max_epochs=6, history_every=2)
    assert len(result.history) == 3
    seconds = [s for s, _ in result.history]
    assert seconds == sorted(seconds) and seconds[-1] == result.seconds
    X64 = X.to(torch.float64)
    assert result.history[-1][1] == objective(X64, y, result.W, result.b, net)
    assert result.objective == result.history[-1][1]


def test_fit_saga_reports_nonzeros_per_concept_type() -> None:
    X, y = _problem()
    types = {"motion": slice(0, 3), "object": slice(3, 8)}
    result = fit_saga(X, y, ElasticNet(0.02, 0.9), batch=16, max_epochs=3, type_slices=types)
    mask = result.W != 0
    assert result.nonzeros_per_type == {
        "motion": int(mask[:, :3].sum()),
        "object": int(mask[:, 3:].sum()),
    }
    assert result.nonzeros_per_class == mask.sum(1).tolist()
