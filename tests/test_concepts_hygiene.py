"""Concept text hygiene (issue 10 item 6): a concept without a letter is dropped with its rule."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dance.concepts._answer_parsing import parse_answer
from dance.concepts._concept_hygiene import clean_concept_text
from dance.concepts.language import filter_concepts
from dance.config import LanguageConceptConfig

CONFIG = LanguageConceptConfig()


class OrthogonalEmbedder:
    """Every distinct text gets its own axis: no class echo, no duplicate."""

    def __init__(self) -> None:
        self.axes: dict[str, int] = {}
        self.seen: list[str] = []

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        rows = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            rows[row, self.axes.setdefault(text, len(self.axes))] = 1.0
        return rows


def test_dollar_markup_blank_and_emoji_concepts_are_each_dropped_with_their_rule() -> None:
    concepts = ["ball", "$", "<b></b>", "   ", "🎾🏸", "net"]
    kept, report = filter_concepts(concepts, ["tennis"], OrthogonalEmbedder(), CONFIG)
    assert kept == ["ball", "net"]
    assert [(d.concept, d.rule) for d in report.dropped] == [
        ("$", "no_letters"),
        ("<b></b>", "markup_only"),
        ("   ", "blank"),
        ("🎾🏸", "no_letters"),
    ]


def test_an_empty_string_is_blank() -> None:
    assert clean_concept_text("") == ("", "blank")


def test_punctuation_only_is_no_letters() -> None:
    assert clean_concept_text("?!...") == ("", "no_letters")


def test_invisible_characters_alone_are_blank() -> None:
    assert clean_concept_text("\u200b\u200d\t") == ("", "blank")


def test_tags_around_a_name_are_cut_out_and_the_rename_is_reported() -> None:
    kept, report = filter_concepts(["<b>tennis ball</b>"], ["tennis"], OrthogonalEmbedder(), CONFIG)
    assert kept == ["tennis ball"]
    assert report.renamed == {"<b>tennis ball</b>": "tennis ball"}


def test_letters_of_any_script_count() -> None:
    assert clean_concept_text("raquette de tennis") == ("raquette de tennis", None)
    assert clean_concept_text("球拍") == ("球拍", None)


def test_a_concept_with_only_symbols_left_after_stripping_parentheses_is_dropped() -> None:
    kept, report = filter_concepts(["$ (cash)", "(tennis)"], ["x"], OrthogonalEmbedder(), CONFIG)
    assert kept == []
    assert [d.rule for d in report.dropped] == ["no_letters", "empty_after_strip"]


def test_dropped_concepts_never_reach_the_text_embedder() -> None:
    embedder = OrthogonalEmbedder()
    filter_concepts(["$", "<i></i>", "court"], ["tennis"], embedder, CONFIG)
    assert "$" not in embedder.seen and "<i></i>" not in embedder.seen


def test_a_script_tag_is_text_to_cut_never_run(capsys) -> None:
    kept, _ = filter_concepts(
        ["<script>print 'ran'</script>"], ["tennis"], OrthogonalEmbedder(), CONFIG
    )
    assert kept == ["print 'ran'"]
    assert capsys.readouterr().out == ""


def test_the_parser_passes_symbol_items_on_so_the_filters_can_report_them() -> None:
    assert parse_answer("- ball\n- $\n- <b></b>\n- 🎾\n---") == ["ball", "$", "<b></b>", "🎾"]
