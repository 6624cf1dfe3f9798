"""The concept filters of Label-free CBM as DANCE uses them (docs/method.md section 4), in order.

0. text hygiene (dance/concepts/_concept_hygiene.py): tags and invisible characters are
   removed and whitespace collapsed; a concept left without a letter is dropped
   (`blank`, `markup_only`, `no_letters`);
1. drop a concept longer than `max_length` characters;
2. strip "(...)" from what is left (a concept left empty, or repeating an earlier one
   case-insensitively, is dropped);
3. drop a concept that is a class name (with or without "a"/"an"/"the", underscores
   read as spaces) or whose similarity to any class name is >= the class cut-off;
4. for each pair with similarity >= the duplicate cut-off, in input order, drop the one
   with the lower total similarity to all concepts entering this step (ties drop the
   later one), skipping pairs where either is already dropped.

Similarity is the cosine of the text embedder's rows. Every drop is reported with its
rule and the similarity and partner that triggered it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from dance.concepts._concept_hygiene import clean_concept_text, has_letter

DropRule = Literal[
    "blank",
    "markup_only",
    "no_letters",
    "too_long",
    "empty_after_strip",
    "repeat",
    "class_name",
    "class_similarity",
    "duplicate",
]
_PARENTHESES = re.compile(r"\s*\([^()]*\)")
_ARTICLES = ("", "a ", "an ", "the ")


class TextEmbedder(Protocol):
    """Anything that turns strings into L2-normalised rows (dance.encoders.DualEncoder does)."""

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """N strings -> (N, D) L2-normalised float32."""
        ...


@dataclass(frozen=True)
class ConceptDrop:
    """One dropped concept: the rule, and what triggered it (None where not applicable)."""

    concept: str
    rule: DropRule
    similarity: float | None = None
    partner: str | None = None


@dataclass(frozen=True)
class FilterReport:
    """What the filters kept, renamed (parentheses stripped) and dropped, and why."""

    kept: list[str]
    dropped: list[ConceptDrop]
    renamed: dict[str, str] = field(default_factory=dict)

    def dropped_by(self, rule: DropRule) -> list[ConceptDrop]:
        """The drops made by `rule`, in the order they were made."""
        return [drop for drop in self.dropped if drop.rule == rule]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (for concepts/language/filter_report.json)."""
        return {
            "kept": list(self.kept),
            "renamed": dict(self.renamed),
            "dropped": [asdict(drop) for drop in self.dropped],
        }


def embed_normalised(embedder: TextEmbedder, texts: Sequence[str], role: str) -> np.ndarray:
    """(N, D) float64 unit rows for `texts`; a clear error for a wrong shape or a zero row."""
    rows = np.asarray(embedder.embed_texts(list(texts)), dtype=np.float64)
    if rows.ndim != 2 or rows.shape[0] != len(texts):
        raise ValueError(
            f"the text embedder returned shape {rows.shape} for {len(texts)} {role}; it must "
            "return one row per text, (N, D)"
        )
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    if not np.all(np.isfinite(rows)) or np.any(norms == 0):
        bad = [texts[i] for i in np.flatnonzero(~np.isfinite(norms[:, 0]) | (norms[:, 0] == 0))]
        raise ValueError(
            f"the text embedder returned a zero or non-finite row for {role} {bad[:3]}; "
            "check the embedder"
        )
    return rows / norms


