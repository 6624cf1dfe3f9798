"""Object and scene concepts (docs/method.md section 4): LLM, answers, files or annotations.

`query_llm_concepts` asks any OpenAI-compatible endpoint two prompts per class
(objects, scenes), `queries_per_class` samples each, caches every raw answer, parses the
answers into items and takes their union per class. `filter_concepts` then applies the
Label-free CBM filters. `concepts_from_answers` reads raw answers from a file and
parses them the same way (then the same filters apply); `concepts_from_files` and
`concepts_from_annotations` are the offline sources taken as given.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from dance import storage
from dance.concepts._answer_parsing import parse_answer
from dance.concepts._answers_file import (
    answers_of_classes,
    read_answers_file,
    resolve_answers_file,
)
from dance.concepts._filters import ConceptDrop, FilterReport, TextEmbedder, run_filters
from dance.concepts._llm_cache import AnswerCache, AnswerKey
from dance.concepts._llm_client import ChatClient, LLMQueryError, Message, endpoint_of
from dance.config import LanguageConceptConfig
from dance.errors import InputError

__all__ = [
    "ConceptDrop",
    "ConceptLists",
    "FilterReport",
    "LLMQueryError",
    "TextEmbedder",
    "build_prompt",
    "concepts_from_annotations",
    "concepts_from_answers",
    "concepts_from_files",
    "filter_concepts",
    "parse_answer",
    "query_llm_concepts",
]

ConceptKind = Literal["objects", "scenes"]
KINDS: tuple[ConceptKind, ...] = ("objects", "scenes")


@dataclass(frozen=True)
class ConceptLists:
    """Object and scene concepts overall, and per class ({class: {"objects", "scenes"}})."""

    objects: list[str]
    scenes: list[str]
    per_class: dict[str, dict[str, list[str]]]


def union_casefold(groups: Iterable[Iterable[str]]) -> list[str]:
    """Items of all groups in first-seen order, repeats (ignoring case) removed."""
    seen: set[str] = set()
    out: list[str] = []
    for group in groups:
        for item in group:
            if item.casefold() not in seen:
                seen.add(item.casefold())
                out.append(item)
    return out


def _check_class_names(class_names: Sequence[str]) -> list[str]:
    """The class names as a list; errors for none, blanks, non-strings and repeats."""
    if isinstance(class_names, str):
        raise TypeError(
            "class_names must be a sequence of names, not one string; wrap it in a list"
        )
    names = list(class_names)
    if not names:
        raise ValueError(
            "class_names is empty; pass the dataset's class names (manifest label_name)"
        )
    bad = [n for n in names if not isinstance(n, str) or not n.strip()]
    if bad:
        raise ValueError(
            f"class_names holds empty or non-string names {bad[:3]}; fix the label names"
        )
    repeats = sorted({n for n in names if names.count(n) > 1})
    if repeats:
        raise ValueError(f"class_names repeats {repeats[:3]}; each class must appear once")
    return names


def build_prompt(
    kind: ConceptKind, class_name: str, config: LanguageConceptConfig
) -> list[Message]:
    """The chat messages asking for `kind` concepts of `class_name` (one-shot if configured)."""
    template = config.object_prompt if kind == "objects" else config.scene_prompt
    suffix = f" {config.object_focus}" if config.one_shot and kind == "objects" else ""
    question = template.replace("{action}", class_name) + suffix
    if not config.one_shot:
        return [{"role": "user", "content": question}]
    example_action, example_answer = (
        (config.object_example_action, config.object_example_answer)
        if kind == "objects"
        else (config.scene_example_action, config.scene_example_answer)
    )
    return [
        {"role": "user", "content": template.replace("{action}", example_action) + suffix},
        {"role": "assistant", "content": example_answer},
        {"role": "user", "content": question},
    ]


def query_llm_concepts(
    class_names: Sequence[str], config: LanguageConceptConfig, cache_dir: str
) -> ConceptLists:
    """Ask the LLM for object and scene concepts of every class; raw answers cached in `cache_dir`."""
    names = _check_class_names(class_names)
    cache = AnswerCache(cache_dir)
    jobs = [
        (name, kind, sample)
        for name in names
        for kind in KINDS
        for sample in range(config.queries_per_class)
    ]
    keys = {
        job: AnswerKey.of(
            endpoint_of(config),
            config.model,
            build_prompt(job[1], job[0], config),
            job[0],
            job[2],
            config.temperature,
            config.max_tokens,
        )
        for job in jobs
    }
    answers = {job: cache.get(key) for job, key in keys.items()}
    missing = [job for job, answer in answers.items() if answer is None]
    if missing:
        client = ChatClient(config)  # only now: a full cache needs no key and no endpoint

        failed = threading.Event()

        def fetch(job: tuple[str, ConceptKind, int]) -> str | None:
            """Query one (class, kind, sample), store the raw answer, return it."""
            if failed.is_set():
                return None  # fail fast: an earlier request failed for good; not sent
            key = keys[job]
            messages = [{"role": role, "content": content} for role, content in key.messages]
            try:
                answer = client.complete(messages, job[0])
            except BaseException:
                failed.set()  # set in the worker, so queued jobs see it before they start
                raise
            cache.put(key, answer)  # finished answers stay cached for a rerun
            return answer

        with ThreadPoolExecutor(max_workers=config.concurrency) as pool:
            futures = {pool.submit(fetch, job): job for job in missing}
            for future in as_completed(futures):
                answers[futures[future]] = future.result()  # re-raises a failure
    return _lists_from_answers(
        names,
        {
            name: {
                kind: [answers[(name, kind, s)] or "" for s in range(config.queries_per_class)]
                for kind in KINDS
            }
            for name in names
        },
    )


def _lists_from_answers(
    names: Sequence[str], answers: Mapping[str, Mapping[str, Sequence[str]]]
) -> ConceptLists:
    """Parse each class's answers per kind, union them per class, then over the classes."""
    per_class = {
        name: {
            kind: union_casefold(parse_answer(answer) for answer in answers[name][kind])
            for kind in KINDS
        }
        for name in names
    }
    return ConceptLists(
        objects=union_casefold(per_class[n]["objects"] for n in names),
        scenes=union_casefold(per_class[n]["scenes"] for n in names),
        per_class=per_class,
    )


