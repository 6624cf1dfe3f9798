"""The TCAV page: the `dance tcav` job's table (posthoc/tcav/tcav.json) as one table per class.

    html = tcav_page(storage.read_json(uri))  # rows: concept (group, kind); columns: layers

Every string of the file (class, layer, group, concept, kind, settings) is data and reaches
the page escaped; a value that is not a number is shown as (escaped) text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dance.report._html import esc, page

EXPLANATION = (
    "<p>TCAV (Kim et al. 2018) asks how much a class's logit depends on a human concept "
    "inside the network. At one layer, a <em>concept activation vector</em> (CAV) is the "
    "direction that separates the concept's example clips from contrast clips in that "
    "layer's activations. The <em>sign-count</em> is the share of the class's videos whose "
    "logit gradient at that layer points along the CAV: moving the activations towards "
    "the concept raises the class score. 0.5 is no preference.</p>"
    "<p>Each cell is the mean sign-count over several runs, each with a different random "
    "contrast set. A two-sided t-test compares those runs with runs of CAVs of random "
    "clips; its p-value is Bonferroni-corrected (multiplied by the number of hypotheses "
    "tested: classes &times; layers &times; concepts). <strong>Bold with *</strong>: "
    "significant, corrected p below alpha. Hover a cell for its details.</p>"
)


def tcav_page(data: Mapping[str, Any]) -> str:
    """The whole TCAV page of a tcav.json's content."""
    results = [r for r in (data.get("results") or []) if isinstance(r, Mapping)]
    parts = ["<h1>TCAV: concept sensitivity of the backbone</h1>", EXPLANATION,
             _settings(data, len(results))]
    if not results:
        parts.append('<p class="muted">The TCAV file holds no results.</p>')
    layers = _layers(data.get("layers"), results)
    for class_name, rows in _by_class(results).items():
        parts.append(f"<h2>Class {esc(class_name)}</h2>")
        parts.append(_class_table(rows, layers))
    return page("TCAV", "\n".join(parts))


def _settings(data: Mapping[str, Any], count: int) -> str:
    """One line of the run's settings: target, pooling, runs, alpha, hypotheses."""
    shown = [("target", data.get("target")), ("pooling", data.get("pooling")),
             ("runs", data.get("runs")), ("alpha", data.get("alpha")),
             ("hypotheses", data.get("hypotheses"))]
    facts = ", ".join(f"{name} <code>{esc(value)}</code>" for name, value in shown
                      if value is not None)
    return f'<p class="muted">{facts}{", " if facts else ""}{count} scores.</p>'


def _layers(listed: Any, results: Sequence[Mapping[str, Any]]) -> list[str]:
    """The file's layers in its order, then any layer only the results name."""
    order = [str(layer) for layer in listed] if isinstance(listed, list) else []
    return list(dict.fromkeys(order + [str(r.get("layer")) for r in results]))


def _by_class(results: Sequence[Mapping[str, Any]]
              ) -> dict[str, dict[tuple[str, str, str], dict[str, Mapping[str, Any]]]]:
    """class -> (concept, group, kind) -> layer -> result, in the file's order."""
    out: dict[str, dict[tuple[str, str, str], dict[str, Mapping[str, Any]]]] = {}
    for result in results:
        key = (str(result.get("concept")), str(result.get("group")), str(result.get("kind")))
        out.setdefault(str(result.get("class")), {}).setdefault(key, {})[
            str(result.get("layer"))] = result
    return out


def _class_table(rows: Mapping[tuple[str, str, str], Mapping[str, Mapping[str, Any]]],
                 layers: Sequence[str]) -> str:
    """Rows: concept, group, kind; a column per layer holding the mean sign-count."""
    head = "".join(f"<th>{esc(h)}</th>" for h in ("concept", "group", "kind", *layers))
    body = []
    for (concept, group, kind), by_layer in rows.items():
        cells = "".join(_cell(by_layer.get(layer)) for layer in layers)
        body.append(f'<tr><td><span class="concept">{esc(concept)}</span></td>'
                    f"<td>{esc(group)}</td><td>{esc(kind)}</td>{cells}</tr>")
    return (f'<table class="tcav"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def _cell(result: Mapping[str, Any] | None) -> str:
    """One layer's mean sign-count, marked when significant, its details in the title."""
    if result is None:
        return '<td class="muted">-</td>'

    def of(key: str, spec: str = ".2f") -> str:
        return _number(result.get(key), spec)

    significant = result.get("significant") is True
    title = (
        f"sign-count {of('sign_count')} ± {of('sign_count_std')}; random "
        f"{of('random_sign_count')} ± {of('random_sign_count_std')}; magnitude "
        f"{of('magnitude')}; CAV accuracy {of('cav_accuracy')}; t {of('t')}; "
        f"p {of('p', '.2g')}; corrected p {of('p_corrected', '.2g')}"
    )
    value = esc(of("sign_count"))
    shown = f"<strong>{value} *</strong>" if significant else value
    css = "num significant" if significant else "num"
    return (f'<td class="{css}" title="{esc(title)}">{shown}<br><small class="muted">p '
            f"{esc(of('p_corrected', '.2g'))}</small></td>")


def _number(value: Any, spec: str = ".2f") -> str:
    """A number formatted by `spec`; anything else as its text, to escape ('-' when missing)."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return format(value, spec)
