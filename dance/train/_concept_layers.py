"""Fitting the per-type concept layers: motion by Eq. 4, object and scene by -cos^3 (Eq. 5).

Each concept layer is ``Linear(D, M, bias=False)`` from backbone features to concept
activations. Both loops are full batch: every step's loss is the global loss over all
training rows of all workers (the losses add their partial sums through the collective),
Adam takes one step with the gradient averaged over workers, and after every
``eval_every`` steps the global validation loss decides which weights to keep.

- Motion (DANCE): Xavier-uniform init, Eq. 4, exactly ``steps`` steps, validated every
  ``eval_every`` steps and after the last; the weights with the lowest validation loss
  are kept.
- Object and scene (Label-free CBM): torch's default Linear init, -cos^3 per concept
  (or per sample), validated every ``eval_every`` steps up to ``steps``; training stops
  at the first validation loss that does not improve on the best so far, and the best
  weights are kept.

A validation is where the job checkpoints: ``on_eval`` receives a ``LayerState`` holding
everything the loop needs to go on (current weight, Adam's moments and step count, the
best weight so far and its loss, the history), and a fit started with ``resume=`` that
state continues bit-identically, because the inits are seeded from ``settings.seed`` and
nothing else is random. ``LayerState.to_tensors`` / ``from_tensors`` flatten it into
safetensors-ready tensors plus JSON, so a checkpoint never needs pickle.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch

from dance.errors import InputError
from dance.train._collective import Collective
from dance.train._losses import (
    Cos3Targets,
    SimilarityReading,
    centre_columns,
    cos3_loss,
    cos3_similarity,
    known_motion_entries,
    motion_loss,
    motion_loss_share,
    prepare_cos3_targets,
)

_ONE_PROCESS = Collective()
_STATE_FORMAT = "dance.concept_layer_state"
_ADAM_PREFIX = "adam."


def new_concept_layer(
    dim: int, count: int, init: Literal["xavier", "default"], seed: int
) -> torch.nn.Linear:
    """A float32 Linear(dim, count, bias=False) on CPU, initialised from `seed` alone."""
    # Built on the meta device so construction draws nothing from the global generator.
    layer = torch.nn.Linear(dim, count, bias=False, device="meta", dtype=torch.float32)
    layer = layer.to_empty(device="cpu")
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        if init == "xavier":
            torch.nn.init.xavier_uniform_(layer.weight, generator=generator)
        elif init == "default":
            # What Linear.reset_parameters does, with our generator.
            torch.nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
        else:
            raise ValueError(f"init must be 'xavier' or 'default', not {init!r}")
    return layer


@dataclass(frozen=True)
class LayerSettings:
    """Adam learning rate, step budget, steps between validations, init seed, cos^3 reading."""

    lr: float
    steps: int
    eval_every: int
    seed: int
    per: SimilarityReading = "concept"

    def __post_init__(self) -> None:
        if not self.lr > 0 or self.steps < 1 or self.eval_every < 1:
            raise ValueError(f"need lr > 0, steps >= 1, eval_every >= 1: {self}")
        if self.per not in ("concept", "sample"):
            raise ValueError(f"per must be 'concept' or 'sample', not {self.per!r}")


def _check_features(features: torch.Tensor, targets: torch.Tensor) -> None:
    if features.ndim != 2 or targets.ndim != 2 or features.shape[0] != targets.shape[0]:
        raise ValueError(
            f"features {tuple(features.shape)} and targets {tuple(targets.shape)} must be "
            f"(rows, D) and (rows, M)"
        )


@dataclass(frozen=True)
class MotionData:
    """This worker's rows: features (N, D), multi-hot motion labels (N, M), known (N,) bool."""

    features: torch.Tensor
    targets: torch.Tensor
    known: torch.Tensor

    def __post_init__(self) -> None:
        _check_features(self.features, self.targets)
        if self.known.dtype != torch.bool or self.known.shape != self.features.shape[:1]:
            raise ValueError(f"known must be a bool vector of {self.features.shape[0]} rows")


