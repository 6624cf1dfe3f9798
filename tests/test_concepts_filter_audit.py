"""The filter audit: planted duplicates, echoes and hygiene cases dropped, true names kept."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from dance.concepts import FilterAudit, answer_key_for, audit_filters
from dance.concepts._filter_audit import audit_answers_file, planted_outcome
from dance.concepts._filters import ConceptDrop, FilterReport
from dance.config import LanguageConceptConfig

CONFIG = LanguageConceptConfig()
DIM = 256
SHARED = "<shared>"  # the axis every text leans on a little
GENERAL, SPECIFIC = 0.2, 0.1


class Axes:
    """One exactly orthogonal unit axis per distinct text, in order of first use."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, text: str) -> np.ndarray:
        row = np.zeros(DIM)
        row[self.index.setdefault(text, len(self.index))] = 1.0
        return row


class MeaningEmbedder:
    """A text tower that knows the answer key: a synonym sits close to the name it means.

    A ground-truth name embeds on its own axis; a concept the key maps to a name embeds
    as that axis plus `offset` times its own, so name-synonym cosines are about
    1/sqrt(1 + offset^2) and synonym-synonym ones about 1/(1 + offset^2). Every text
    also shares a little of one common axis, more so a general name than a synonym: the
    general concept is the one more similar to everything else, as the duplicate rule
    assumes.
    """

    def __init__(self, key: Mapping[str, Mapping[str, str | None]], offset: float) -> None:
        self.meaning = {c: t for kind in ("objects", "scenes") for c, t in key[kind].items()}
        self.offset = offset
        self.axis = Axes()

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for text in texts:
            meant = self.meaning.get(text)
            if meant is None or meant == text:
                rows.append(self.axis(text) + GENERAL * self.axis(SHARED))
            else:
                own = self.offset * self.axis(text) + SPECIFIC * self.axis(SHARED)
                rows.append(self.axis(meant) + own)
        rows = np.asarray(rows)
        return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


KEY = {
    "objects": {"ball": "ball", "soccer ball": "ball", "sunscreen": None, "net": "net"},
    "scenes": {"beach": "beach"},
    "planted": {
        "duplicates": ["soccer ball"],
        "echoes": ["beach throw"],
        "hygiene": ["$", ""],
        "irrelevant": ["sunscreen"],
        "formatting": ["- ball"],
    },
}


def _reports(objects_kept: list[str], dropped: list[ConceptDrop]) -> dict[str, FilterReport]:
    return {
        "objects": FilterReport(kept=objects_kept, dropped=dropped),
        "scenes": FilterReport(kept=["beach"], dropped=[]),
    }


def test_every_planted_item_is_judged_by_what_became_of_it() -> None:
    dropped = [
        ConceptDrop("$", "no_letters"),
        ConceptDrop("beach throw", "class_name", 1.0, "beach_throw"),
        ConceptDrop("soccer ball", "duplicate", 0.95, "ball"),
    ]
    audit = audit_filters(_reports(["ball", "net", "sunscreen"], dropped), KEY)
    assert audit.planted == {
        "duplicates": {"soccer ball": "duplicate"},
        "echoes": {"beach throw": "class_name"},
        "hygiene": {"$": "no_letters", "": "not_an_item"},
        "irrelevant": {"sunscreen": "kept"},
        "formatting": {"- ball": "merged"},
    }
    assert audit.passed and audit.failures == []
    assert audit.true_names["objects"]["kept_fraction"] == 1.0


def test_a_kept_duplicate_or_echo_fails_the_audit() -> None:
    audit = audit_filters(_reports(["ball", "net", "soccer ball", "beach throw"], []), KEY)
    assert not audit.passed
    assert "planted duplicates item 'soccer ball': kept" in audit.failures
    assert "planted echoes item 'beach throw': kept" in audit.failures


def test_losing_a_true_name_to_its_synonym_counts_against_the_names_kept() -> None:
    dropped = [ConceptDrop("ball", "duplicate", 0.95, "soccer ball")]
    audit = audit_filters(_reports(["soccer ball", "net"], dropped), KEY)
    names = audit.true_names["objects"]
    assert names["missing"] == ["ball"] and names["kept_fraction"] == 0.5
    assert names["covered_fraction"] == 1.0  # the synonym still means it
    assert any(failure.startswith("objects: 50%") for failure in audit.failures)


def test_an_item_renamed_into_a_kept_concept_is_kept() -> None:
    report = FilterReport(kept=["ball"], dropped=[], renamed={"<b>ball</b>": "ball"})
    assert planted_outcome("<b>ball</b>", {"objects": report}) == "kept"


def test_the_audit_is_json_able() -> None:
    audit = audit_filters(_reports(["ball"], []), KEY)
    assert isinstance(audit, FilterAudit)
    assert json.loads(json.dumps(audit.to_dict()))["passed"] is False


def test_on_the_shipped_files_a_tower_that_knows_synonyms_passes() -> None:
    key = answer_key_for("synth")
    assert key is not None
    audit, reports = audit_answers_file("synth", key, MeaningEmbedder(key, offset=0.3), CONFIG)
    assert audit.failures == []
    for category in ("duplicates", "echoes", "hygiene"):
        assert key["planted"][category] and set(audit.planted[category]) == set(
            key["planted"][category]
        )
    dropped = {d.concept: d.rule for r in reports.values() for d in r.dropped}
    assert dropped["$"] == "no_letters" and dropped["<b></b>"] == "markup_only"
    assert dropped["raise arms"] == "class_name" and dropped["soccer ball"] == "duplicate"


@pytest.mark.parametrize("offset", [2.0])
def test_on_the_shipped_files_a_tower_blind_to_synonyms_fails(offset: float) -> None:
    key = answer_key_for("synth")
    assert key is not None
    audit, _ = audit_answers_file("synth", key, MeaningEmbedder(key, offset=offset), CONFIG)
    assert any(failure.startswith("planted duplicates") for failure in audit.failures)


def test_a_planted_item_no_class_answered_is_absent() -> None:
    assert planted_outcome("- trampoline", _reports(["ball"], [])) == "absent"
