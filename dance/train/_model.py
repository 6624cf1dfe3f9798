"""DanceModel: a trained concept-bottleneck classifier over frozen backbone features.

From a batch of backbone features x (N, D) the model computes, in order:

    concept activations   a = [x W_motion^T | x W_object^T | x W_scene^T]     (N, K)
    standardised          z = (a - mean) / std   (train mean and unbiased std)  (N, K)
    logits                y = z W^T + b                                         (N, C)
    contributions         z_k * W[c, k] for the predicted (or a given) class c  (N, K)

so the logit of class c is exactly b[c] plus the sum over k of its contributions (paper
section 4.1). Columns are ordered motion, object, scene; any type may be absent (an
LF-CBM baseline has no motion layer). `kind` names the model family: "dance" and "cbm"
have concept layers; a "linear_probe" has none, and its "concepts" are the standardised
features themselves (type "feature"), so Table 1's baseline is evaluated by the same code.

The model is frozen (no parameter requires grad): it is for prediction, explanation and
editing. Class-level edits write into `final.weight` directly. It saves and loads as a
bundle of safetensors plus JSON (see _model_io); the tensor names are the module's own
state_dict keys, e.g. concepts.motion.weight, standardize.mean, final.weight.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import torch

from dance import storage
from dance.errors import InputError
from dance.train._model_io import (
    CONCEPT_TYPES,
    FEATURE_TYPE,
    INDEX_FILE,
    MODEL_KINDS,
    BundleError,
    malformed,
    model_arguments,
    read_bundle,
    write_bundle,
)

PREDICTIONS_SCHEMA = pa.schema(
    [
        pa.field("video_id", pa.string(), nullable=False),
        pa.field("label", pa.int32(), nullable=False),
        pa.field("prediction", pa.int32(), nullable=False),
        pa.field("top5", pa.list_(pa.int32()), nullable=False),
        pa.field("margin", pa.float32(), nullable=False),
    ]
)

ArrayLike = torch.Tensor | np.ndarray


@dataclass(frozen=True)
class Predictions:
    """Per-row predicted class, the top-k classes (best first) and the top1 - top2 logit margin."""

    prediction: torch.Tensor  # (N,) int64, equal to top_k[:, 0]
    top_k: torch.Tensor  # (N, min(k, C)) int64
    margin: torch.Tensor  # (N,) same dtype as the logits


class _Standardize(torch.nn.Module):
    """z = (a - mean) / std with fixed (train) statistics held as buffers."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, activations: torch.Tensor) -> torch.Tensor:
        """Standardise (N, K) activations."""
        return (activations - self.mean) / self.std


def _float_tensor(value: ArrayLike, name: str, ndim: int) -> torch.Tensor:
    """A float32 CPU copy of `value`, checked for its number of dimensions and finiteness."""
    tensor = torch.as_tensor(_writable(value))
    if not (tensor.is_floating_point() and tensor.ndim == ndim):
        raise ValueError(
            f"{name} must be a {ndim}-D float array, got {tensor.dtype} {tuple(tensor.shape)}"
        )
    tensor = tensor.detach().to(device="cpu", dtype=torch.float32).clone().contiguous()
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return tensor


def _writable(value: Any) -> Any:
    """`value`, copied if it is a read-only numpy array (e.g. zero-copy from Arrow).

    torch.as_tensor warns on read-only arrays, since the tensor would share their memory.
    """
    if isinstance(value, np.ndarray) and not value.flags.writeable:
        return value.copy()
    return value


def _frozen_linear(weight: torch.Tensor, bias: torch.Tensor | None) -> torch.nn.Linear:
    """A Linear layer holding exactly `weight` (and `bias`), with gradients off."""
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    layer.weight = torch.nn.Parameter(weight, requires_grad=False)
    if bias is not None:
        layer.bias = torch.nn.Parameter(bias, requires_grad=False)
    return layer


def _names(values: Sequence[str], what: str, count: int) -> list[str]:
    """`values` as a list of exactly `count` strings."""
    names = list(values)
    if len(names) != count or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{what} must be {count} strings, got {len(names)}: {names[:3]}...")
    return names