@dataclass(frozen=True)
class LanguageData:
    """This worker's rows: features (N, D) and pseudo labels (N, M)."""

    features: torch.Tensor
    targets: torch.Tensor

    def __post_init__(self) -> None:
        _check_features(self.features, self.targets)


@dataclass(frozen=True)
class LayerState:
    """A fit at one validation: enough to continue exactly, and its result when finished."""

    kind: str
    settings: LayerSettings
    weight: torch.Tensor
    optimizer: dict[str, Any]
    step: int
    best_weight: torch.Tensor
    best_val_loss: float
    best_step: int
    history: tuple[tuple[int, float, float], ...]
    finished: bool

    def best_layer(self) -> torch.nn.Linear:
        """A Linear(D, M, bias=False) holding the best weights."""
        count, dim = self.best_weight.shape
        layer = torch.nn.Linear(dim, count, bias=False, device="meta",
                                dtype=self.best_weight.dtype)
        layer = layer.to_empty(device=self.best_weight.device)
        with torch.no_grad():
            layer.weight.copy_(self.best_weight)
        return layer

    def to_tensors(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Flat CPU tensors (for safetensors) and JSON metadata (for the rest)."""
        tensors = {
            "weight": self.weight.detach().cpu().contiguous(),
            "best_weight": self.best_weight.detach().cpu().contiguous(),
        }
        state_values: dict[str, dict[str, Any]] = {}
        for param_id, entries in self.optimizer["state"].items():
            for key, value in entries.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"{_ADAM_PREFIX}{param_id}.{key}"] = value.detach().cpu().contiguous()
                else:
                    state_values.setdefault(str(param_id), {})[key] = value
        meta = {
            "format": _STATE_FORMAT,
            "version": 1,
            "kind": self.kind,
            "settings": asdict(self.settings),
            "step": self.step,
            "best_val_loss": self.best_val_loss,
            "best_step": self.best_step,
            "history": [list(entry) for entry in self.history],
            "finished": self.finished,
            "adam_param_groups": self.optimizer["param_groups"],
            "adam_state_values": state_values,
            "adam_params": sorted(str(key) for key in self.optimizer["state"]),
        }
        return tensors, meta

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> LayerState:
        """The state ``to_tensors`` flattened; a missing piece is an InputError naming it."""
        if meta.get("format") != _STATE_FORMAT:
            raise InputError(
                f"the checkpoint's JSON is not a concept-layer state (format "
                f"{meta.get('format')!r}); point to a checkpoint the train job wrote, or "
                f"delete the run's checkpoints to start over"
            )

        def tensor(name: str) -> torch.Tensor:
            if name not in tensors:
                raise InputError(
                    f"the concept-layer checkpoint lacks the tensor {name!r}; the checkpoint "
                    f"is incomplete: delete the run's checkpoints to start over"
                )
            return tensors[name]

        state: dict[int, dict[str, Any]] = {}
        for param_id in meta["adam_params"]:
            entries = dict(meta["adam_state_values"].get(param_id, {}))
            prefix = f"{_ADAM_PREFIX}{param_id}."
            for name, value in tensors.items():
                if name.startswith(prefix):
                    entries[name[len(prefix):]] = value
            state[int(param_id)] = entries
        groups = [dict(group, betas=tuple(group["betas"])) for group in meta["adam_param_groups"]]
        return cls(
            kind=meta["kind"],
            settings=LayerSettings(**meta["settings"]),
            weight=tensor("weight"),
            optimizer={"state": state, "param_groups": groups},
            step=int(meta["step"]),
            best_weight=tensor("best_weight"),
            best_val_loss=float(meta["best_val_loss"]),
            best_step=int(meta["best_step"]),
            history=tuple((int(s), float(t), float(v)) for s, t, v in meta["history"]),
            finished=bool(meta["finished"]),
        )


def _clone_optimizer_state(state_dict: dict[str, Any]) -> dict[str, Any]:
    """A copy of an optimizer state_dict whose tensors later steps do not change."""
    return {
        "state": {
            param_id: {
                key: value.detach().clone() if isinstance(value, torch.Tensor) else value
                for key, value in entries.items()
            }
            for param_id, entries in state_dict["state"].items()
        },
        "param_groups": [dict(group) for group in state_dict["param_groups"]],
    }


def _check_resume(resume: LayerState, kind: str, settings: LayerSettings,
                  layer: torch.nn.Linear) -> None:
    """Refuse a checkpoint of another kind, settings or layer shape."""
    if resume.kind != kind or resume.settings != settings:
        raise InputError(
            f"the checkpoint holds a {resume.kind} layer fitted with {resume.settings}, but "
            f"this run fits a {kind} layer with {settings}; restore those settings or use "
            f"a new run name (or delete the run's checkpoints) to start over"
        )
    if resume.weight.shape != layer.weight.shape:
        raise InputError(
            f"the checkpoint's {kind} layer has {tuple(resume.weight.shape)} weights "
            f"(concepts, feature dim) but the data gives {tuple(layer.weight.shape)}; use a "
            f"new run name (or delete the run's checkpoints) to start over"
        )


def _fit(
    kind: str,
    layer: torch.nn.Linear,
    train_loss: Callable[[torch.nn.Linear], torch.Tensor],
    val_loss: Callable[[torch.nn.Linear], torch.Tensor],
    settings: LayerSettings,
    collective: Collective,
    stop_without_improvement: bool,
    resume: LayerState | None,
    on_eval: Callable[[LayerState], None] | None,
) -> LayerState:
    """Full-batch Adam with validation every `eval_every` steps; see the module docstring."""
    optimizer = torch.optim.Adam(layer.parameters(), lr=settings.lr)
    if resume is None:
        step, best_step, best_val = 0, 0, math.inf
        best_weight = layer.weight.detach().clone()
        history: list[tuple[int, float, float]] = []
    else:
        _check_resume(resume, kind, settings, layer)
        if resume.finished:
            return resume
        with torch.no_grad():
            layer.weight.copy_(resume.weight)
        # Adam updates the loaded moments in place: give it copies, not the checkpoint's.
        optimizer.load_state_dict(_clone_optimizer_state(resume.optimizer))
        step, best_step, best_val = resume.step, resume.best_step, resume.best_val_loss
        best_weight = resume.best_weight.to(layer.weight.device).clone()
        history = list(resume.history)
    while True:
        optimizer.zero_grad()
        loss = train_loss(layer)
        loss.backward()
        collective.average_gradients(layer.parameters())
        optimizer.step()
        step += 1
        if step % settings.eval_every != 0 and step < settings.steps:
            continue
        with torch.no_grad():
            validation = float(val_loss(layer))
            # The train loss is the one this step's update was computed from: the mean of
            # the workers' losses (shares of it, or the global loss itself on each).
            trained = collective.sum(loss.detach().reshape(1)) / collective.world_size
        history.append((step, float(trained), validation))
        improved = validation < best_val
        if improved:
            best_step, best_val = step, validation
            best_weight = layer.weight.detach().clone()
        finished = step >= settings.steps or (stop_without_improvement and not improved)
        state = LayerState(
            kind=kind,
            settings=settings,
            weight=layer.weight.detach().clone(),
            optimizer=_clone_optimizer_state(optimizer.state_dict()),
            step=step,
            best_weight=best_weight,
            best_val_loss=best_val,
            best_step=best_step,
            history=tuple(history),
            finished=finished,
        )
        if on_eval is not None:
            on_eval(state)
        if finished:
            return state


def _check_dims(train_features: torch.Tensor, train_targets: torch.Tensor,
                val_features: torch.Tensor, val_targets: torch.Tensor) -> None:
    if (train_features.shape[1], train_targets.shape[1]) != (
        val_features.shape[1], val_targets.shape[1]
    ):
        raise ValueError(
            f"train (D, M) = {(train_features.shape[1], train_targets.shape[1])} but val "
            f"{(val_features.shape[1], val_targets.shape[1])}"
        )


def _global_count(values: torch.Tensor, collective: Collective) -> int:
    """The sum over workers of a local count."""
    return int(collective.sum(values.to(torch.float64).sum().reshape(1)).item())


def fit_motion_layer(
    train: MotionData,
    val: MotionData,
    settings: LayerSettings,
    collective: Collective = _ONE_PROCESS,
    resume: LayerState | None = None,
    on_eval: Callable[[LayerState], None] | None = None,
) -> LayerState:
    """Eq. 4, Xavier init, Adam, full batch, `steps` steps; keeps the best-validation weights."""
    _check_dims(train.features, train.targets, val.features, val.targets)
    for split, data in (("train", train), ("validation", val)):
        if _global_count(data.known, collective) == 0:
            raise InputError(
                f"no {split} video has motion labels (every one lost all its clips); the "
                f"motion layer cannot be fitted: check the keyframe and pose stages, or "
                f"leave 'motion' out of train.concept_types"
            )
    layer = new_concept_layer(train.features.shape[1], train.targets.shape[1], "xavier",
                              settings.seed).to(train.features.device)
    entries = known_motion_entries(train.known, train.targets.shape[1], collective)
    return _fit(
        "motion",
        layer,
        lambda net: motion_loss_share(
            net(train.features), train.targets, train.known, entries, collective.world_size
        ),
        lambda net: motion_loss(net(val.features), val.targets, val.known, collective),
        settings,
        collective,
        stop_without_improvement=False,
        resume=resume,
        on_eval=on_eval,
    )


def fit_language_layer(
    train: LanguageData,
    val: LanguageData,
    settings: LayerSettings,
    collective: Collective = _ONE_PROCESS,
    resume: LayerState | None = None,
    on_eval: Callable[[LayerState], None] | None = None,
) -> LayerState:
    """-cos^3, default init, Adam, full batch; stops at the first non-improving validation."""
    _check_dims(train.features, train.targets, val.features, val.targets)
    layer = new_concept_layer(train.features.shape[1], train.targets.shape[1], "default",
                              settings.seed).to(train.features.device)
    # Prepared once per fit: the targets' centred cubes, and the features centred by their
    # global means, so that a bias-free layer's outputs are centred too (mean(X) W^T is
    # the mean of X W^T). A step then makes three all-reduces: the loss's sums, their
    # gradient, and the weights' gradient.
    dtype = layer.weight.dtype
    train_targets = prepare_cos3_targets(train.targets, dtype, collective)
    val_targets = prepare_cos3_targets(val.targets, dtype, collective)
    train_centred = centre_columns(train.features, collective)
    val_centred = centre_columns(val.features, collective)

    def loss(net: torch.nn.Linear, features: torch.Tensor, targets: Cos3Targets) -> torch.Tensor:
        return cos3_loss(net(features), targets, settings.per, collective, centred=True)

    return _fit(
        "language",
        layer,
        lambda net: loss(net, train_centred, train_targets),
        lambda net: loss(net, val_centred, val_targets),
        settings,
        collective,
        stop_without_improvement=True,
        resume=resume,
        on_eval=on_eval,
    )


def validation_similarity(
    layer: torch.nn.Linear, val: LanguageData, collective: Collective = _ONE_PROCESS
) -> torch.Tensor:
    """(M,) per-concept cos^3 similarity on the validation rows of all workers."""
    with torch.no_grad():
        return cos3_similarity(layer(val.features), val.targets, "concept", collective)