def _stripped(
    concepts: Sequence[str], max_length: int
) -> tuple[list[str], list[ConceptDrop], dict[str, str]]:
    """Rules 0-2: hygiene, drop too-long concepts, strip parentheses, drop empties and repeats."""
    kept: list[str] = []
    dropped: list[ConceptDrop] = []
    renamed: dict[str, str] = {}
    seen: dict[str, str] = {}
    for concept in concepts:
        text, hygiene_rule = clean_concept_text(concept)
        if hygiene_rule is not None:
            dropped.append(ConceptDrop(concept, hygiene_rule))
            continue
        if len(text) > max_length:
            dropped.append(ConceptDrop(concept, "too_long"))
            continue
        clean = " ".join(_PARENTHESES.sub("", text).split())
        if not has_letter(clean):  # "(tennis)" leaves nothing, "$ (cash)" leaves "$"
            dropped.append(ConceptDrop(concept, "no_letters" if clean else "empty_after_strip"))
            continue
        if clean.casefold() in seen:
            dropped.append(ConceptDrop(concept, "repeat", partner=seen[clean.casefold()]))
            continue
        if clean != concept:
            renamed[concept] = clean
        seen[clean.casefold()] = clean
        kept.append(clean)
    return kept, dropped, renamed


def _class_echoes(
    concepts: list[str], class_names: Sequence[str], embedder: TextEmbedder, cutoff: float
) -> tuple[list[str], list[ConceptDrop]]:
    """Rule 3: drop class names (exact, with articles) and concepts too similar to one."""
    # A class id written with underscores ("raise_arms") is echoed in words ("raise arms").
    spelled = {
        f"{article}{spelling}".casefold(): name
        for name in class_names
        for spelling in (name, name.replace("_", " "))
        for article in _ARTICLES
    }
    kept: list[str] = []
    dropped: list[ConceptDrop] = []
    candidates = []
    for concept in concepts:
        if concept.casefold() in spelled:
            dropped.append(ConceptDrop(concept, "class_name", 1.0, spelled[concept.casefold()]))
        else:
            candidates.append(concept)
    if not candidates:
        return kept, dropped
    similarity = (
        embed_normalised(embedder, candidates, "concepts")
        @ embed_normalised(embedder, list(class_names), "class names").T
    )
    for row, concept in enumerate(candidates):
        best = int(np.argmax(similarity[row]))
        if similarity[row, best] >= cutoff:
            dropped.append(
                ConceptDrop(
                    concept, "class_similarity", float(similarity[row, best]), class_names[best]
                )
            )
        else:
            kept.append(concept)
    return kept, dropped


def _duplicates(
    concepts: list[str], embedder: TextEmbedder, cutoff: float
) -> tuple[list[str], list[ConceptDrop]]:
    """Rule 4: of each too-similar pair, drop the one less similar to all the others."""
    if len(concepts) < 2:
        return list(concepts), []
    rows = embed_normalised(embedder, concepts, "concepts")
    similarity = rows @ rows.T
    totals = similarity.sum(axis=1)
    removed: set[int] = set()
    dropped: list[ConceptDrop] = []
    for i in range(len(concepts)):
        for j in range(i + 1, len(concepts)):
            if i in removed or j in removed or similarity[i, j] < cutoff:
                continue
            # Keep the more general concept: the one more similar to everything else.
            loser, winner = (i, j) if totals[i] < totals[j] else (j, i)
            removed.add(loser)
            dropped.append(
                ConceptDrop(concepts[loser], "duplicate", float(similarity[i, j]), concepts[winner])
            )
    return [c for k, c in enumerate(concepts) if k not in removed], dropped


def run_filters(
    concepts: Sequence[str],
    class_names: Sequence[str],
    embedder: TextEmbedder,
    max_length: int,
    class_cutoff: float,
    duplicate_cutoff: float,
) -> tuple[list[str], FilterReport]:
    """Apply rules 0-4 in order; the kept concepts (input order) and the report."""
    kept, dropped, renamed = _stripped(concepts, max_length)
    if kept:
        kept, class_drops = _class_echoes(kept, class_names, embedder, class_cutoff)
        dropped.extend(class_drops)
    kept, duplicate_drops = _duplicates(kept, embedder, duplicate_cutoff)
    dropped.extend(duplicate_drops)
    return kept, FilterReport(kept=list(kept), dropped=dropped, renamed=renamed)
