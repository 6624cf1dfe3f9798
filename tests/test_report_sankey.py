"""The concept -> class Sankey shows each class's strongest weights; its page is self-contained."""

from __future__ import annotations

import re
import sys

import numpy as np
import plotly.graph_objects as go
import pytest

from dance.errors import InputError
from dance.report import (
    concept_class_sankey,
    most_confused_neighbour,
    sankey_html,
    sankey_png,
)
from dance.train import DanceModel

NAMES = {"motion": ["m_jump", "m_spin", "m_wave"], "object": ["o_ball", "o_net"],
         "scene": ["s_beach", "s_gym"]}
CLASSES = ["volleyball_spike", "basketball_dunk", "ballet"]
# Columns: m_jump m_spin m_wave | o_ball o_net | s_beach s_gym
WEIGHTS = np.array([
    [0.9, 0.0, -0.5, 0.7, 0.3, 0.2, 0.0],
    [0.1, 0.0, 0.0, 0.8, 0.0, 0.0, -0.6],
    [0.0, 1.0, 0.4, 0.0, 0.0, 0.0, 0.2],
])
DIM = 4


def _model(names: dict[str, list[str]] = NAMES, classes: list[str] = CLASSES) -> DanceModel:
    """A tiny DANCE model whose final layer is WEIGHTS."""
    rng = np.random.default_rng(0)
    total = sum(len(v) for v in names.values())
    return DanceModel(
        kind="dance",
        concept_weights={t: rng.normal(size=(len(v), DIM)) for t, v in names.items()},
        mean=np.zeros(total), std=np.ones(total),
        final_weight=WEIGHTS, final_bias=np.zeros(len(classes)),
        concept_names=names, class_names=classes,
    )


def _links(figure: go.Figure) -> list[dict]:
    """Each link as {concept, class, value, colour, hover data}."""
    sankey = figure.data[0]
    labels, link = sankey.node.label, sankey.link
    return [
        {"concept": labels[s], "class": labels[t], "value": v, "colour": c, "hover": d}
        for s, t, v, c, d in zip(link.source, link.target, link.value, link.color, link.customdata)
    ]


def _rgba(colour: str) -> tuple[tuple[int, int, int], float]:
    """An "rgba(r, g, b, a)" string as ((r, g, b), a)."""
    match = re.fullmatch(r"rgba\((\d+), (\d+), (\d+), ([\d.]+)\)", colour)
    red, green, blue, alpha = match.groups()
    return (int(red), int(green), int(blue)), float(alpha)


def test_one_node_per_distinct_concept_used_and_one_per_class() -> None:
    figure = concept_class_sankey(_model(), ["volleyball_spike", "basketball_dunk"], top_n=3)
    # volleyball: m_jump .9, o_ball .7, m_wave -.5; basketball: o_ball .8, s_gym -.6, m_jump .1
    labels = list(figure.data[0].node.label)
    assert sorted(labels) == sorted(
        ["m_jump", "m_wave", "o_ball", "s_gym", "volleyball_spike", "basketball_dunk"]
    )


def test_each_class_links_to_its_top_n_concepts_with_value_abs_weight() -> None:
    figure = concept_class_sankey(_model(), ["volleyball_spike", "basketball_dunk"], top_n=3)
    values = {(link["concept"], link["class"]): link["value"] for link in _links(figure)}
    assert values == pytest.approx({
        ("m_jump", "volleyball_spike"): 0.9,
        ("o_ball", "volleyball_spike"): 0.7,
        ("m_wave", "volleyball_spike"): 0.5,
        ("o_ball", "basketball_dunk"): 0.8,
        ("s_gym", "basketball_dunk"): 0.6,
        ("m_jump", "basketball_dunk"): 0.1,
    })


def test_zero_weights_never_link_even_when_top_n_is_larger() -> None:
    figure = concept_class_sankey(_model(), ["ballet"], top_n=8)
    assert sorted(link["concept"] for link in _links(figure)) == ["m_spin", "m_wave", "s_gym"]


