"""`dance evaluate --table`: Table 1 rows side by side on one workdir, scored by the same code.

    the fine-tuned backbone's own head     from the finetune stage's record (its test split)
    linear probe                           the sparse layer on the standardised features
    attribute CBM                          object/scene layers on the dataset's annotations
    LF-CBM, entangled / disentangled       motion phrases (evaluate.language_motion_file)
                                           labelled by Eq. 3 with the run's dual encoder;
                                           disentangled adds the object and scene concepts
    DANCE                                  the train stage's bundle (model/)
    DANCE without a type (ablations)       the same training with one concept type left out

Columns: val and test accuracy, and the shifted test set's where preprocess stored one.

Every row except the backbone's head is a DanceModel scored by `evaluate_model`, so the
numbers are comparable. Rows other than DANCE itself are fitted here in one process (the
same library code the train job distributes); their bundles go to reports/table/<row>/.
Rows whose inputs the run lacks (no annotations, no dual encoder) are left out, saying why.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from dance import storage
from dance.concepts import (
    LANGUAGE_CACHE_DIR,
    MOTION_STYLES,
    annotation_outputs,
    labels_table,
    language_motion_labels,
    read_concept_annotations,
    read_concept_bundle,
    read_language_motion,
    resolve_language_motion_file,
)
from dance.config import DanceConfig
from dance.errors import DanceError
from dance.manifest import Manifest
from dance.preprocess import dual_embeddings, read_videos
from dance.progress import Log
from dance.train import (
    DanceModel,
    bundle_from_progress,
    fit_model,
    join_training_table,
    probe_labels,
    training_arrays,
)
from dance.workdir import concepts_dir, manifest_uri, read_record, reports_dir
from ray_jobs.evaluate import SHIFTED, evaluate_model, load_decoded
from ray_jobs.train import output_uri

TABLE_JSON = "table.json"
SPLIT_COLUMNS = ("val", "test", SHIFTED)


def _concept_labels(cfg: DanceConfig) -> tuple[pa.Table, dict[str, list[str]], dict[str, Any]]:
    """The workdir's discovered concepts: labels, names per type and concepts.json."""
    bundle = read_concept_bundle(concepts_dir(cfg.workdir))
    return bundle.labels, bundle.names, bundle.index


def _attribute_labels(
    cfg: DanceConfig, manifest: Manifest
) -> tuple[pa.Table, dict[str, list[str]], dict[str, Any]] | None:
    """Object and scene labels from the dataset's annotations (the attribute CBM), if any."""
    try:
        annotations, uri = read_concept_annotations(cfg.dataset.root)
    except DanceError:
        return None
    outputs = annotation_outputs(manifest, annotations, uri, dict.fromkeys(manifest.video_ids, True))
    count = len(manifest)
    labels = labels_table(
        manifest.video_ids, manifest.table["split"].to_pylist(),
        manifest.table["label"].to_pylist(), np.zeros((count, 0), dtype=np.uint8),
        np.zeros(count, dtype=bool), outputs.object_labels, outputs.scene_labels, outputs.known,
    )
    names = {"motion": [], "objects": outputs.objects, "scenes": outputs.scenes}
    return labels, names, {"language_source": "annotations"}


def _fit_row(
    cfg: DanceConfig,
    manifest: Manifest,
    videos: pa.Table,
    variant: str,
    types: Sequence[str],
    concepts: tuple[pa.Table, dict[str, list[str]], dict[str, Any]] | None = None,
    language_motion: LanguageMotion | None = None,
) -> DanceModel:
    """Fit one row's model in this process, from the workdir's features and given labels."""
    train_cfg = cfg.train.model_copy(
        update={
            "variant": variant,
            "concept_types": list(types),
            "allow_empty_types": True,
            "motion_concepts": "clusters" if language_motion is None else "language",
        }
    )
    row_cfg = cfg.model_copy(update={"train": train_cfg})
    if variant == "linear_probe":
        labels, names, index = probe_labels(manifest), {"motion": [], "objects": [], "scenes": []}, {}
    else:
        assert concepts is not None  # every concept row names its labels
        labels, names, index = concepts
    table, _ = join_training_table(videos, labels, manifest.class_names)
    if language_motion is not None:
        names = {**names, "motion": language_motion.phrases}
    arrays = training_arrays(table, {kind: len(values) for kind, values in names.items()})
    if language_motion is not None:  # pseudo labels of the phrases, joined by video_id
        row_of = {v: i for i, v in enumerate(language_motion.video_ids)}
        rows = np.array([row_of[v] for v in arrays.video_ids])
        arrays.motion = language_motion.labels[rows]
        arrays.language_known = arrays.language_known & language_motion.known[rows]
    progress = fit_model(arrays, names, len(manifest.class_names), train_cfg, cfg.seed)
    return bundle_from_progress(progress, row_cfg, manifest.class_names, index, {})


@dataclass
class LanguageMotion:
    """Motion phrases and their pseudo labels (Eq. 3) for every manifest video."""

    phrases: list[str]
    video_ids: list[str]
    labels: np.ndarray  # (V, M) float32
    known: np.ndarray  # (V,) bool: the video has a dual-encoder embedding


