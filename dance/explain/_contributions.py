"""Per-video explanations: which concepts made a class's logit, split by concept type.

For class c and standardised concept activations z (paper section 4.1),

    contribution_k = z_k * W[c, k]        logit_c = b[c] + sum_k contribution_k

exactly, so an explanation accounts for the whole logit: the bias plus each type's summed
contributions. A concept with a negative standardised activation and a non-zero weight
acts through its absence (it is below its training mean); Label-free CBM shows it as
"NOT <concept>", and so do we. The top concepts are the k largest contributions, the
concepts that pushed the class up most.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from dance.train import DanceModel

ArrayLike = torch.Tensor | np.ndarray


@dataclass(frozen=True)
class ConceptContribution:
    """One concept's part in one class logit of one video."""

    index: int  # column in the model's concept order
    name: str
    type: str  # motion, object, scene (feature for a linear probe)
    activation: float  # standardised
    weight: float  # W[c, index]
    contribution: float  # activation * weight

    @property
    def shown_name(self) -> str:
        """The name as an explanation shows it: "NOT <name>" when the concept is absent."""
        return f"NOT {self.name}" if self.activation < 0 and self.weight != 0 else self.name


@dataclass(frozen=True)
class VideoExplanation:
    """Why a video got (or would get) a class: bias + per-type sums = the logit."""

    video_id: str
    class_index: int
    class_name: str
    logit: float
    bias: float
    by_type: dict[str, float]  # summed contributions per concept type
    top: tuple[ConceptContribution, ...]
    top_by_type: dict[str, tuple[ConceptContribution, ...]]

    def shares(self) -> dict[str, float]:
        """Each type's share of the evidence: its summed |contributions| over all types'."""
        total = sum(abs(v) for v in self.by_type.values())
        return {t: (abs(v) / total if total else 0.0) for t, v in self.by_type.items()}


def explain_videos(
    model: DanceModel,
    video_ids: Sequence[str],
    features: ArrayLike,
    classes: Sequence[int] | None = None,
    top_k: int = 3,
) -> list[VideoExplanation]:
    """Explanations of each video's predicted class (or the given classes), batched."""
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    if len(video_ids) != len(features):
        raise ValueError(f"{len(video_ids)} video ids for {len(features)} feature rows")
    with torch.no_grad():
        # DanceModel.logits / contributions, in float64, so bias + the parts adds up to
        # the logit to rounding whatever the number of concepts
        z = model.standardized(features).to(torch.float64)
        weight = model.final.weight.to(torch.float64)
        bias = model.final.bias.to(torch.float64)
        logits = z @ weight.T + bias
        chosen = logits.argmax(dim=1) if classes is None else torch.as_tensor(classes)
        contributions = z * weight[chosen]
    names, types = model.concept_names, model.concept_types
    out = []
    for row, video_id in enumerate(video_ids):
        c = int(chosen[row])

        def part(k: int, row: int = row, c: int = c) -> ConceptContribution:
            return ConceptContribution(k, names[k], types[k], float(z[row, k]),
                                       float(weight[c, k]), float(contributions[row, k]))

        values = contributions[row].numpy()
        # stable sort: equal contributions keep the model's concept order
        order = np.argsort(-values, kind="stable")
        by_type, top_by_type = {}, {}
        for kind, columns in model.type_slices.items():
            by_type[kind] = float(values[columns].sum())
            ranked = [k for k in order if columns.start <= k < columns.stop]
            top_by_type[kind] = tuple(part(int(k)) for k in ranked[:top_k])
        out.append(VideoExplanation(
            video_id=video_id, class_index=c, class_name=model.class_names[c],
            logit=float(logits[row, c]), bias=float(bias[c]), by_type=by_type,
            top=tuple(part(int(k)) for k in order[:top_k]), top_by_type=top_by_type,
        ))
    return out
