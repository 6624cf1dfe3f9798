"""The model-level view: which concepts feed which classes, as a plotly Sankey.

Left nodes are concepts, right nodes classes; each class links to its `top_n` concepts by
|W[c, k]| of the final layer (zero weights never link). A link is as wide as |weight| and
coloured by the concept's type; a negative weight (the concept counts AGAINST the class,
"NOT concept") is drawn faded and says so on hover. Concept and class names reach plotly
only as data values: plotly JSON-encodes them (escaping <, > and /) into the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from dance.errors import InputError

if TYPE_CHECKING:
    from dance.train import DanceModel

RGB = tuple[int, int, int]

# One colour per concept type; "feature" is a linear probe's only type.
TYPE_COLOURS: dict[str, RGB] = {
    "motion": (148, 103, 189),
    "object": (31, 119, 180),
    "scene": (44, 160, 44),
    "feature": (127, 127, 127),
}
CLASS_NODE_COLOUR: RGB = (60, 60, 60)
POSITIVE_LINK_ALPHA = 0.65
NEGATIVE_LINK_ALPHA = 0.2  # faded: the concept's presence lowers the class logit

_LINK_HOVER = (
    "%{source.label} → %{target.label}<br>%{customdata[0]} concept<br>"
    "%{customdata[1]}<extra></extra>"
)
_NODE_HOVER = "%{label}<br>%{customdata}<extra></extra>"


def _rgba(colour: RGB, alpha: float) -> str:
    """A CSS rgba() colour string, as plotly takes it."""
    red, green, blue = colour
    return f"rgba({red}, {green}, {blue}, {alpha})"


def _class_rows(model: DanceModel, class_names: Sequence[str]) -> list[int]:
    """Row indices of the named classes, first mention order; InputError for unknown names."""
    # dance.explain loads torch; imported here because a model in hand has loaded it anyway,
    # while `import dance.report` (e.g. for pose GIFs) stays light.
    from dance.explain import class_index

    if isinstance(class_names, str) or len(class_names) == 0:
        raise InputError(
            f"class_names must be a non-empty list of class names, got {class_names!r}; "
            f"the model's classes: {', '.join(model.class_names[:20])}"
        )
    return list(dict.fromkeys(class_index(model, name) for name in class_names))


def _top_concepts(row: np.ndarray, top_n: int) -> list[int]:
    """Columns of the `top_n` largest |weight| in `row`, non-zero only; ties by lower column."""
    order = np.argsort(-np.abs(row), kind="stable")
    return [int(k) for k in order[:top_n] if row[k] != 0]


def _weight_text(weight: float) -> str:
    """Hover text of a signed weight; negative ones read as NOT."""
    if weight < 0:
        return f"weight {weight:+.3f} (NOT: its presence counts against the class)"
    return f"weight {weight:+.3f}"


def _legend(types: Sequence[str]) -> list[dict]:
    """Annotations naming each present type's colour and the faded-negative convention."""
    entries = [(f"■ {t}", _rgba(TYPE_COLOURS[t], 1.0)) for t in types]
    entries.append(("faded link = negative weight (NOT)", "rgb(90, 90, 90)"))
    step = 1.0 / len(entries)
    return [
        {
            "text": text,
            "font": {"color": colour, "size": 12},
            "x": index * step,
            "y": -0.06,
            "xref": "paper",
            "yref": "paper",
            "xanchor": "left",
            "showarrow": False,
        }
        for index, (text, colour) in enumerate(entries)
    ]