def test_link_colours_follow_the_concept_type() -> None:
    figure = concept_class_sankey(_model(), CLASSES, top_n=8)
    type_of = {name: t for t, names in NAMES.items() for name in names}
    colours_by_type: dict[str, set] = {}
    for link in _links(figure):
        colours_by_type.setdefault(type_of[link["concept"]], set()).add(_rgba(link["colour"])[0])
    assert set(colours_by_type) == {"motion", "object", "scene"}
    assert all(len(colours) == 1 for colours in colours_by_type.values())
    assert len(set.union(*colours_by_type.values())) == 3


def test_a_negative_weight_is_a_fainter_link_whose_hover_says_not() -> None:
    figure = concept_class_sankey(_model(), ["volleyball_spike"], top_n=3)
    by_concept = {link["concept"]: link for link in _links(figure)}
    negative, positive = by_concept["m_wave"], by_concept["m_jump"]
    assert _rgba(negative["colour"])[1] < _rgba(positive["colour"])[1]
    assert negative["hover"][0] == "motion"
    assert "-0.500" in negative["hover"][1] and "NOT" in negative["hover"][1]
    assert "+0.900" in positive["hover"][1] and "NOT" not in positive["hover"][1]


def test_an_unknown_class_is_an_input_error_listing_valid_classes() -> None:
    with pytest.raises(InputError, match="volleyball_spike"):
        concept_class_sankey(_model(), ["volleyball_spike", "curling"])


def test_the_html_inlines_plotly_and_loads_nothing_from_the_network() -> None:
    html = sankey_html(concept_class_sankey(_model(), CLASSES[:2]))
    assert re.findall(r"<script[^>]*\bsrc\s*=", html) == []
    assert "Plotly.newPlot(" in html
    assert len(html) > 1_000_000  # plotly.js itself is in the page


def test_class_names_appear_only_inside_the_plot_data() -> None:
    html = sankey_html(concept_class_sankey(_model(), CLASSES[:2]))
    plot_call = html.index("Plotly.newPlot(")
    plot_end = html.index("</script>", plot_call)
    for name in CLASSES[:2]:
        places = [match.start() for match in re.finditer(re.escape(name), html)]
        assert places and all(plot_call < place < plot_end for place in places)


def test_a_hostile_concept_name_is_escaped_not_emitted_as_a_tag() -> None:
    hostile = "<script>alert(1)</script>"
    names = {**NAMES, "object": [hostile, "o_net"]}
    figure = concept_class_sankey(_model(names), ["volleyball_spike"])
    assert hostile in figure.data[0].node.label
    html = sankey_html(figure)
    assert hostile not in html
    assert "alert(1)" in html  # still there, as escaped JSON text


def test_png_export_is_none_without_kaleido(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kaleido", None)  # makes `import kaleido` fail
    assert sankey_png(concept_class_sankey(_model(), CLASSES[:2])) is None


def test_the_neighbour_is_the_class_most_often_predicted_instead() -> None:
    confusion = np.array([[5, 1, 3], [0, 6, 0], [2, 0, 4]])
    assert most_confused_neighbour(confusion, 0) == 2


def test_a_tie_goes_to_the_lower_class_index() -> None:
    confusion = np.array([[5, 0, 2, 2], [0, 6, 0, 0], [0, 0, 4, 0], [0, 0, 0, 1]])
    assert most_confused_neighbour(confusion, 0) == 2


def test_a_row_without_confusion_falls_back_to_the_class_most_confused_into_it() -> None:
    confusion = np.array([[5, 0, 0], [1, 6, 0], [3, 0, 4]])
    assert most_confused_neighbour(confusion, 0) == 2


def test_no_confusion_either_way_falls_back_to_the_next_class_by_index() -> None:
    confusion = np.diag([3, 4, 5])
    assert most_confused_neighbour(confusion, 0) == 1
    assert most_confused_neighbour(confusion, 2) == 0


@pytest.mark.parametrize(
    ("confusion", "index"), [(np.ones((2, 3)), 0), (np.ones((1, 1)), 0), (np.ones((3, 3)), 3)]
)
def test_a_bad_confusion_matrix_or_index_is_an_input_error(
    confusion: np.ndarray, index: int
) -> None:
    with pytest.raises(InputError):
        most_confused_neighbour(confusion, index)
