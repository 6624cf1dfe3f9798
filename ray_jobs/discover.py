"""The discover job: motion concepts, object/scene concepts and their labels -> <workdir>/concepts/.

    manifest.parquet + clips/*.parquet
      -> ONE Ray task holding the clip matrix (discover.motion.num_cpus / num_gpus):
         FINCH on train clips (or all: motion.transductive), val/test clips to the nearest
         centroid, per-video multi-hot (Eq. 2), NMI against classes, ground-truth
         primitives (DANCE-Synth) and k-means with the same k
    language (driver), by discover.language.source:
      llm          LLM lists (answers cached) -> filters -> pseudo labels cos(text, video) (Eq. 3)
      files        object_file / scene_file as given (not filtered) -> pseudo labels (Eq. 3)
      annotations  the dataset's concept_annotations.parquet: its concepts, and labels 1.0 if
                   the video is annotated with the concept else 0.0 (the attribute-CBM mode;
                   needs no LLM and no pretrained dual encoder)
      -> concepts/labels.parquet: every manifest video once, plus concepts/concepts.json

A video without a kept clip (a failed video included) has motion_known=False and an
all-zero motion row. A video whose object/scene labels cannot be computed (status
failed, no dual embedding, or no annotation row) has null `objects` and `scenes`.

    python -m ray_jobs.discover --config demo [--set key=value ...]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from dance import storage
from dance.concepts._bundle import (
    LANGUAGE_CACHE_DIR,
    MotionOutputs,
    concepts_uri,
    labels_table,
    motion_concept_names,
    write_concept_index,
    write_labels,
    write_language,
    write_motion,
)
from dance.config import DanceConfig
from dance.manifest import Manifest
from dance.pipeline import manifest_uri
from dance.synth.clip_primitives import (
    MissingGroundTruth,
    clip_frame_windows,
    clip_primitives,
    read_frame_primitives,
)
from ray_jobs._runtime import Log, ensure_ray, job_main, log_to_stderr, with_absolute_paths

SUMMARY_FILE = "discover_summary.json"
ANNOTATIONS_FILE = "concept_annotations.parquet"
_CLIP_COLUMNS = ["video_id", "clip_index", "start", "end", "pose", "kept"]


@dataclass
class DiscoverSummary:
    """What a discover run produced: concept counts, label coverage and motion NMI figures."""

    videos: int
    videos_ok: int
    videos_motion_known: int
    videos_language_known: int
    clips_kept: int
    clips_clustered: int
    motion_concepts: int
    partition_level: int | None
    objects: int
    scenes: int
    language_source: str
    label_mode: str  # pseudo_labels (Eq. 3) | annotations (attribute CBM)
    nmi: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form."""
        return asdict(self)

    def describe(self) -> str:
        """A short human-readable report."""

        def figure(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.3f}"

        lines = [
            (
                f"discover: {self.videos} videos ({self.videos_ok} ok), "
                f"{self.videos_motion_known} with motion labels, "
                f"{self.videos_language_known} with object/scene labels"
            ),
            (
                f"  motion concepts: {self.motion_concepts} (FINCH level {self.partition_level}, "
                f"{self.clips_clustered} of {self.clips_kept} kept clips clustered)"
            ),
            (
                f"  object concepts: {self.objects}, scene concepts: {self.scenes} "
                f"(source={self.language_source}, labels={self.label_mode})"
            ),
        ]
        for target in ("class", "primitive"):
            scores = self.nmi.get(target)
            if scores is None:
                lines.append(f"  NMI vs {target}: n/a (no ground truth)")
                continue
            lines.append(
                f"  NMI vs {target}: FINCH {figure(scores['finch'])}, "
                f"k-means (k={self.nmi['k']}) {figure(scores['kmeans'])}"
            )
        lines.append(f"  took {self.seconds:.1f} s")
        return "\n".join(lines)


# --- motion: one Ray task holding the clip matrix ---------------------------------------


def _majority_primitives(
    clips: pa.Table, keys: list[tuple[str, int]], truth_uri: str
) -> np.ndarray | None:
    """Per clip key, its majority ground-truth primitive; None if the truth lacks a video."""
    try:
        found = clip_primitives(keys, clip_frame_windows(clips), read_frame_primitives(truth_uri))
    except MissingGroundTruth:
        return None  # ground truth does not cover these videos: no primitive NMI
    return found.majority