def concept_class_sankey(
    model: DanceModel, class_names: Sequence[str], top_n: int = 8
) -> go.Figure:
    """A Sankey from each named class's top_n concepts (by |final weight|) to the class."""
    if not isinstance(top_n, (int, np.integer)) or top_n < 1:
        raise InputError(f"top_n must be a positive integer, got {top_n!r}")
    rows = _class_rows(model, class_names)
    weight = model.final.weight.detach().cpu().numpy().astype(np.float64)
    concept_names, concept_types = model.concept_names, model.concept_types
    chosen = {row: _top_concepts(weight[row], int(top_n)) for row in rows}

    # Column order groups the concept nodes by type (motion, object, scene).
    columns = sorted({k for ks in chosen.values() for k in ks})
    concept_node = {k: node for node, k in enumerate(columns)}
    class_node = {row: len(columns) + node for node, row in enumerate(rows)}

    sources, targets, values, colours, link_data = [], [], [], [], []
    for row, ks in chosen.items():
        for k in ks:
            signed = float(weight[row, k])
            alpha = POSITIVE_LINK_ALPHA if signed > 0 else NEGATIVE_LINK_ALPHA
            sources.append(concept_node[k])
            targets.append(class_node[row])
            values.append(abs(signed))
            colours.append(_rgba(TYPE_COLOURS[concept_types[k]], alpha))
            link_data.append([concept_types[k], _weight_text(signed)])

    node_labels = [concept_names[k] for k in columns] + [model.class_names[r] for r in rows]
    node_colours = [_rgba(TYPE_COLOURS[concept_types[k]], 1.0) for k in columns]
    node_colours += [_rgba(CLASS_NODE_COLOUR, 1.0)] * len(rows)
    node_data = [f"{concept_types[k]} concept" for k in columns] + ["class"] * len(rows)

    sankey = go.Sankey(
        arrangement="snap",
        node={
            "label": node_labels,
            "color": node_colours,
            "customdata": node_data,
            "hovertemplate": _NODE_HOVER,
            "pad": 12,
            "thickness": 16,
        },
        link={
            "source": sources,
            "target": targets,
            "value": values,
            "color": colours,
            "customdata": link_data,
            "hovertemplate": _LINK_HOVER,
        },
    )
    present_types = list(dict.fromkeys(concept_types[k] for k in columns))
    figure = go.Figure(sankey)
    figure.update_layout(
        title={"text": f"Concepts → classes: top {int(top_n)} concepts per class by |weight|"},
        annotations=_legend(present_types),
        font={"size": 12},
        height=max(400, 28 * len(columns) + 160),
        margin={"l": 20, "r": 20, "t": 60, "b": 60},
        paper_bgcolor="white",
    )
    return figure


def most_confused_neighbour(confusion: np.ndarray, class_index: int) -> int:
    """The class most often predicted for `class_index`'s videos (fallbacks: into it, next)."""
    matrix = np.asarray(confusion)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 2:
        raise InputError(
            f"confusion must be a square (C, C) matrix with C >= 2 (rows: true, columns: "
            f"predicted), got shape {matrix.shape}"
        )
    if not np.issubdtype(matrix.dtype, np.number) or not np.isfinite(matrix).all():
        raise InputError(f"confusion must hold finite counts, got dtype {matrix.dtype}")
    count = matrix.shape[0]
    if not isinstance(class_index, (int, np.integer)) or not 0 <= class_index < count:
        raise InputError(f"class_index must lie in [0, {count}), got {class_index!r}")
    others = np.arange(count) != class_index
    # argmax returns the first maximum, so ties go to the lower class index.
    predicted_as = np.where(others, matrix[class_index].astype(np.float64), -np.inf)
    if predicted_as.max() > 0:
        return int(np.argmax(predicted_as))
    confused_into = np.where(others, matrix[:, class_index].astype(np.float64), -np.inf)
    if confused_into.max() > 0:
        return int(np.argmax(confused_into))
    return (int(class_index) + 1) % count


def sankey_html(figure: go.Figure) -> str:
    """A self-contained HTML page of the figure, plotly.js inlined: no network requests."""
    return figure.to_html(
        include_plotlyjs=True, full_html=True, include_mathjax=False, config={"displaylogo": False}
    )


def sankey_png(figure: go.Figure) -> bytes | None:
    """The figure as PNG via plotly's image export; None when kaleido (or its Chrome) is missing."""
    try:
        import kaleido  # noqa: F401  (optional: only checks that image export can work)
    except ImportError:
        return None
    try:
        return figure.to_image(format="png")
    except (ImportError, RuntimeError, ValueError):
        # plotly raises RuntimeError when kaleido cannot find or start Chrome.
        return None
