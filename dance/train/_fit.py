"""Training a DANCE model end to end on one worker's rows: concept layers, cuts, standardise, Eq. 6.

    for each concept type (motion, object, scene, as configured):
        motion:          fit Linear(D, M) on the multi-hot labels (Eq. 4)
        object / scene:  clip cut on train pseudo labels -> fit Linear(D, M) with -cos^3
                         (Eq. 5) -> interpretability cut on validation similarity
    standardise the concatenated activations with the train mean and unbiased std
    fit the sparse final layer (Eq. 6) on the standardised train activations

Every worker runs the same phases in lockstep on its own rows; sums go through the
collective (dance.train._collective), so one process and N workers train the same model.
A `TrainProgress` is handed to `on_checkpoint` after every validation and every finished
phase; passing it back as `progress` continues exactly where it stopped.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from dance.config import TrainConfig
from dance.errors import InputError
from dance.train._collective import Collective
from dance.train._concept_layers import (
    LanguageData,
    LayerSettings,
    LayerState,
    MotionData,
    fit_language_layer,
    fit_motion_layer,
    validation_similarity,
)
from dance.train._cuts import clip_cut, interpretability_cut
from dance.train._data import TrainingArrays, validation_split
from dance.train._elastic_net import ElasticNet, SolverResult
from dance.train._fista import fit_proximal
from dance.train._saga import fit_saga
from dance.train._standardize import Standardizer

TYPE_COLUMNS = {"motion": "motion", "object": "objects", "scene": "scenes"}
Checkpoint = Callable[["TrainProgress"], None]


class EmptyConceptTypeError(InputError):
    """A concept type has no concept left after the cuts."""


@dataclass
class TypeResult:
    """One concept type's trained layer: its kept concepts and what the cuts dropped."""

    weight: torch.Tensor  # (M_kept, D) float32
    names: list[str]
    dropped: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TrainProgress:
    """Where training stands: finished types, the layer in progress, the final layer."""

    types: dict[str, TypeResult] = field(default_factory=dict)
    current: str | None = None  # the type whose layer is being fitted
    layer: LayerState | None = None
    standardizer: Standardizer | None = None
    final: SolverResult | None = None

    def describe(self) -> str:
        """Where training stands, in one line."""
        if self.final is not None:
            return (
                f"final layer: objective {self.final.objective:.6g}, "
                f"{self.final.nonzeros} non-zero weights"
            )
        if self.layer is not None and self.current is not None:
            last = _history(self.layer)[-1] if self.layer.history else {}
            return (
                f"{self.current} layer: step {self.layer.step}, val loss "
                f"{last.get('val_loss', float('nan')):.5g} (best {self.layer.best_val_loss:.5g})"
            )
        done = ", ".join(f"{k} ({len(r.names)} concepts)" for k, r in self.types.items())
        return f"concept layers done: {done or 'none'}"

    def metrics(self) -> dict[str, Any]:
        """Numbers for Ray Train's report: the phase, its step and losses."""
        metrics: dict[str, Any] = {"phase": self.current or ("final" if self.final else "layers")}
        if self.layer is not None and self.layer.history:
            metrics.update(_history(self.layer)[-1])
        if self.final is not None:
            metrics.update(objective=self.final.objective, train_acc=self.final.train_accuracy)
        return metrics

    def to_tensors(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Tensors (for safetensors) and JSON that `from_tensors` turns back into this."""
        tensors: dict[str, torch.Tensor] = {}
        meta: dict[str, Any] = {"types": {}, "current": self.current}
        for kind, result in self.types.items():
            tensors[f"types.{kind}.weight"] = result.weight.contiguous()
            meta["types"][kind] = {
                "names": result.names, "dropped": result.dropped, "history": result.history
            }
        if self.layer is not None:
            layer_tensors, meta["layer"] = self.layer.to_tensors()
            tensors.update({f"layer.{k}": v for k, v in layer_tensors.items()})
        if self.standardizer is not None:
            tensors["standardize.mean"] = self.standardizer.mean.contiguous()
            tensors["standardize.std"] = self.standardizer.std.contiguous()
        if self.final is not None:
            tensors["final.weight"] = torch.as_tensor(self.final.W).contiguous()
            tensors["final.bias"] = torch.as_tensor(self.final.b).contiguous()
            meta["final"] = self.final.to_json()
        return tensors, meta

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> TrainProgress:
        """The progress `to_tensors` saved."""
        progress = cls(current=meta.get("current"))
        for kind, info in meta["types"].items():
            progress.types[kind] = TypeResult(
                weight=tensors[f"types.{kind}.weight"],
                names=list(info["names"]),
                dropped=list(info["dropped"]),
                history=list(info["history"]),
            )
        if "layer" in meta:
            layer = {k.removeprefix("layer."): v for k, v in tensors.items() if k.startswith("layer.")}
            progress.layer = LayerState.from_tensors(layer, meta["layer"])
        if "standardize.mean" in tensors:
            progress.standardizer = Standardizer(
                mean=tensors["standardize.mean"], std=tensors["standardize.std"]
            )
        if "final" in meta:
            info = {k: v for k, v in meta["final"].items() if k != "nonzeros"}
            info["history"] = [tuple(point) for point in info["history"]]
            progress.final = SolverResult(
                W=tensors["final.weight"], b=tensors["final.bias"], **info
            )
        return progress


def _history(state: LayerState) -> list[dict[str, float]]:
    """A layer's validations as JSON rows: step, train loss, validation loss."""
    return [
        {"step": int(step), "train_loss": float(train), "val_loss": float(val)}
        for step, train, val in state.history
    ]


def _layer_settings(cfg: TrainConfig, kind: str, seed: int) -> LayerSettings:
    """Motion clusters: Eq. 4's fixed step count; language concepts: Eq. 5's early stop."""
    per = "concept" if cfg.concept_loss == "per_concept" else "sample"
    if kind == "motion" and cfg.motion_concepts == "clusters":
        return LayerSettings(lr=cfg.motion_lr, steps=cfg.motion_steps, eval_every=cfg.eval_every,
                             seed=seed, per=per)
    offset = ("motion", "object", "scene").index(kind)  # each layer its own seeded init
    return LayerSettings(lr=cfg.concept_lr, steps=cfg.concept_max_steps,
                         eval_every=cfg.eval_every, seed=seed + offset, per=per)


def _tensor(array: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(device)


def _fit_type(
    kind: str,
    train: TrainingArrays,
    val: TrainingArrays,
    names: list[str],
    cfg: TrainConfig,
    seed: int,
    collective: Collective,
    progress: TrainProgress,
    on_checkpoint: Checkpoint,
    device: torch.device | str,
) -> TypeResult:
    """Fit one type's concept layer (with its cuts for object and scene) on `device`."""
    settings = _layer_settings(cfg, kind, seed)
    resume = progress.layer if progress.current == kind else None

    def on_eval(state: LayerState) -> None:
        progress.current, progress.layer = kind, state
        on_checkpoint(progress)

    if kind == "motion" and cfg.motion_concepts == "clusters":
        def data(rows: TrainingArrays) -> MotionData:
            return MotionData(_tensor(rows.features, device), _tensor(rows.motion, device),
                              torch.from_numpy(rows.motion_known).to(device))
        state = fit_motion_layer(data(train), data(val), settings, collective, resume, on_eval)
        return TypeResult(weight=state.best_weight.cpu(), names=names, history=_history(state))

    column = TYPE_COLUMNS[kind]
    train = train.rows(train.language_known)
    val = val.rows(val.language_known)
    cut = clip_cut(
        _tensor(getattr(train, column), device), names, cfg.clip_cut, cfg.clip_cut_top_k,
        collective,
    )
    dropped = list(cut.to_json()["dropped"])
    kept = list(cut.kept)

    def language(rows: TrainingArrays) -> LanguageData:
        return LanguageData(
            _tensor(rows.features, device), _tensor(getattr(rows, column)[:, kept], device)
        )

    if not kept:
        return TypeResult(weight=torch.zeros(0, train.features.shape[1]), names=[], dropped=dropped)
    state = fit_language_layer(language(train), language(val), settings, collective, resume, on_eval)
    similarity = validation_similarity(state.best_layer(), language(val), collective)
    kept_names = [names[i] for i in kept]
    second = interpretability_cut(similarity, kept_names, cfg.interpretability_cut)
    dropped += list(second.to_json()["dropped"])
    return TypeResult(
        weight=state.best_weight[list(second.kept)].cpu(),
        names=list(second.kept_names),
        dropped=dropped,
        history=_history(state),
    )


def concept_activations(
    features: np.ndarray, progress: TrainProgress, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """(N, K) raw activations of the fitted layers, types in their fitted order, on `device`."""
    x = _tensor(features, device)
    parts = [
        x @ result.weight.to(x.device).T for result in progress.types.values() if len(result.names)
    ]
    return torch.cat(parts, dim=1) if parts else x[:, :0]


def fit_model(
    arrays: TrainingArrays,
    names: dict[str, list[str]],
    num_classes: int,
    cfg: TrainConfig,
    seed: int,
    collective: Collective | None = None,
    progress: TrainProgress | None = None,
    on_checkpoint: Checkpoint | None = None,
    device: torch.device | str = "cpu",
) -> TrainProgress:
    """Train on this worker's rows (all splits) on `device`; returns the finished progress.

    The tensors `progress` keeps (and checkpoints) are on the CPU whatever `device` is.
    """
    collective = collective or Collective()
    progress = progress or TrainProgress()
    on_checkpoint = on_checkpoint or (lambda _: None)
    train = arrays.split("train")
    val = arrays.split(validation_split(cfg.paper_protocol))
    if cfg.variant == "dance":
        for kind in cfg.concept_types:
            if kind in progress.types:
                continue
            result = _fit_type(kind, train, val, names[TYPE_COLUMNS[kind]], cfg, seed,
                               collective, progress, on_checkpoint, device)
            if not result.names:
                _empty_type(kind, result, cfg)
            progress.types[kind] = result
            progress.current, progress.layer = None, None
            on_checkpoint(progress)
        activations = concept_activations(train.features, progress, device)
    else:
        activations = _tensor(train.features, device)
    if activations.shape[1] == 0:
        raise EmptyConceptTypeError(
            "no concept is left after the cuts in any type; lower train.clip_cut / "
            "train.interpretability_cut or check the concept labels (concepts/labels.parquet)"
        )
    if progress.standardizer is None:
        progress.standardizer = Standardizer.fit(activations, collective).to("cpu")
    if progress.final is None:
        x = progress.standardizer.to(activations.device).apply(activations).double()
        y = torch.from_numpy(train.labels).to(activations.device)
        net = ElasticNet(lam=cfg.lam, alpha=cfg.alpha)
        slices = type_slices(progress, activations.shape[1], cfg.variant)
        if cfg.solver == "saga":
            if collective.world_size > 1:
                raise InputError(
                    "train.solver=saga runs in one process, as GLM-SAGA; set "
                    "train.resources.pool_size=1, or use train.solver=proximal"
                )
            progress.final = fit_saga(  # GLM-SAGA's minibatch loop: on the CPU
                x.cpu(), y.cpu(), net, num_classes=num_classes, step=cfg.saga_step,
                batch=cfg.saga_batch,
                tol=cfg.saga_tol, max_epochs=cfg.saga_max_epochs, seed=seed,
                dtype=torch.float64, type_slices=slices,
            )
        else:
            progress.final = fit_proximal(
                x, y, num_classes, net, collective=collective, tol=cfg.proximal_tol,
                max_iter=cfg.proximal_max_iter, type_slices=slices,
            ).to("cpu")
        on_checkpoint(progress)
    return progress


def type_slices(progress: TrainProgress, width: int, variant: str) -> dict[str, slice]:
    """Column slice of each concept type in the final layer's input ("feature" for a probe)."""
    if variant != "dance":
        return {"feature": slice(0, width)}
    slices, start = {}, 0
    for kind, result in progress.types.items():
        slices[kind] = slice(start, start + len(result.names))
        start += len(result.names)
    return slices


def _empty_type(kind: str, result: TypeResult, cfg: TrainConfig) -> None:
    """Raise (or warn, with train.allow_empty_types) naming the cuts that emptied a type."""
    rules = sorted({f"{d['rule']} (threshold {d['threshold']})" for d in result.dropped})
    message = (
        f"no {kind} concept is left after the cuts: {', '.join(rules) or 'none were given'}"
    )
    if not cfg.allow_empty_types:
        raise EmptyConceptTypeError(
            f"{message}; lower the threshold (train.clip_cut, train.interpretability_cut), "
            f"or set train.allow_empty_types=true to train without {kind} concepts"
        )
    warnings.warn(f"{message}; training without {kind} concepts", stacklevel=2)