def _nmi_figures(
    features: np.ndarray,
    finch_labels: np.ndarray,
    classes: np.ndarray,
    primitives: np.ndarray | None,
    seed: int,
) -> dict[str, Any]:
    """NMI of the FINCH partition and of k-means (same k, same unit vectors, fixed seed)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score as nmi

    from dance.cluster import l2_normalize

    k = int(finch_labels.max()) + 1
    units = l2_normalize(features.astype(np.float64))
    kmeans = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(units)
    figures: dict[str, Any] = {"k": k, "seed": seed, "clips": int(features.shape[0])}
    for name, truth in (("class", classes), ("primitive", primitives)):
        figures[name] = (
            None
            if truth is None
            else {"finch": float(nmi(truth, finch_labels)), "kmeans": float(nmi(truth, kmeans))}
        )
    return figures


def discover_motion(
    cfg: DanceConfig, manifest_table: pa.Table, truth_uri: str | None
) -> MotionOutputs:
    """Motion concepts of the workdir's kept clips; per-clip assignment and per-video labels."""
    from dance.concepts import discover_motion_concepts, motion_clips_from_tables, motion_summary
    from dance.concepts import video_motion_labels as motion_labels

    storage.configure(cfg.storage)
    clips = storage.read_parquet(storage.join(cfg.workdir, "clips"), columns=_CLIP_COLUMNS)
    motion = motion_clips_from_tables(clips, manifest_table, cfg.pose.normalization)
    discovery = discover_motion_concepts(motion, cfg.discover.motion)
    ordered = discovery.clips
    keys = list(zip(ordered.video_id.tolist(), ordered.clip_index.tolist(), strict=True))
    video_ids = manifest_table["video_id"].to_pylist()
    multi_hot, known = motion_labels(discovery, video_ids)
    summary = motion_summary(discovery)
    clustered = discovery.clustered
    primitives = _majority_primitives(clips, keys, truth_uri) if truth_uri else None
    summary["nmi"] = _nmi_figures(
        ordered.features[clustered],
        discovery.assignment[clustered],
        ordered.video_label[clustered],
        None if primitives is None else primitives[clustered],
        cfg.seed,
    )
    summary["names"] = motion_concept_names(discovery.bank.centroids.shape[0])
    assignment = pa.table(
        {
            "video_id": pa.array(ordered.video_id.tolist(), pa.string()),
            "clip_index": pa.array(ordered.clip_index.astype(np.int32)),
            "split": pa.array(ordered.split.tolist(), pa.string()),
            "concept": pa.array(discovery.assignment.astype(np.int32)),
            "clustered": pa.array(clustered),
        }
    )
    width = multi_hot.shape[1]
    offsets = pa.array(np.arange(len(video_ids) + 1, dtype=np.int32) * width)
    video_labels = pa.table(
        {
            "video_id": pa.array(video_ids, pa.string()),
            "motion": pa.ListArray.from_arrays(offsets, pa.array(multi_hot.reshape(-1))),
            "motion_known": pa.array(known),
        }
    )
    return MotionOutputs(
        bank=discovery.bank, assignment=assignment, video_labels=video_labels, summary=summary
    )


def _run_motion_task(
    cfg: DanceConfig, manifest_table: pa.Table, truth_uri: str | None
) -> MotionOutputs:
    """discover_motion in one Ray task with discover.motion.num_cpus / num_gpus."""
    import ray

    from ray_jobs.preprocess import _remote_args

    options: dict[str, Any] = {
        "num_cpus": cfg.discover.motion.num_cpus,
        "num_gpus": cfg.discover.motion.num_gpus,
        "max_retries": 1,  # idempotent: it only reads clips/ and returns arrays
        **_remote_args(cfg, []),
    }
    task = ray.remote(discover_motion).options(**options)
    return ray.get(task.remote(cfg, manifest_table, truth_uri))


# --- language: object and scene concepts and their labels -------------------------------


@dataclass
class LanguageOutputs:
    """Object and scene concepts, their (V, M) labels in manifest order, and the report."""

    objects: list[str]
    scenes: list[str]
    object_labels: np.ndarray  # (V, M) float32; rows of unknown videos are zero
    scene_labels: np.ndarray  # (V, S) float32
    known: np.ndarray  # (V,) bool: the video has object/scene labels
    report: dict[str, Any]
    label_mode: str
    encoder_id: str | None