class DanceModel(torch.nn.Module):
    """A trained DANCE (or CBM, or linear-probe) model: features -> concepts -> classes."""

    def __init__(
        self,
        *,
        kind: str,
        concept_weights: Mapping[str, ArrayLike],
        mean: ArrayLike,
        std: ArrayLike,
        final_weight: ArrayLike,
        final_bias: ArrayLike,
        concept_names: Mapping[str, Sequence[str]],
        class_names: Sequence[str],
        concept_sources: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Build from trained tensors; types with zero concepts count as absent."""
        super().__init__()
        if kind not in MODEL_KINDS:
            raise ValueError(f"kind must be one of {MODEL_KINDS}, got {kind!r}")
        unknown = set(concept_weights) - set(CONCEPT_TYPES)
        if unknown:
            raise ValueError(f"concept types must be among {CONCEPT_TYPES}, got {sorted(unknown)}")
        weights = {
            t: _float_tensor(concept_weights[t], f"concept_weights[{t!r}]", 2)
            for t in CONCEPT_TYPES
            if t in concept_weights
        }
        weights = {t: w for t, w in weights.items() if w.shape[0] > 0}
        mean_t, std_t = _float_tensor(mean, "mean", 1), _float_tensor(std, "std", 1)
        final_w = _float_tensor(final_weight, "final_weight", 2)
        final_b = _float_tensor(final_bias, "final_bias", 1)

        if kind == "linear_probe":
            if weights:
                raise ValueError("a linear_probe has no concept layers; pass concept_weights={}")
            self._types = [FEATURE_TYPE]
            counts = {FEATURE_TYPE: mean_t.shape[0]}
            self.feature_dim = mean_t.shape[0]
        else:
            if not weights:
                raise ValueError(f"a {kind!r} model needs at least one non-empty concept layer")
            dims = {w.shape[1] for w in weights.values()}
            if len(dims) != 1:
                raise ValueError(f"concept layers disagree on the feature size D: {sorted(dims)}")
            self._types = list(weights)
            counts = {t: w.shape[0] for t, w in weights.items()}
            self.feature_dim = dims.pop()
        self.concepts = torch.nn.ModuleDict(
            {t: _frozen_linear(w, None) for t, w in weights.items()}
        )

        given_names = dict(concept_names)
        if kind == "linear_probe" and not given_names:
            given_names = {FEATURE_TYPE: [f"feature_{i:04d}" for i in range(counts[FEATURE_TYPE])]}
        extra = {t for t, names in given_names.items() if t not in counts and len(names) > 0}
        if extra:
            raise ValueError(f"concept_names has names for types without a layer: {sorted(extra)}")
        self._names = {
            t: _names(given_names.get(t, []), f"concept_names[{t!r}]", n) for t, n in counts.items()
        }
        self._sources = {t: s for t, s in dict(concept_sources or {}).items() if t in counts}
        if not all(isinstance(s, str) for s in self._sources.values()):
            raise ValueError(f"concept_sources must map types to strings, got {self._sources}")

        total = sum(counts.values())
        if mean_t.shape != (total,) or std_t.shape != (total,):
            raise ValueError(
                f"mean and std must have one value per concept ({total}), got "
                f"{tuple(mean_t.shape)} and {tuple(std_t.shape)}"
            )
        if not (std_t > 0).all():
            raise ValueError(
                "std must be positive for every concept (a constant concept cannot be standardised)"
            )
        self.standardize = _Standardize(mean_t, std_t)
        if final_w.shape[1] != total or final_b.shape != (final_w.shape[0],):
            raise ValueError(
                f"final_weight must be (C, {total}) and final_bias (C,), got "
                f"{tuple(final_w.shape)} and {tuple(final_b.shape)}"
            )
        if final_w.shape[0] < 2:
            raise ValueError(f"a classifier needs at least 2 classes, got {final_w.shape[0]}")
        self.final = _frozen_linear(final_w, final_b)
        self.class_names = _names(class_names, "class_names", final_w.shape[0])
        if len(set(self.class_names)) != len(self.class_names):
            raise ValueError("class_names repeat; each class needs its own name")
        self.kind = kind
        # The bundle this model was loaded from ({"path", "weights_sha256"}); None if built here.
        self.source: dict[str, str] | None = None
        self.metadata = dict(metadata or {})
        try:  # fail now, not at save time
            json.dumps(self.metadata, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"metadata must be JSON-ready (dicts, lists, str, int, finite float, bool, "
                f"None): {exc}"
            ) from exc

    # -- column layout -------------------------------------------------------------------

    @property
    def num_concepts(self) -> int:
        """K, the number of concept columns (the feature size for a linear probe)."""
        return int(self.standardize.mean.shape[0])

    @property
    def num_classes(self) -> int:
        """C, the number of classes."""
        return int(self.final.weight.shape[0])

    @property
    def concept_names(self) -> list[str]:
        """Every concept's name, in column order."""
        return [name for t in self._types for name in self._names[t]]

    @property
    def concept_types(self) -> list[str]:
        """Every concept's type ("motion", "object", "scene" or "feature"), in column order."""
        return [t for t in self._types for _ in self._names[t]]

    @property
    def concept_names_by_type(self) -> dict[str, list[str]]:
        """Concept names per present type, in column order."""
        return {t: list(self._names[t]) for t in self._types}

    @property
    def concept_sources(self) -> dict[str, str]:
        """Where each type's concepts came from, e.g. {"motion": "finch", "object": "llm"}."""
        return dict(self._sources)

    @property
    def type_slices(self) -> dict[str, slice]:
        """Each type's columns; an absent concept type gets an empty slice where it would sit."""
        types = [FEATURE_TYPE] if self.kind == "linear_probe" else list(CONCEPT_TYPES)
        slices, start = {}, 0
        for t in types:
            stop = start + len(self._names.get(t, []))
            slices[t] = slice(start, stop)
            start = stop
        return slices

    # -- computation ---------------------------------------------------------------------

    def _features(self, features: ArrayLike) -> torch.Tensor:
        """Features as a (N, D) tensor on the model's device and dtype."""
        tensor = torch.as_tensor(_writable(features))
        if not tensor.is_floating_point() or tensor.ndim != 2:
            raise TypeError(
                f"features must be a (N, D) float array, got {tensor.dtype} {tuple(tensor.shape)}"
            )
        if tensor.shape[1] != self.feature_dim:
            raise InputError(
                f"features have {tensor.shape[1]} columns but this model expects "
                f"{self.feature_dim}; extract them with the backbone the model was trained on "
                f"(its metadata['backbone']: {self.metadata.get('backbone')})"
            )
        weight = self.final.weight
        return tensor.to(device=weight.device, dtype=weight.dtype)

    def concept_activations(self, features: ArrayLike) -> torch.Tensor:
        """Raw concept activations (N, K), columns motion | object | scene."""
        x = self._features(features)
        if self.kind == "linear_probe":
            return x
        return torch.cat([self.concepts[t](x) for t in self._types], dim=1)

    def standardized(self, features: ArrayLike) -> torch.Tensor:
        """Standardised concept activations (N, K): (activation - train mean) / train std."""
        return self.standardize(self.concept_activations(features))

    def logits_from_standardized(self, standardized: torch.Tensor) -> torch.Tensor:
        """Logits (N, C) from standardised activations, e.g. after zeroing a concept."""
        return self.final(standardized)

    def logits(self, features: ArrayLike) -> torch.Tensor:
        """Class logits (N, C)."""
        return self.final(self.standardized(features))

    def forward(self, features: ArrayLike) -> torch.Tensor:
        """Class logits (N, C), so the model can be called like any torch module."""
        return self.logits(features)

    def contributions(
        self, features: ArrayLike, classes: ArrayLike | Sequence[int] | int | None = None
    ) -> torch.Tensor:
        """(N, K) standardised activation x W[c, k] for each row's predicted (or given) class c."""
        z = self.standardized(features)
        if classes is None:
            chosen = self.final(z).argmax(dim=1)
        else:
            chosen = torch.as_tensor(classes, dtype=torch.int64, device=z.device)
            if chosen.ndim == 0:
                chosen = chosen.expand(z.shape[0])
            if chosen.shape != (z.shape[0],):
                raise ValueError(
                    f"classes must be one class per row ({z.shape[0]}), got {tuple(chosen.shape)}"
                )
            if chosen.numel() and (chosen.min() < 0 or chosen.max() >= self.num_classes):
                raise ValueError(
                    f"classes must lie in [0, {self.num_classes}), got {chosen.tolist()[:5]}"
                )
        return z * self.final.weight[chosen]

    def predict(self, features: ArrayLike, top_k: int = 5) -> Predictions:
        """Predicted classes, the top-k classes (k capped at C) and the top1 - top2 margin."""
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        logits = self.logits(features)
        # A stable descending sort ranks tied classes by index, as argmax does.
        values, order = torch.sort(logits, dim=1, descending=True, stable=True)
        return Predictions(
            prediction=order[:, 0], top_k=order[:, :top_k], margin=values[:, 0] - values[:, 1]
        )

    def predictions_table(
        self, video_ids: Sequence[str], features: ArrayLike, labels: ArrayLike | Sequence[int]
    ) -> pa.Table:
        """Per-video predictions (PREDICTIONS_SCHEMA): video_id, label, prediction, top5, margin."""
        label_array = np.asarray(labels)
        if len(video_ids) != len(features) or label_array.shape != (len(video_ids),):
            raise ValueError(
                f"video_ids ({len(video_ids)}), features ({len(features)}) and labels "
                f"{label_array.shape} must have one entry per video"
            )
        result = self.predict(features, top_k=5)
        top = result.top_k.cpu().numpy().astype(np.int32)
        offsets = np.arange(top.shape[0] + 1, dtype=np.int32) * top.shape[1]
        return pa.table(
            {
                "video_id": pa.array(list(video_ids), pa.string()),
                "label": pa.array(label_array.astype(np.int32)),
                "prediction": pa.array(result.prediction.cpu().numpy().astype(np.int32)),
                "top5": pa.ListArray.from_arrays(pa.array(offsets), pa.array(top.reshape(-1))),
                "margin": pa.array(result.margin.cpu().numpy().astype(np.float32)),
            }
        ).cast(PREDICTIONS_SCHEMA)

    # -- bundle --------------------------------------------------------------------------

    def save_pretrained(self, directory: str) -> None:
        """Write model.safetensors and dance_model.json to `directory` (local or s3://), float32."""
        tensors = {name: t.to(torch.float32) for name, t in self.state_dict().items()}
        fields = {
            "kind": self.kind,
            "feature_dim": self.feature_dim,
            "concepts": {
                t: {"names": self._names[t], "source": self._sources.get(t)} for t in self._types
            },
            "class_names": self.class_names,
            "metadata": self.metadata,
        }
        write_bundle(directory, tensors, fields)

    @classmethod
    def from_pretrained(cls, directory: str, device: str | torch.device = "cpu") -> DanceModel:
        """Load a bundle written by save_pretrained, checking it whole; never unpickles."""
        document, tensors = read_bundle(directory)
        uri = storage.join(directory, INDEX_FILE)
        arguments = model_arguments(document, tensors, uri)
        try:
            model = cls(**arguments)
        except (ValueError, TypeError) as exc:
            raise BundleError(
                f"{uri} and its tensors do not make a model ({exc}); save the model again "
                "with DanceModel.save_pretrained"
            ) from exc
        if document.get("feature_dim") != model.feature_dim:
            raise malformed(
                uri,
                f"feature_dim is {document.get('feature_dim')!r} but the tensors give "
                f"{model.feature_dim}",
            )
        model.source = {"path": directory, "weights_sha256": document["weights_sha256"]}
        return model.to(device)
