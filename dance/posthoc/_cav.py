"""Concept activation vectors (CAVs): a torch linear classifier and the CAVs it gives.

A CAV is the normal of a linear boundary between a concept's activations and a contrast set
(random clips, or the other concepts of a group for relative TCAV), at one layer, with
examples flattened to (N, F). Sign convention: a CAV points from the negative set toward
the positive concept, so positive examples score higher along it (v . x_pos > v . x_neg).

`TorchCAVClassifier` implements captum's `Classifier`, so it also plugs into
`captum.concept.TCAV(classifier=...)`. It exists because captum's default classifier (sklearn's
SGDClassifier) copies the activations row by row into float64 numpy and runs up to 1000
epochs: at flattened video-token sizes (1e5 features and more) it is slow and memory-hungry
(benchmarks/tcav_classifier.py measures both).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from captum.concept import Classifier
from torch.utils.data import DataLoader

from dance.errors import InputError

MIN_EXAMPLES = 2  # one to train on and one to test on


@dataclass(frozen=True)
class CAV:
    """One concept's activation vector at one layer and how well it separates."""

    concept: str
    vector: torch.Tensor  # (F,) float32, unit length, pointing toward the concept
    accuracy: float  # held-out accuracy of the linear classifier it comes from


def _check_examples(name: str, examples: torch.Tensor) -> None:
    """Raise InputError unless `examples` is (N, F) with N >= MIN_EXAMPLES."""
    if examples.ndim != 2:
        raise InputError(
            f"concept {name!r}: activations must be (examples, features), got shape "
            f"{tuple(examples.shape)}; flatten each example's activations first"
        )
    if examples.shape[0] < MIN_EXAMPLES:
        raise InputError(
            f"concept {name!r} has {examples.shape[0]} example(s); at least "
            f"{MIN_EXAMPLES} clips are needed to fit and test a CAV"
        )


def _split(labels: torch.Tensor, ratio: float, generator: torch.Generator) -> tuple:
    """Stratified (train, test) indices: per class round(ratio * n) to test, >= 1 each side."""
    train, test = [], []
    for cls in torch.unique(labels):
        index = torch.nonzero(labels == cls).flatten()
        index = index[torch.randperm(len(index), generator=generator)]
        n_test = min(max(round(ratio * len(index)), 1), len(index) - 1) if ratio > 0 else 0
        test.append(index[:n_test])
        train.append(index[n_test:])
    return torch.cat(train), torch.cat(test)


