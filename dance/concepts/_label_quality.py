"""How well pseudo labels (Eq. 3) find what a video holds, when the dataset says what it holds.

For each object/scene concept that names a ground-truth object/scene, the ROC-AUC of its
cosine over videos against "this video holds it" (sklearn.metrics.roc_auc_score), per
split. A concept names a ground-truth name when it equals one (ignoring case), or when
an answer key maps it to one; other concepts are not scored. On a split where every
video holds the concept, or none does, its AUC is undefined and the concept is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from dance import storage
from dance.concepts._answers_file import KINDS, answer_key_for
from dance.concepts._language_outputs import (
    ANNOTATIONS_FILE,
    LanguageOutputs,
    read_concept_annotations,
)
from dance.config import DiscoverConfig
from dance.manifest import Manifest

SPLITS = ("train", "test")


def concept_truth_names(
    concepts: Sequence[str],
    truth_names: Sequence[str],
    answer_key: Mapping[str, str | None] | None = None,
    renamed: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """{concept: the ground-truth name it means} for the concepts that mean one.

    A concept equal to a ground-truth name (ignoring case) means it; else the answer key
    decides, looked up by the concept or by the answer line the filters renamed into it.
    """
    truth = {name.casefold(): name for name in truth_names}
    key = {c.casefold(): t for c, t in (answer_key or {}).items()}
    originals: dict[str, list[str]] = {}
    for original, clean in (renamed or {}).items():
        originals.setdefault(clean, []).append(original)
    out: dict[str, str] = {}
    for concept in concepts:
        if concept.casefold() in truth:
            out[concept] = truth[concept.casefold()]
            continue
        for spelling in (concept, *originals.get(concept, [])):
            meant = key.get(spelling.casefold())
            if meant is not None:
                out[concept] = meant
                break
    return out


def concept_auc(scores: np.ndarray, present: np.ndarray, concepts: Sequence[str]) -> dict[str, Any]:
    """Per-concept ROC-AUC of (V, M) scores against (V, M) presence; the mean over scored ones.

    A concept whose presence is all true or all false is listed under `skipped`.
    """
    from sklearn.metrics import roc_auc_score

    scores = np.asarray(scores, dtype=np.float64)
    present = np.asarray(present, dtype=bool)
    if scores.shape != present.shape or scores.ndim != 2 or scores.shape[1] != len(concepts):
        raise ValueError(
            f"scores {scores.shape} and presence {present.shape} must both be (videos, "
            f"{len(concepts)} concepts)"
        )
    per_concept: dict[str, float] = {}
    skipped: list[str] = []
    for column, concept in enumerate(concepts):
        truth = present[:, column]
        if truth.all() or not truth.any():
            skipped.append(concept)
            continue
        per_concept[concept] = float(roc_auc_score(truth, scores[:, column]))
    return {
        "mean_auc": float(np.mean(list(per_concept.values()))) if per_concept else None,
        "concepts": len(per_concept),
        "videos": int(scores.shape[0]),
        "per_concept": per_concept,
        "skipped": skipped,
    }


def _video_truth(annotations: pa.Table, kind: str) -> dict[str, set[str]]:
    """{video_id: casefolded ground-truth names of `kind`} from the concept annotations."""
    ids = annotations["video_id"].to_pylist()
    names = annotations[kind].to_pylist()
    return {
        v: {n.strip().casefold() for n in row or [] if n and n.strip()}
        for v, row in zip(ids, names, strict=True)
    }


def pseudo_label_quality(
    manifest: Manifest,
    language: LanguageOutputs,
    annotations: pa.Table,
    answer_key: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """ROC-AUC of the object and scene pseudo labels against the annotations, per split.

    {kind: {"truth_names": {concept: name}, "unscored": [...], "train": {...}, "test": {...}}}
    where each split holds concept_auc's figures over its labelled, annotated videos.
    """
    ids = manifest.video_ids
    splits = manifest.table["split"].to_pylist()
    out: dict[str, Any] = {}
    for kind, concepts, labels in (
        ("objects", language.objects, language.object_labels),
        ("scenes", language.scenes, language.scene_labels),
    ):
        per_video = _video_truth(annotations, kind)
        vocabulary = sorted({name for names in per_video.values() for name in names})
        renamed = (language.report.get(kind) or {}).get("renamed") or {}
        meant = concept_truth_names(concepts, vocabulary, (answer_key or {}).get(kind), renamed)
        scored = [c for c in concepts if c in meant]
        columns = [concepts.index(c) for c in scored]
        entry: dict[str, Any] = {
            "truth_names": meant,
            "unscored": [c for c in concepts if c not in meant],
        }
        for split in SPLITS:
            rows = [
                i
                for i, (v, s) in enumerate(zip(ids, splits, strict=True))
                if s == split and language.known[i] and v in per_video
            ]
            present = np.array(
                [[meant[c].casefold() in per_video[ids[i]] for c in scored] for i in rows],
                dtype=bool,
            ).reshape(len(rows), len(scored))
            scores = np.asarray(labels, dtype=np.float64)[np.ix_(rows, columns)]
            entry[split] = concept_auc(scores, present, scored)
        out[kind] = entry
    return out


def quality_headline(quality: Mapping[str, Any]) -> dict[str, Any]:
    """The mean AUC and concept count per type and split (what a stage record keeps)."""
    return {
        kind: {
            split: {
                "mean_auc": quality[kind][split]["mean_auc"],
                "concepts": quality[kind][split]["concepts"],
            }
            for split in SPLITS
        }
        for kind in KINDS
        if kind in quality
    }


def run_label_quality(
    config: DiscoverConfig,
    dataset_root: str | None,
    manifest: Manifest,
    language: LanguageOutputs,
) -> dict[str, Any]:
    """pseudo_label_quality of a discover run; {} without pseudo labels or ground truth.

    Ground truth is the dataset's concept_annotations.parquet; the answer key is read when
    the concepts came from the answers file shipped for DANCE-Synth.
    """
    if language.label_mode != "pseudo_labels" or not dataset_root:
        return {}
    if not storage.exists(storage.join(dataset_root, ANNOTATIONS_FILE)):
        return {}
    annotations, _ = read_concept_annotations(dataset_root)
    key = None
    if config.language.source == "answers":
        key = answer_key_for(config.language.answers_file)
    return pseudo_label_quality(manifest, language, annotations, key)
