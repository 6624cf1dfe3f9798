"""Raw LLM-style answers from a file (discover.language.source=answers), and answer keys.

An answers file (JSON, format dance.concept_answers.v1) holds, per class, the raw lines
of its object and scene answers; each line is parsed as an LLM answer is (a bullet or
number stripped, a description cut off, prose dropped), since a file may mix a plain
"ball" with a "- ball":

    {"format": "dance.concept_answers.v1",
     "classes": {"<class>": {"objects": ["<answer line>", ...], "scenes": [...]}}}

An answer key (shipped beside DANCE-Synth's answers file) maps each parsed concept to
the ground-truth name it means, or null:

    {"objects": {"<concept>": "<ground-truth name>" | null}, "scenes": {...}, "planted": {...}}

Everything read is data: class names and lines are kept as strings, never used as paths.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from dance import storage
from dance.errors import InputError

ANSWERS_FORMAT = "dance.concept_answers.v1"
SYNTH_ANSWERS = "synth"  # the answers_file value naming the file shipped for DANCE-Synth
KINDS = ("objects", "scenes")


def resolve_answers_file(answers_file: str) -> str:
    """The path of `answers_file`: 'synth' is the file shipped for DANCE-Synth, else as given."""
    if answers_file.strip() == SYNTH_ANSWERS:
        from dance.synth import synth_concept_file

        return str(synth_concept_file("answers"))
    return answers_file


def _read_json(uri: str, what: str) -> Any:
    """The JSON document at `uri`; InputError naming the file when missing or unreadable."""
    if not storage.exists(uri):
        raise InputError(f"the {what} {uri} does not exist; check discover.language.answers_file")
    try:
        return json.loads(storage.read_bytes(uri).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"the {what} {uri} is not UTF-8 JSON ({exc}); fix or re-save it") from exc


def _lines(value: Any, uri: str, where: str) -> list[str]:
    """A list of strings; InputError naming the file and the place when it is not one."""
    if not isinstance(value, list) or not all(isinstance(line, str) for line in value):
        raise InputError(f"{uri}: {where} must be a list of strings")
    return list(value)


def read_answers_file(uri: str) -> dict[str, dict[str, list[str]]]:
    """{class: {"objects": lines, "scenes": lines}} of a dance.concept_answers.v1 file."""
    document = _read_json(uri, "answers file")
    if not isinstance(document, dict) or document.get("format") != ANSWERS_FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise InputError(
            f"the answers file {uri} has format {found!r}, expected {ANSWERS_FORMAT!r}: "
            '{"format": ..., "classes": {"<class>": {"objects": [...], "scenes": [...]}}}'
        )
    classes = document.get("classes")
    if not isinstance(classes, dict):
        raise InputError(f"the answers file {uri} has no 'classes' object mapping class names")
    answers: dict[str, dict[str, list[str]]] = {}
    for name, entry in classes.items():
        if not isinstance(entry, dict):
            raise InputError(f"the answers file {uri}: class {name!r} must map objects and scenes")
        answers[name] = {
            kind: _lines(entry.get(kind, []), uri, f"classes[{name!r}][{kind!r}]") for kind in KINDS
        }
    return answers


def answers_of_classes(
    answers: Mapping[str, Mapping[str, Sequence[str]]], class_names: Sequence[str], uri: str
) -> dict[str, dict[str, list[str]]]:
    """{class: {kind: lines}} for every class of `class_names`; InputError naming a missing one."""
    missing = [name for name in class_names if name not in answers]
    if missing:
        raise InputError(
            f"the answers file {uri} has no answers for class {missing[0]!r} of the manifest"
            f"{f' (nor {missing[1:4]})' if len(missing) > 1 else ''}; add its objects and "
            "scenes lines, or use another discover.language.answers_file"
        )
    return {name: {kind: list(answers[name][kind]) for kind in KINDS} for name in class_names}


def read_answer_key(uri: str) -> dict[str, Any]:
    """{"objects": {concept: name or None}, "scenes": {...}, "planted": {category: items}}."""
    document = _read_json(uri, "answer key")
    if not isinstance(document, dict):
        raise InputError(f"the answer key {uri} must be a JSON object with objects and scenes")
    key: dict[str, Any] = {}
    for kind in KINDS:
        mapping = document.get(kind, {})
        if not isinstance(mapping, dict) or not all(
            isinstance(c, str) and (t is None or isinstance(t, str)) for c, t in mapping.items()
        ):
            raise InputError(
                f"the answer key {uri}: {kind!r} must map concept strings to a name or null"
            )
        key[kind] = dict(mapping)
    planted = document.get("planted", {})
    if not isinstance(planted, dict):
        raise InputError(f"the answer key {uri}: 'planted' must map categories to lists")
    key["planted"] = {
        category: _lines(items, uri, f"planted[{category!r}]")
        for category, items in planted.items()
    }
    return key


def answer_key_for(answers_file: str | None) -> dict[str, Any] | None:
    """The shipped answer key when `answers_file` is the shipped DANCE-Synth file, else None."""
    if not answers_file:
        return None
    from dance.synth import synth_concept_file

    chosen = resolve_answers_file(answers_file)
    shipped = str(synth_concept_file("answers"))
    if "://" in chosen or os.path.realpath(chosen) != os.path.realpath(shipped):
        return None
    return read_answer_key(str(synth_concept_file("answer_key")))
