"""A sampled video's page: prediction, top concepts with type, value and weight, the
motion concepts animated, each type's part of the logit, and the single interventions
(one concept set to its training mean) that would flip the prediction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from dance.explain import VideoExplanation
from dance.report._html import class_file, esc, page, percent, table, type_badge
from dance.train import DanceModel


@dataclass(frozen=True)
class Flip:
    """Zeroing one concept's standardised activation changes the predicted class."""

    concept: int
    new_class: int


def prediction_flips(model: DanceModel, features: np.ndarray, limit: int = 10
                     ) -> list[list[Flip]]:
    """Per row, the single-concept interventions (set to 0) that change the prediction."""
    with torch.no_grad():
        z = model.standardized(features).double()
        weight = model.final.weight.double()
        logits = z @ weight.T + model.final.bias.double()
    predicted = logits.argmax(1)
    out = []
    for row in range(len(z)):
        # logits with concept k zeroed, for every k at once: (K, C)
        edited = logits[row][None, :] - z[row][:, None] * weight.T
        new = edited.argmax(1)
        changed = torch.nonzero(new != predicted[row]).flatten()
        # the concepts whose removal moves the predicted logit most first
        order = changed[torch.argsort(-(z[row, changed] * weight[predicted[row], changed]),
                                      stable=True)]
        out.append([Flip(int(k), int(new[k])) for k in order[:limit]])
    return out


def video_page(
    explanation: VideoExplanation,
    confidence: float,
    model: DanceModel,
    flips_of_video: Sequence[Flip],
    animations: Mapping[str, str] | None = None,
    strip: str | None = None,
    label: int | None = None,
    split: str | None = None,
    cam: str | None = None,
) -> str:
    """The HTML page of one video, one folder below the site root (`animations`: motion
    concept name -> asset path from the root; `label`: the true class, when known; `cam`:
    the Grad-CAM panel's HTML, shown beside the top concepts)."""
    classes = model.class_names
    animations = animations or {}
    predicted = (f'Predicted: <strong id="prediction">{esc(explanation.class_name)}</strong> '
                 f"({percent(confidence)} confidence)")
    if label is None:
        said = f"<p>{predicted}.</p>"
    else:
        right = explanation.class_index == label
        verdict = ('<span class="ok">correct</span>' if right
                   else '<span class="wrong">wrong</span>')
        said = (f"<p>{esc(split or '')} split. True class: <a href=\"../classes/"
                f"{class_file(label)}\">{esc(classes[label])}</a>. {predicted}, {verdict}.</p>")
    parts = [f"<h1>Video <code>{esc(explanation.video_id)}</code></h1>", said]
    if strip:
        parts.append(f'<img class="strip" src="../{esc(strip)}" alt="key frames">')
    parts.append("<h2>Why: the top concepts</h2>")
    rows = []
    for rank, part in enumerate(explanation.top, 1):
        picture = ""
        if part.type == "motion" and part.name in animations:
            picture = (f'<img class="animation" src="../{esc(animations[part.name])}" '
                       f'alt="pose animation of {esc(part.name)}">')
        rows.append((
            str(rank), type_badge(part.type),
            (f'<span class="concept" data-concept-type="{esc(part.type)}">'
            f"{esc(part.shown_name)}</span>{picture}"),
            f"{part.activation:+.3f}", f"{part.weight:+.3f}", f"{part.contribution:+.3f}",
        ))
    top_table = table(("#", "type", "concept", "value (standardised)", "weight",
                       "contribution"), rows, "top-concepts")
    parts.append(top_table if cam is None else (
        '<div class="beside" style="display:flex;flex-wrap:wrap;gap:24px;'
        f'align-items:flex-start"><div>{top_table}</div>{cam}</div>'))
    shares = explanation.shares()
    parts.append("<h2>The logit, by concept type</h2>")
    parts.append(table(
        ("part", "sum of contributions", "share of the evidence"),
        [("bias", f"{explanation.bias:+.3f}", "")]
        + [(type_badge(t), f"{v:+.3f}", percent(shares[t])) for t, v in explanation.by_type.items()]
        + [("<strong>logit</strong>", f"{explanation.logit:+.3f}", "")],
    ))
    parts.append("<h2>Top concepts per type</h2>")
    for kind, top in explanation.top_by_type.items():
        names = ", ".join(f"{esc(p.shown_name)} ({p.contribution:+.3f})" for p in top
                          if p.contribution != 0)
        parts.append(f"<p>{type_badge(kind)} {names or '<span class=muted>none</span>'}</p>")
    moving = [p for p in explanation.top_by_type.get("motion", ()) if p.name in animations]
    if moving:
        parts.append("<h2>Its motion concepts</h2><div class=\"gallery\">" + "".join(
            f'<div class="card"><img class="animation" src="../{esc(animations[p.name])}" '
            f'alt="pose animation of {esc(p.name)}"><br>{esc(p.shown_name)} '
            f"({p.contribution:+.3f})</div>" for p in moving) + "</div>")
    parts.append("<h2>Interventions that would flip the prediction</h2>")
    if flips_of_video:
        parts.append(table(
            ("set to its training mean", "type", "new prediction"),
            [(esc(model.concept_names[f.concept]), type_badge(model.concept_types[f.concept]),
              esc(classes[f.new_class])) for f in flips_of_video],
        ))
    else:
        parts.append("<p class=\"muted\">No single concept changes this prediction.</p>")
    return page(f"Video {explanation.video_id}", "\n".join(parts), depth=1,
                nav=label is not None)