def _language_motion(
    cfg: DanceConfig, manifest: Manifest, videos: pa.Table, log: Log
) -> dict[str, LanguageMotion]:
    """Per style, the phrases of evaluate.language_motion_file labelled with the run's encoder."""
    if cfg.evaluate.language_motion_file is None:
        log("table: evaluate.language_motion_file is not set: no LF-CBM rows")
        return {}
    record = read_record(cfg.workdir, "preprocess")
    dual = record.facts.get("dual_encoder") if record is not None else None
    if not dual:
        log("table: preprocess stored no dual-encoder embeddings: no LF-CBM rows")
        return {}
    from dance.encoders import DualEncoder

    embedder = DualEncoder.from_pretrained(dual["id"], kind=dual["kind"])
    embeddings = dual_embeddings(videos)
    uri = resolve_language_motion_file(cfg.evaluate.language_motion_file)
    cache = storage.join(concepts_dir(cfg.workdir), LANGUAGE_CACHE_DIR, "text")
    styles = {}
    for style in MOTION_STYLES:
        phrases = read_language_motion(uri, style, manifest.class_names)
        labels, known = language_motion_labels(
            manifest.video_ids, embeddings, phrases, embedder,
            cfg.discover.pseudo_labels.template, dual["id"], cache,
        )
        styles[style] = LanguageMotion(phrases, manifest.video_ids, labels, known)
    return styles


def _model_row(name: str, model: DanceModel, decoded: pa.Table) -> dict[str, Any]:
    """One table row of a bundle: accuracy per split, concepts and non-zero weights per type."""
    metrics, _ = evaluate_model(model, decoded)
    weights = model.final.weight.detach()
    nonzero = {
        kind: int((weights[:, columns] != 0).sum()) for kind, columns in model.type_slices.items()
    }
    return {
        "row": name,
        **{split: metrics[split]["top1"] for split in SPLIT_COLUMNS if split in metrics},
        "concepts": {k: len(v) for k, v in model.concept_names_by_type.items()},
        "nonzeros": {k: v for k, v in nonzero.items() if v or k in model.concept_names_by_type},
    }


def _backbone_row(cfg: DanceConfig) -> dict[str, Any] | None:
    """The fine-tuned backbone's own classifier, as its fine-tuning run measured it."""
    record = read_record(cfg.workdir, "finetune")
    if record is None or not record.done:
        return None
    report = record.facts["report"]
    return {"row": "fine-tuned backbone (own head)", "val": report["best_val_acc"],
            "test": report["test_acc"], "concepts": {}, "nonzeros": {}}


def run_table(cfg: DanceConfig, log: Log) -> list[dict[str, Any]]:
    """Build every row, print the table and write reports/table.json."""
    started = time.perf_counter()
    manifest = Manifest.read(manifest_uri(cfg.workdir))
    decoded, _ = load_decoded(cfg, manifest)
    # read once: every fitted row joins these features with its own labels
    videos = read_videos(cfg.workdir, columns=["video_id", "status", "backbone", "dual"])
    discovered = _concept_labels(cfg)
    rows = [row for row in (_backbone_row(cfg),) if row is not None]
    log("table: linear probe on the backbone features")
    model = _fit_row(cfg, manifest, videos, "linear_probe", [])
    rows.append(_model_row("linear probe", model, decoded))
    attributes = _attribute_labels(cfg, manifest)
    if attributes is None:
        log("table: the dataset has no concept annotations: no attribute-CBM row")
    else:
        log("table: attribute CBM on the dataset's object and scene annotations")
        model = _fit_row(cfg, manifest, videos, "dance", ["object", "scene"], attributes)
        rows.append(_model_row("attribute CBM (annotations)", model, decoded))
    motion = _language_motion(cfg, manifest, videos, log)
    if "entangled" in motion:
        log("table: LF-CBM with entangled language concepts")
        model = _fit_row(cfg, manifest, videos, "dance", ["motion"], discovered,
                         language_motion=motion["entangled"])
        rows.append(_model_row("LF-CBM, entangled language concepts", model, decoded))
    if "disentangled" in motion:
        log("table: LF-CBM with disentangled language concepts (+ objects, scenes)")
        model = _fit_row(cfg, manifest, videos, "dance", ["motion", "object", "scene"],
                         discovered, language_motion=motion["disentangled"])
        rows.append(_model_row("LF-CBM, disentangled language concepts", model, decoded))
    rows.append(_model_row("DANCE", DanceModel.from_pretrained(output_uri(cfg)), decoded))
    types = cfg.train.concept_types
    for left_out in types if len(types) > 1 else ():
        kept = [t for t in types if t != left_out]
        log(f"table: DANCE without {left_out} concepts")
        model = _fit_row(cfg, manifest, videos, "dance", kept, discovered)
        rows.append(_model_row(f"DANCE without {left_out}", model, decoded))
    storage.write_json(
        {"rows": rows, "seconds": round(time.perf_counter() - started, 3)},
        storage.join(reports_dir(cfg.workdir), TABLE_JSON),
    )
    log(format_table(rows))
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as a plain-text table: accuracy per split, concepts and non-zeros per type."""
    def cell(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:5.1f}"

    def per_type(counts: dict[str, int]) -> str:
        return " ".join(f"{k[:1]}{v}" for k, v in counts.items()) or "-"

    splits = [s for s in SPLIT_COLUMNS if any(s in row for row in rows)]
    header = (f"{'method':<40} " + " ".join(f"{s + ' %':>9}" for s in splits)
              + f"  {'concepts':<18} non-zero weights")
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['row']:<40} " + " ".join(f"{cell(row.get(s)):>9}" for s in splits)
            + f"  {per_type(row['concepts']):<18} {per_type(row['nonzeros'])}"
        )
    return "\n".join(lines)
