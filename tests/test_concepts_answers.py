"""discover.language.source=answers: raw answer lines from a file, parsed like LLM answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dance.concepts import (
    ANSWERS_FORMAT,
    answer_key_for,
    concepts_from_answers,
    read_answer_key,
    resolve_answers_file,
)
from dance.config import ConfigError, LanguageConceptConfig, load_config
from dance.errors import InputError


def write_answers(path: Path, classes: dict, fmt: str = ANSWERS_FORMAT) -> str:
    """An answers file of `classes` ({class: {objects: lines, scenes: lines}})."""
    path.write_text(json.dumps({"format": fmt, "classes": classes}), encoding="utf-8")
    return str(path)


def test_each_line_is_parsed_like_an_llm_answer_and_unioned_per_class(tmp_path) -> None:
    uri = write_answers(
        tmp_path / "answers.json",
        {
            "tennis": {
                "objects": ["- racket", "1. ball", "Ball", "- net: strung across the court"],
                "scenes": ["Here are some places:", "tennis court, park"],
            },
            "golf": {"objects": ["club", "ball"], "scenes": ["golf course"]},
        },
    )
    lists = concepts_from_answers(["tennis", "golf"], uri)
    assert lists.per_class["tennis"] == {
        "objects": ["racket", "ball", "net"],
        "scenes": ["tennis court", "park"],
    }
    assert lists.objects == ["racket", "ball", "net", "club"]
    assert lists.scenes == ["tennis court", "park", "golf course"]


def test_classes_of_the_file_beyond_the_manifest_are_ignored(tmp_path) -> None:
    uri = write_answers(
        tmp_path / "answers.json",
        {"tennis": {"objects": ["ball"], "scenes": ["court"]}, "golf": {"objects": ["club"]}},
    )
    lists = concepts_from_answers(["tennis"], uri)
    assert lists.objects == ["ball"] and list(lists.per_class) == ["tennis"]


def test_a_manifest_class_missing_from_the_file_is_an_input_error_naming_both(tmp_path) -> None:
    uri = write_answers(tmp_path / "answers.json", {"tennis": {"objects": ["ball"]}})
    with pytest.raises(InputError, match=r"answers\.json has no answers for class 'golf'"):
        concepts_from_answers(["tennis", "golf"], uri)


def test_a_file_of_another_format_is_an_input_error(tmp_path) -> None:
    uri = write_answers(tmp_path / "answers.json", {}, fmt="something.else")
    with pytest.raises(InputError, match="expected 'dance.concept_answers.v1'"):
        concepts_from_answers(["tennis"], uri)


def test_lines_that_are_not_strings_are_an_input_error(tmp_path) -> None:
    uri = write_answers(tmp_path / "answers.json", {"tennis": {"objects": [["ball"]]}})
    with pytest.raises(InputError, match=r"classes\['tennis'\]\['objects'\] must be a list"):
        concepts_from_answers(["tennis"], uri)


def test_a_missing_answers_file_is_an_input_error_naming_it(tmp_path) -> None:
    with pytest.raises(InputError, match="nowhere.json does not exist"):
        concepts_from_answers(["tennis"], str(tmp_path / "nowhere.json"))


def test_the_answers_source_requires_an_answers_file() -> None:
    with pytest.raises(ValueError, match="answers_file is not set"):
        LanguageConceptConfig(source="answers")
    with pytest.raises(ConfigError, match="answers_file"):
        load_config("demo", overrides=["discover.language.answers_file=null"])


def test_synth_names_the_shipped_dance_synth_answers() -> None:
    from dance.synth import synth_concept_file

    assert resolve_answers_file("synth") == synth_concept_file("answers")
    assert resolve_answers_file("my/answers.json") == "my/answers.json"


def test_the_shipped_answers_cover_every_dance_synth_class() -> None:
    from dance.synth import catalogue_names

    names = list(catalogue_names())
    lists = concepts_from_answers(names, "synth")
    assert set(lists.per_class) == set(names) and lists.objects and lists.scenes


def test_the_answer_key_is_read_only_for_the_shipped_answers(tmp_path) -> None:
    key = answer_key_for("synth")
    assert key is not None and key["objects"]["soccer ball"] == "ball"
    assert answer_key_for(write_answers(tmp_path / "mine.json", {})) is None
    assert answer_key_for(None) is None


def test_an_answer_key_maps_concepts_to_a_name_or_null(tmp_path) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps({"objects": {"soccer ball": "ball", "sunscreen": None}}))
    assert read_answer_key(str(path)) == {
        "objects": {"soccer ball": "ball", "sunscreen": None},
        "scenes": {},
        "planted": {},
    }
    path.write_text(json.dumps({"objects": {"soccer ball": 3}}))
    with pytest.raises(InputError, match="must map concept strings"):
        read_answer_key(str(path))
