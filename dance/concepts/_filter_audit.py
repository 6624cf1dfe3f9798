"""Check the concept filters against an answer key: planted noise dropped, true names kept.

An answer key (dance/concepts/_answers_file.py) lists what its answers file planted:
near-duplicates, class-name echoes, hygiene cases, irrelevant items. With a text tower
that understands the words, the filters should drop every planted duplicate (rule
duplicate or repeat) and echo (class_name or class_similarity), drop every hygiene case,
and keep nearly all true object and scene names. Irrelevant items are reported only:
no filter can know that a chair is irrelevant to squatting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from dance.concepts._answer_parsing import parse_answer
from dance.concepts._answers_file import KINDS, read_answers_file, resolve_answers_file
from dance.concepts._filters import FilterReport, TextEmbedder
from dance.concepts._label_quality import concept_truth_names
from dance.concepts.language import concepts_from_answers, filter_concepts
from dance.config import LanguageConceptConfig

# What must become of each planted category; None: reported, not judged.
EXPECTED_OUTCOMES: dict[str, tuple[str, ...] | None] = {
    "duplicates": ("duplicate", "repeat", "merged"),
    "echoes": ("class_name", "class_similarity"),
    "hygiene": ("blank", "markup_only", "no_letters", "empty_after_strip", "not_an_item"),
    "irrelevant": None,
    "formatting": None,
}
MIN_TRUE_NAMES_KEPT = 0.9


@dataclass(frozen=True)
class FilterAudit:
    """Each planted item's outcome, the true names kept per type, and what failed."""

    planted: dict[str, dict[str, str]]  # category -> {item: rule, "kept", "merged", ...}
    true_names: dict[str, dict[str, Any]]  # kind -> names, kept, missing, fractions
    failures: list[str]

    @property
    def passed(self) -> bool:
        """True when nothing failed."""
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form."""
        return {**asdict(self), "passed": self.passed}


def planted_outcome(item: str, reports: Mapping[str, FilterReport]) -> str:
    """What became of a planted answer line in the filters.

    The rule that dropped it; "kept"; "merged" (parsed into a concept an earlier line
    already gave, so never a filter input of its own); "not_an_item" (the parser found
    no item in it); "absent" (no class the filters saw answered it).
    """
    for report in reports.values():
        for drop in report.dropped:
            if drop.concept == item:
                return drop.rule
    for report in reports.values():
        if item in report.kept or report.renamed.get(item) in report.kept:
            return "kept"
    items = parse_answer(item)
    if not items:
        return "not_an_item"
    inputs = {
        concept.casefold()
        for report in reports.values()
        for concept in (*report.kept, *report.renamed, *(d.concept for d in report.dropped))
    }
    return "merged" if all(i.casefold() in inputs for i in items) else "absent"


def _true_names(report: FilterReport, key: Mapping[str, str | None]) -> dict[str, Any]:
    """How many of the key's ground-truth names survived, as themselves or through a synonym."""
    names = sorted({name for name in key.values() if name is not None})
    kept = {concept.casefold() for concept in report.kept}
    missing = [name for name in names if name.casefold() not in kept]
    covered = set(concept_truth_names(report.kept, names, key, report.renamed).values())
    return {
        "names": names,
        "missing": missing,
        "kept_fraction": (len(names) - len(missing)) / len(names) if names else None,
        "covered_fraction": len(covered & set(names)) / len(names) if names else None,
    }


def audit_filters(
    reports: Mapping[str, FilterReport],
    answer_key: Mapping[str, Any],
    min_true_names_kept: float = MIN_TRUE_NAMES_KEPT,
) -> FilterAudit:
    """Judge the object and scene filter reports against an answer key with a `planted` part."""
    planted = answer_key.get("planted") or {}
    outcomes: dict[str, dict[str, str]] = {}
    failures: list[str] = []
    for category, items in planted.items():
        outcomes[category] = {item: planted_outcome(item, reports) for item in items}
        expected = EXPECTED_OUTCOMES.get(category)
        if expected is None:
            continue
        for item, outcome in outcomes[category].items():
            if outcome not in expected:
                failures.append(f"planted {category} item {item!r}: {outcome}")
    true_names = {
        kind: _true_names(reports[kind], answer_key.get(kind) or {})
        for kind in KINDS
        if kind in reports
    }
    for kind, figures in true_names.items():
        fraction = figures["kept_fraction"]
        if fraction is not None and fraction < min_true_names_kept:
            failures.append(
                f"{kind}: {fraction:.0%} of the true names kept (< {min_true_names_kept:.0%}); "
                f"missing {figures['missing']}"
            )
    return FilterAudit(planted=outcomes, true_names=true_names, failures=failures)


def audit_answers_file(
    answers_file: str,
    answer_key: Mapping[str, Any],
    embedder: TextEmbedder,
    config: LanguageConceptConfig,
    class_names: Sequence[str] | None = None,
) -> tuple[FilterAudit, dict[str, FilterReport]]:
    """Parse and filter an answers file as discover does, then audit_filters the reports.

    `class_names` defaults to every class of the file.
    """
    if class_names is None:
        class_names = list(read_answers_file(resolve_answers_file(answers_file)))
    lists = concepts_from_answers(class_names, answers_file)
    reports = {
        kind: filter_concepts(getattr(lists, kind), class_names, embedder, config)[1]
        for kind in KINDS
    }
    return audit_filters(reports, answer_key), reports
