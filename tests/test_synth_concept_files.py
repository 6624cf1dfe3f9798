"""The concept files shipped with DANCE-Synth: LLM-style answers, their key, motion phrases."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from dance.concepts.language import parse_answer
from dance.config import SynthConfig
from dance.synth import (
    OBJECT_PHRASES,
    SCENE_PHRASES,
    SYNTH_CONCEPT_FILES,
    catalogue_names,
    class_catalogue,
    synth_concept_file,
)

KINDS = ("objects", "scenes")
CLASSES = {cls.name: cls for cls in class_catalogue(SynthConfig.preset_config("bench"))}
TRUE_NAMES = {"objects": set(OBJECT_PHRASES), "scenes": set(SCENE_PHRASES)}
_PARENTHESES = re.compile(r"\s*\([^()]*\)")  # the filters strip "(...)" after parsing
_TAGS = re.compile(r"<[^>]*>")


def _load(name: str) -> dict[str, Any]:
    return json.loads(Path(synth_concept_file(name)).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def answers() -> dict[str, Any]:
    return _load("answers")


@pytest.fixture(scope="module")
def key() -> dict[str, Any]:
    return _load("answer_key")


def _parsed(line: str) -> list[str]:
    """What the discover side reads from one answer line (parsed, then parentheses stripped)."""
    items = parse_answer(line)
    return items + [_PARENTHESES.sub("", item) for item in items]


def _caption_phrases(kind: str) -> dict[str, set[str]]:
    """Ground-truth name -> the phrases the captions use for it."""
    if kind == "objects":
        return {name: set(phrases) for name, phrases in OBJECT_PHRASES.items()}
    return {name: {p.concept for p in phrases} for name, phrases in SCENE_PHRASES.items()}


def _names(text: str, phrase: str) -> bool:
    return f" {phrase} " in f" {text} "


def test_every_named_file_is_shipped_and_an_unknown_name_is_refused() -> None:
    for name in SYNTH_CONCEPT_FILES:
        assert Path(synth_concept_file(name)).is_file()
    with pytest.raises(ValueError, match="answer_key"):
        synth_concept_file("../synth")


def test_answers_cover_every_catalogue_class_with_object_and_scene_lines(
    answers: dict[str, Any],
) -> None:
    assert answers["format"] == "dance.concept_answers.v1"
    assert answers["source"]
    assert list(answers["classes"]) == list(catalogue_names())
    for lists in answers["classes"].values():
        assert set(lists) == set(KINDS)
        for kind in KINDS:
            assert lists[kind] and all(isinstance(line, str) for line in lists[kind])


def test_the_key_covers_every_parsed_concept_with_a_true_name_or_null(
    answers: dict[str, Any], key: dict[str, Any]
) -> None:
    hygiene = set(key["planted"]["hygiene"])
    for kind in KINDS:
        parsed = {
            item
            for lists in answers["classes"].values()
            for line in lists[kind]
            if line not in hygiene
            for item in _parsed(line)
        }
        assert parsed == set(key[kind])
        assert {v for v in key[kind].values() if v is not None} <= TRUE_NAMES[kind]


def test_every_ground_truth_name_appears_verbatim_in_the_answers(answers: dict[str, Any]) -> None:
    for kind in KINDS:
        lines = {line for lists in answers["classes"].values() for line in lists[kind]}
        assert TRUE_NAMES[kind] <= lines


def test_each_class_answers_name_everything_its_videos_show(
    answers: dict[str, Any], key: dict[str, Any]
) -> None:
    for name, lists in answers["classes"].items():
        shown = {"objects": set(CLASSES[name].objects), "scenes": set(CLASSES[name].scenes)}
        for kind in KINDS:
            meant = {key[kind].get(item) for line in lists[kind] for item in _parsed(line)}
            assert shown[kind] <= meant, (name, kind)


def test_planted_duplicates_are_caption_phrases_of_another_true_name(
    key: dict[str, Any],
) -> None:
    duplicates = key["planted"]["duplicates"]
    assert len(duplicates) >= 10
    for concept in duplicates:
        kind = "objects" if concept in key["objects"] else "scenes"
        meant = key[kind][concept]
        assert meant is not None and meant != concept
        assert concept in _caption_phrases(kind)[meant]


def test_planted_echoes_repeat_a_class_name(key: dict[str, Any]) -> None:
    spaced = {name.replace("_", " ") for name in CLASSES}
    assert set(key["planted"]["echoes"]) == spaced
    assert any(echo in CLASSES for echo in key["planted"]["echoes"])  # some exactly


def test_planted_irrelevant_items_mean_nothing_shown(key: dict[str, Any]) -> None:
    irrelevant = key["planted"]["irrelevant"]
    assert irrelevant
    for concept in irrelevant:
        assert key["objects"].get(concept, key["scenes"].get(concept, "")) is None


def test_planted_hygiene_lines_hold_no_letter_outside_markup(
    answers: dict[str, Any], key: dict[str, Any]
) -> None:
    hygiene = key["planted"]["hygiene"]
    assert {"$", "<b></b>", ""} <= set(hygiene)
    assert any(line and not any(ch.isascii() for ch in line) for line in hygiene)  # emoji only
    lines = {line for lists in answers["classes"].values() for k in KINDS for line in lists[k]}
    for line in hygiene:
        assert line in lines
        assert not any(ch.isalpha() for ch in _TAGS.sub("", line)), line


def test_formatted_lines_parse_to_a_true_name(key: dict[str, Any]) -> None:
    formatting = key["planted"]["formatting"]
    assert any(line.startswith("- ") for line in formatting)
    assert any(re.match(r"\d+\. ", line) for line in formatting)
    assert any("(" in line for line in formatting)
    for line in formatting:
        assert all(key["objects"][item] is not None for item in _parsed(line))


def test_motion_language_has_both_styles_for_every_class() -> None:
    motion = _load("motion_language")
    assert set(motion) == {"entangled", "disentangled"}
    for style in motion.values():
        assert list(style) == list(catalogue_names())
        for phrases in style.values():
            assert len(phrases) >= 3 and len(set(phrases)) == len(phrases)


def test_entangled_phrases_name_only_context_the_class_shows() -> None:
    entangled = _load("motion_language")["entangled"]
    phrases_of = {**_caption_phrases("objects"), **_caption_phrases("scenes")}
    for name, phrases in entangled.items():
        shown = set(CLASSES[name].objects) | set(CLASSES[name].scenes)
        for phrase in phrases:
            named = {t for t, ps in phrases_of.items() if any(_names(phrase, p) for p in ps)}
            assert named and named <= shown, phrase


def test_disentangled_phrases_name_no_object_and_no_scene(key: dict[str, Any]) -> None:
    disentangled = _load("motion_language")["disentangled"]
    context = {c for kind in KINDS for c, meant in key[kind].items() if meant is not None}
    for phrases in disentangled.values():
        for phrase in phrases:
            assert not any(_names(phrase, c) for c in context), phrase