def concepts_from_answers(class_names: Sequence[str], answers_file: str) -> ConceptLists:
    """Concepts from a file of raw answers per class, parsed exactly as LLM answers are.

    `answers_file` is a dance.concept_answers.v1 JSON path, or 'synth' for the file
    shipped for DANCE-Synth; classes the file has beyond `class_names` are ignored.
    """
    names = _check_class_names(class_names)
    uri = resolve_answers_file(answers_file)
    # Each line is one answer: a file may mix "ball" and "- ball", which in one answer
    # would make the plain line read as prose around a list.
    return _lists_from_answers(names, answers_of_classes(read_answers_file(uri), names, uri))


def filter_concepts(
    concepts: Sequence[str],
    class_names: Sequence[str],
    embedder: TextEmbedder,
    config: LanguageConceptConfig,
) -> tuple[list[str], FilterReport]:
    """Apply the filters of docs/method.md section 4 in order: kept concepts, each drop reported."""
    if isinstance(concepts, str):
        raise TypeError("concepts must be a sequence of strings, not one string; wrap it in a list")
    bad = [c for c in concepts if not isinstance(c, str)]
    if bad:
        raise TypeError(f"concepts must be strings, got {[type(b).__name__ for b in bad[:3]]}")
    return run_filters(
        list(concepts),
        _check_class_names(class_names),
        embedder,
        max_length=config.max_concept_length,
        class_cutoff=config.class_similarity_cutoff,
        duplicate_cutoff=config.duplicate_similarity_cutoff,
    )


def _read_concept_file(uri: str | None, key: str) -> list[str]:
    """One concept per line ('#' comments and blank lines skipped), repeats removed."""
    if not uri:
        raise InputError(
            f"discover.language.{key} is not set but source=files needs it; point it at a "
            "text file with one concept per line"
        )
    try:
        text = storage.read_bytes(uri).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"discover.language.{key} ({uri}) is not UTF-8 text; re-save it as UTF-8"
        ) from exc
    lines = [line.strip() for line in text.splitlines()]
    concepts = union_casefold([[line for line in lines if line and not line.startswith("#")]])
    if not concepts:
        raise ValueError(f"discover.language.{key} ({uri}) lists no concepts; add one per line")
    return concepts


def concepts_from_files(config: LanguageConceptConfig) -> ConceptLists:
    """Concept lists read from `object_file` and `scene_file` (no per-class lists)."""
    return ConceptLists(
        objects=_read_concept_file(config.object_file, "object_file"),
        scenes=_read_concept_file(config.scene_file, "scene_file"),
        per_class={},
    )


def concepts_from_annotations(
    annotations_table: pa.Table, video_labels: Mapping[str, str] | None = None
) -> ConceptLists:
    """Concepts named in per-video annotations (video_id, objects, scenes), sorted by name.

    With `video_labels` (video_id -> class name), per_class lists each class's concepts.
    """
    required = {"video_id", "objects", "scenes"}
    missing = sorted(required - set(annotations_table.column_names))
    if missing:
        raise InputError(
            f"the concept annotations table lacks columns {missing}; it needs video_id, "
            "objects list<string>, scenes list<string> (DANCE-Synth concept_annotations.parquet)"
        )
    rows = annotations_table.select(["video_id", "objects", "scenes"]).to_pylist()
    ids = [row["video_id"] for row in rows]
    if len(set(ids)) != len(ids):
        repeats = sorted({i for i in ids if ids.count(i) > 1})
        raise InputError(
            f"the concept annotations repeat video_ids {repeats[:3]}; keep one row each"
        )
    by_id = {row["video_id"]: row for row in rows}
    if video_labels is not None:
        unlabelled = sorted(set(by_id) - set(video_labels))
        if unlabelled:
            raise ValueError(
                f"video_labels has no class for annotated videos {unlabelled[:3]}; pass the "
                "manifest's video_id -> label_name for every annotated video"
            )
    per_class: dict[str, dict[str, list[str]]] = {}
    collected: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for video_id in sorted(by_id):  # keyed by video_id, never row order
        row = by_id[video_id]
        for kind in KINDS:
            names = [n.strip() for n in row[kind] or [] if n and n.strip()]
            collected[kind].update(names)
            if video_labels is not None:
                slot = per_class.setdefault(video_labels[video_id], {k: [] for k in KINDS})
                slot[kind] = sorted(set(slot[kind]) | set(names))
    return ConceptLists(
        objects=sorted(collected["objects"]),
        scenes=sorted(collected["scenes"]),
        per_class=dict(sorted(per_class.items())),
    )