def _annotation_labels(
    cfg: DanceConfig, manifest: Manifest, video_ok: dict[str, bool]
) -> LanguageOutputs:
    """Concepts and 1.0/0.0 presence labels from the dataset's concept annotations."""
    from dance.concepts.language import concepts_from_annotations

    root = cfg.dataset.root
    uri = storage.join(root, ANNOTATIONS_FILE) if root else None
    if uri is None or not storage.exists(uri):
        raise ValueError(
            f"discover.language.source=annotations needs {ANNOTATIONS_FILE} in dataset.root "
            f"({root}); DANCE-Synth writes it. For other datasets set discover.language.source "
            "to llm or files"
        )
    table = storage.read_parquet(uri, columns=["video_id", "objects", "scenes"])
    ids = manifest.video_ids
    in_manifest = set(ids)
    rows = [r for r in table.to_pylist() if r["video_id"] in in_manifest]
    names = dict(zip(ids, manifest.table["label_name"].to_pylist(), strict=True))
    lists = concepts_from_annotations(pa.Table.from_pylist(rows, schema=table.schema), names)
    annotated = {r["video_id"]: r for r in rows}
    labels = {}
    for kind, concepts in (("objects", lists.objects), ("scenes", lists.scenes)):
        column = {c: j for j, c in enumerate(concepts)}
        matrix = np.zeros((len(ids), len(concepts)), dtype=np.float32)
        for i, video_id in enumerate(ids):
            for name in (annotated.get(video_id) or {}).get(kind) or []:
                if name and name.strip() in column:
                    matrix[i, column[name.strip()]] = 1.0
        labels[kind] = matrix
    known = np.array([v in annotated and video_ok.get(v, False) for v in ids], dtype=bool)
    labels = {
        kind: np.where(known[:, None], m, 0.0).astype(np.float32) for kind, m in labels.items()
    }
    report = {
        "source": "annotations",
        "filtered": False,
        "annotations": uri,
        "objects": {"kept": lists.objects, "renamed": {}, "dropped": []},
        "scenes": {"kept": lists.scenes, "renamed": {}, "dropped": []},
        "per_class": lists.per_class,
    }
    return LanguageOutputs(
        lists.objects,
        lists.scenes,
        labels["objects"],
        labels["scenes"],
        known,
        report,
        "annotations",
        None,
    )


def dual_encoder_path(cfg: DanceConfig, log: Log) -> str:
    """The dual encoder whose video tower made videos' `dual` (preprocess's choice, tiny fallback too)."""
    from dance.preprocess import resolve_encoder_models

    only_dual = cfg.model_copy(
        update={
            "preprocess": cfg.preprocess.model_copy(
                update={"enable_backbone": False, "enable_dual": True}
            )
        }
    )
    path = resolve_encoder_models(only_dual, log).dual
    if path is None:  # cannot happen with enable_dual on; guards a changed resolver
        raise ValueError("no dual encoder resolved; set dual_encoder.model to a local directory")
    return path


def _pseudo_labels(
    cfg: DanceConfig,
    manifest: Manifest,
    videos: pa.Table,
    cache_dir: str,
    log: Log,
) -> LanguageOutputs:
    """LLM or file concepts and their pseudo labels cos(text, video) (Eq. 3)."""
    from dance.concepts.language import (
        concepts_from_files,
        filter_concepts,
        query_llm_concepts,
    )
    from dance.concepts.pseudo_labels import pseudo_labels
    from dance.encoders import DualEncoder

    language = cfg.discover.language
    embeddings = {
        vid: emb
        for vid, status, emb in zip(
            videos["video_id"].to_pylist(),
            videos["status"].to_pylist(),
            videos["dual"].to_pylist(),
            strict=True,
        )
        if status == "ok" and emb is not None
    }
    ids = manifest.video_ids
    known = np.array([v in embeddings for v in ids], dtype=bool)
    if not known.any():
        raise ValueError(
            "no video has a dual-encoder embedding (videos/ column `dual`), so pseudo labels "
            f"cannot be computed for discover.language.source={language.source}; rerun "
            "preprocess with preprocess.enable_dual=true, or use source=annotations"
        )
    encoder_id = dual_encoder_path(cfg, log)
    embedder = DualEncoder.from_pretrained(encoder_id, kind=cfg.dual_encoder.kind)
    class_names = manifest.class_names
    if language.source == "llm":
        lists = query_llm_concepts(class_names, language, storage.join(cache_dir, "llm"))
        objects, object_report = filter_concepts(lists.objects, class_names, embedder, language)
        scenes, scene_report = filter_concepts(lists.scenes, class_names, embedder, language)
        report = {
            "source": "llm",
            "filtered": True,
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
            "objects": {"kept": objects, "renamed": {}, "dropped": []},
            "scenes": {"kept": scenes, "renamed": {}, "dropped": []},
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
                cfg.discover.pseudo_labels.template,
                encoder_id,
                cache_dir=storage.join(cache_dir, "text"),
            )
        labels[kind] = full
    return LanguageOutputs(
        objects,
        scenes,
        labels["objects"],
        labels["scenes"],
        known,
        report,
        "pseudo_labels",
        encoder_id,
    )


# --- the job ----------------------------------------------------------------------------


