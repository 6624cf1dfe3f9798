"""Object and scene concepts of a run and their (V, M) labels, by discover.language.source.

    llm          LLM lists (answers cached) -> filters -> pseudo labels cos(text, video) (Eq. 3)
    answers      raw answers from answers_file, parsed like LLM answers -> the same filters
                 -> pseudo labels (Eq. 3)
    files        object_file / scene_file as given (not filtered) -> pseudo labels (Eq. 3)
    annotations  the dataset's concept_annotations.parquet: its concepts, and 1.0 where the
                 video is annotated with the concept, else 0.0 (the attribute-CBM baseline)

Label rows follow the manifest's order; a video without labels (failed, no dual-encoder
embedding, or not annotated) has an all-zero row and known False.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from dance import storage
from dance.concepts._answers_file import resolve_answers_file
from dance.concepts.language import (
    concepts_from_annotations,
    concepts_from_answers,
    concepts_from_files,
    filter_concepts,
    query_llm_concepts,
)
from dance.concepts.pseudo_labels import pseudo_labels
from dance.config import DiscoverConfig
from dance.errors import InputError
from dance.manifest import Manifest

ANNOTATIONS_FILE = "concept_annotations.parquet"


@dataclass
class LanguageOutputs:
    """Object and scene concepts, their (V, M) labels in manifest order, and the report."""

    objects: list[str]
    scenes: list[str]
    object_labels: np.ndarray  # (V, M) float32; rows of unknown videos are zero
    scene_labels: np.ndarray  # (V, S) float32
    known: np.ndarray  # (V,) bool: the video has object/scene labels
    report: dict[str, Any]
    label_mode: str  # pseudo_labels (Eq. 3) | annotations (attribute CBM)
    encoder_id: str | None


def _unfiltered(concepts: list[str]) -> dict[str, Any]:
    """The filter report of a list taken as given."""
    return {"kept": concepts, "renamed": {}, "dropped": []}


def read_concept_annotations(dataset_root: str | None) -> tuple[pa.Table, str]:
    """The dataset's concept_annotations.parquet (video_id, objects, scenes) and its URI."""
    uri = storage.join(dataset_root, ANNOTATIONS_FILE) if dataset_root else None
    if uri is None or not storage.exists(uri):
        raise InputError(
            f"discover.language.source=annotations needs {ANNOTATIONS_FILE} in dataset.root "
            f"({dataset_root}); DANCE-Synth writes it. For other datasets set "
            "discover.language.source to llm or files"
        )
    return storage.read_parquet(uri, columns=["video_id", "objects", "scenes"]), uri


def annotation_outputs(
    manifest: Manifest, annotations: pa.Table, source_uri: str, video_ok: Mapping[str, bool]
) -> LanguageOutputs:
    """Concepts and 1.0/0.0 presence labels from the dataset's concept annotations."""
    ids = manifest.video_ids
    in_manifest = set(ids)
    rows = [r for r in annotations.to_pylist() if r["video_id"] in in_manifest]
    names = dict(zip(ids, manifest.table["label_name"].to_pylist(), strict=True))
    lists = concepts_from_annotations(pa.Table.from_pylist(rows, schema=annotations.schema), names)
    annotated = {r["video_id"]: r for r in rows}
    known = np.array([v in annotated and video_ok.get(v, False) for v in ids], dtype=bool)
    labels = {}
    for kind, concepts in (("objects", lists.objects), ("scenes", lists.scenes)):
        column = {c: j for j, c in enumerate(concepts)}
        matrix = np.zeros((len(ids), len(concepts)), dtype=np.float32)
        for i, video_id in enumerate(ids):
            for name in (annotated.get(video_id) or {}).get(kind) or []:
                if name and name.strip() in column:
                    matrix[i, column[name.strip()]] = 1.0
        labels[kind] = np.where(known[:, None], matrix, 0.0).astype(np.float32)
    report = {
        "source": "annotations",
        "filtered": False,
        "annotations": source_uri,
        "objects": _unfiltered(lists.objects),
        "scenes": _unfiltered(lists.scenes),
        "per_class": lists.per_class,
    }
    return LanguageOutputs(
        lists.objects, lists.scenes, labels["objects"], labels["scenes"], known, report,
        "annotations", None,
    )


def pseudo_label_outputs(
    config: DiscoverConfig,
    manifest: Manifest,
    embeddings: Mapping[str, Any],
    encoder_id: str,
    encoder_kind: str,
    cache_dir: str,
) -> LanguageOutputs:
    """Concepts of source llm, answers or files and their pseudo labels cos(text, video) (Eq. 3).

    `embeddings` maps video_id to the dual-encoder video embedding preprocess stored;
    `encoder_id` is the dual encoder that made them (from the preprocess record).
    """
    from dance.encoders import DualEncoder

    language = config.language
    ids = manifest.video_ids
    known = np.array([v in embeddings for v in ids], dtype=bool)
    if not known.any():
        raise InputError(
            "no video has a dual-encoder embedding (videos/ column `dual`), so pseudo labels "
            f"cannot be computed for discover.language.source={language.source}; rerun "
            "preprocess with preprocess.enable_dual=true, or use source=annotations"
        )
    embedder = DualEncoder.from_pretrained(encoder_id, kind=encoder_kind)
    class_names = manifest.class_names
    if language.source in ("llm", "answers"):
        if language.source == "llm":
            lists = query_llm_concepts(class_names, language, storage.join(cache_dir, "llm"))
            origin: dict[str, Any] = {}
        else:  # raw answers from a file take exactly the LLM answers' path from here on
            answers_file = str(language.answers_file)
            lists = concepts_from_answers(class_names, answers_file)
            origin = {"answers_file": resolve_answers_file(answers_file)}
        objects, object_report = filter_concepts(lists.objects, class_names, embedder, language)
        scenes, scene_report = filter_concepts(lists.scenes, class_names, embedder, language)
        report = {
            "source": language.source,
            "filtered": True,
            **origin,
            "objects": object_report.to_dict(),
            "scenes": scene_report.to_dict(),
            "per_class": lists.per_class,
        }
    else:
        # A user's list is taken as given: the filters exist to clean LLM answers.
        lists = concepts_from_files(language)
        objects, scenes = lists.objects, lists.scenes
        report = {
            "source": "files",
            "filtered": False,
            "files": {"objects": language.object_file, "scenes": language.scene_file},
            "objects": _unfiltered(objects),
            "scenes": _unfiltered(scenes),
        }
    known_ids = [v for v in ids if v in embeddings]
    matrix = np.asarray([embeddings[v] for v in known_ids], dtype=np.float32)
    rows = np.flatnonzero(known)
    labels = {}
    for kind, concepts in (("objects", objects), ("scenes", scenes)):
        full = np.zeros((len(ids), len(concepts)), dtype=np.float32)
        if concepts:
            full[rows] = pseudo_labels(
                known_ids,
                matrix,
                concepts,
                embedder,
                config.pseudo_labels.template,
                encoder_id,
                cache_dir=storage.join(cache_dir, "text"),
            )
        labels[kind] = full
    return LanguageOutputs(
        objects, scenes, labels["objects"], labels["scenes"], known, report, "pseudo_labels",
        encoder_id,
    )