class TorchCAVClassifier(Classifier):
    """Multinomial logistic regression with an L2 penalty, fitted full-batch by L-BFGS."""

    def __init__(
        self,
        alpha: float = 0.01,
        max_iter: int = 500,
        standardize: bool = False,
        seed: int = 0,
    ) -> None:
        """alpha: L2 weight (as sklearn's SGDClassifier); standardize: per-feature z-scores."""
        self.alpha = alpha
        self.max_iter = max_iter
        self.standardize = standardize
        self.seed = seed
        self._weights: torch.Tensor | None = None
        self._bias = torch.zeros(0)
        self._classes: list[int] = []

    def train_and_eval(
        self, dataloader: DataLoader, test_split_ratio: float = 0.33, **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        """Fit on a stratified, seeded split of (inputs, labels) batches; return {'accs': ...}."""
        inputs, labels = [], []
        for batch_inputs, batch_labels in dataloader:
            inputs.append(batch_inputs.reshape(len(batch_inputs), -1))
            labels.append(batch_labels.reshape(-1))
        x = torch.cat(inputs).float()
        y = torch.cat(labels).long()
        classes, y_index = torch.unique(y, sorted=True, return_inverse=True)
        if len(classes) < 2:
            raise InputError("a CAV needs at least 2 concepts (classes) to separate")
        for cls in classes.tolist():
            _check_examples(f"class {cls}", x[y == cls])
        generator = torch.Generator().manual_seed(self.seed)
        train, test = _split(y_index, test_split_ratio, generator)
        self._classes = classes.tolist()
        self._weights = self._fit(x[train], y_index[train], len(classes))
        if len(test) == 0:
            return {"accs": torch.tensor(float("nan"))}
        predicted = (x[test] @ self._weights.T + self._bias).argmax(dim=1)
        return {"accs": (predicted == y_index[test]).float().mean()}

    def _fit(self, x: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
        """(C, F) weights in the input space; sets self._bias."""
        mean = x.mean(dim=0)
        z = x - mean  # one copy of the activations; scaled in place below
        if self.standardize:
            scale = z.std(dim=0).clamp_min(1e-6)
        else:
            # One scalar for all features keeps the geometry (and so the CAV) as it is,
            # and puts L-BFGS on a well-conditioned problem whatever the layer's scale.
            rms = torch.linalg.vector_norm(z) / z.numel() ** 0.5
            scale = rms.clamp_min(1e-12).expand_as(mean)
        z.div_(scale)
        torch.manual_seed(self.seed)  # L-BFGS is deterministic; this covers any future init
        if z.shape[1] > z.shape[0]:
            w, b = self._fit_in_example_span(z, y, n_classes)
        else:
            w, b = self._fit_primal(z, y, n_classes)
        with torch.no_grad():
            weights = w / scale
            self._bias = b - weights @ mean
        return weights.detach()

    def _minimise(self, params: list[torch.Tensor], loss_of: Any) -> None:
        """Full-batch L-BFGS with a strong-Wolfe line search on loss_of()."""
        optimizer = torch.optim.LBFGS(
            params, max_iter=self.max_iter, line_search_fn="strong_wolfe", history_size=10
        )

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            loss = loss_of()
            loss.backward()
            return loss

        optimizer.step(closure)

    def _fit_primal(self, z: torch.Tensor, y: torch.Tensor, n_classes: int) -> tuple:
        """(C, F) weights and (C,) bias on z, optimised over the F-dimensional weights."""
        w = torch.zeros(n_classes, z.shape[1], requires_grad=True)
        b = torch.zeros(n_classes, requires_grad=True)
        self._minimise([w, b], lambda: torch.nn.functional.cross_entropy(z @ w.T + b, y)
                       + 0.5 * self.alpha * w.pow(2).sum())  # fmt: skip
        return w.detach(), b.detach()

    def _fit_in_example_span(self, z: torch.Tensor, y: torch.Tensor, n_classes: int) -> tuple:
        """The direct fit's optimum, found in an orthonormal basis of the examples' span.

        With an L2 penalty the optimal weights lie in the span of the examples, so the fit
        can run on their coordinates in an orthonormal basis of that span: z = P Q with
        Q's rows orthonormal (from the eigenvectors of the Gram matrix z z^T), P = U
        sqrt(S). Logits and penalty are the same on P, with N unknowns per class instead of
        F: flattened video tokens have 1e4-1e5 features for a few hundred clips
        (benchmarks/tcav_classifier.py). L-BFGS's iterates differ (its first step and stop
        test are not rotation-invariant); the optimum, to the solver's tolerance, does not.
        The weights are then the P-space weights times Q.
        """
        eigenvalues, vectors = torch.linalg.eigh(z @ z.T)
        keep = eigenvalues > eigenvalues.max().clamp_min(1e-30) * 1e-10
        roots = eigenvalues[keep].sqrt()
        w, b = self._fit_primal(vectors[:, keep] * roots, y, n_classes)  # on P: (N, r)
        # w Q = (w S^-1/2 U^T) z, without forming Q (r x F)
        return ((w / roots) @ vectors[:, keep].T) @ z, b

    def predict(self, inputs: torch.Tensor) -> torch.Tensor:
        """Class labels (N,) for inputs (N, F), from the fitted boundary."""
        index = (inputs.reshape(len(inputs), -1).float() @ self.weights().T + self._bias).argmax(1)
        return torch.tensor(self._classes)[index]

    def weights(self) -> torch.Tensor:
        """(C, F) weights, one row per class in the order of classes()."""
        if self._weights is None:
            raise RuntimeError("call train_and_eval before weights()")
        return self._weights

    def classes(self) -> list[int]:
        """The class labels seen in training, sorted; the row order of weights()."""
        return list(self._classes)


def fit_cav(
    positive: torch.Tensor,
    negative: torch.Tensor,
    seed: int = 0,
    concept: str = "concept",
    test_split_ratio: float = 0.33,
    alpha: float = 0.01,
) -> CAV:
    """The unit CAV pointing from `negative` (M, F) toward `positive` (N, F) examples."""
    _check_examples(concept, positive)
    _check_examples(f"contrast of {concept}", negative)
    if positive.shape[1] != negative.shape[1]:
        raise InputError(
            f"concept {concept!r}: {positive.shape[1]} features but its contrast set has "
            f"{negative.shape[1]}; use activations of the same layer"
        )
    x = torch.cat([negative, positive]).float()
    y = torch.cat([torch.zeros(len(negative)), torch.ones(len(positive))]).long()
    classifier = TorchCAVClassifier(alpha=alpha, seed=seed)
    stats = classifier.train_and_eval([(x, y)], test_split_ratio=test_split_ratio)
    weights = classifier.weights()
    vector = weights[1] - weights[0]  # class 1 (positive) minus class 0: toward the concept
    return CAV(concept, vector / vector.norm().clamp_min(1e-12), float(stats["accs"]))


def relative_cavs(
    group: Mapping[str, torch.Tensor], seed: int = 0, test_split_ratio: float = 0.33,
    alpha: float = 0.01,
) -> dict[str, CAV]:
    """One-vs-rest CAVs: each concept of the group against the union of the others."""
    if len(group) < 2:
        raise InputError(f"a relative concept group needs at least 2 concepts, got {sorted(group)}")
    for name, examples in group.items():
        _check_examples(name, examples)
    cavs = {}
    for name, examples in group.items():
        rest = torch.cat([other for key, other in group.items() if key != name])
        cavs[name] = fit_cav(examples, rest, seed, name, test_split_ratio, alpha)
    return cavs