def _read_videos(cfg: DanceConfig, manifest: Manifest) -> pa.Table:
    """videos/ rows of the manifest's videos; errors when preprocess has not covered them all."""
    folder = storage.join(cfg.workdir, "videos")
    if not storage.exists(folder) or not storage.list_files(folder, ".parquet"):
        raise FileNotFoundError(
            f"no preprocess outputs in {folder}; run `dance preprocess --config <config>` first"
        )
    videos = storage.read_parquet(folder, columns=["video_id", "status", "dual"])
    present = set(videos["video_id"].to_pylist())
    missing = [v for v in manifest.video_ids if v not in present]
    if missing:
        raise ValueError(
            f"{folder} lacks {len(missing)} manifest videos (first: {missing[:3]}); run "
            "`dance preprocess` again to finish them (it resumes)"
        )
    return videos


def _concept_index(
    cfg: DanceConfig, motion: MotionOutputs, language: LanguageOutputs
) -> dict[str, Any]:
    """concepts.json: names per type in column order, motion representatives, label provenance."""
    return {
        "names": {
            "motion": motion_concept_names(motion.num_concepts),
            "objects": list(language.objects),
            "scenes": list(language.scenes),
        },
        "motion": motion.concept_refs(),
        "motion_partition_level": motion.bank.partition_level,
        "language_source": cfg.discover.language.source,
        "object_scene_labels": language.label_mode,
        "dual_encoder": language.encoder_id,
        "template": cfg.discover.pseudo_labels.template
        if language.label_mode == "pseudo_labels"
        else None,
    }


def run_discover(cfg: DanceConfig, log: Log = log_to_stderr) -> DiscoverSummary:
    """Discover motion, object and scene concepts and write <workdir>/concepts/ (rerun-safe)."""
    from dance.preprocess import ground_truth_uri

    cfg = with_absolute_paths(cfg)
    storage.configure(cfg.storage)
    started = time.perf_counter()
    manifest = Manifest.read(manifest_uri(cfg))
    videos = _read_videos(cfg, manifest)
    video_ok = {
        v: s == "ok"
        for v, s in zip(videos["video_id"].to_pylist(), videos["status"].to_pylist(), strict=True)
    }
    out = concepts_uri(cfg.workdir)
    truth_uri = ground_truth_uri(cfg)
    ensure_ray(cfg, log)
    log(f"discover: motion concepts of {len(manifest)} videos in one Ray task")
    table = manifest.table.select(["video_id", "label", "split"])
    motion = _run_motion_task(cfg, table, truth_uri)
    log(
        f"discover: {motion.num_concepts} motion concepts; object/scene concepts "
        f"(source={cfg.discover.language.source})"
    )
    cache_dir = storage.join(out, LANGUAGE_CACHE_DIR)
    if cfg.discover.language.source == "annotations":
        language = _annotation_labels(cfg, manifest, video_ok)
    else:
        language = _pseudo_labels(cfg, manifest, videos, cache_dir, log)
    by_id = {
        v: (m, k)
        for v, m, k in zip(
            motion.video_labels["video_id"].to_pylist(),
            motion.video_labels["motion"].to_pylist(),
            motion.video_labels["motion_known"].to_pylist(),
            strict=True,
        )
    }
    ids = manifest.video_ids
    labels = labels_table(
        ids,
        manifest.table["split"].to_pylist(),
        manifest.table["label"].to_pylist(),
        np.asarray([by_id[v][0] for v in ids], dtype=np.uint8).reshape(len(ids), -1),
        np.asarray([by_id[v][1] for v in ids], dtype=bool),
        language.object_labels,
        language.scene_labels,
        language.known,
    )
    write_motion(out, motion)
    write_language(out, language.objects, language.scenes, language.report)
    write_labels(out, labels)
    write_concept_index(out, _concept_index(cfg, motion, language))
    nmi = motion.summary["nmi"]
    summary = DiscoverSummary(
        videos=len(ids),
        videos_ok=sum(video_ok.get(v, False) for v in ids),
        videos_motion_known=int(sum(by_id[v][1] for v in ids)),
        videos_language_known=int(language.known.sum()),
        clips_kept=int(motion.summary["num_clips"]),
        clips_clustered=int(motion.summary["num_clustered_clips"]),
        motion_concepts=motion.num_concepts,
        partition_level=motion.bank.partition_level,
        objects=len(language.objects),
        scenes=len(language.scenes),
        language_source=cfg.discover.language.source,
        label_mode=language.label_mode,
        nmi=nmi,
        seconds=time.perf_counter() - started,
    )
    storage.write_json(summary.to_dict(), storage.join(cfg.workdir, SUMMARY_FILE))
    log(summary.describe())
    log(f"concepts written to {out}")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ray_jobs.discover --config PRESET_OR_YAML [--set key=value ...]`."""
    return job_main(run_discover, "python -m ray_jobs.discover", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
