"""Motion concepts vs DANCE-Synth's ground-truth primitives: FINCH against k-means at equal k.

    python benchmarks/motion_concepts.py [--config demo] [--out benchmarks/results/motion_concepts.json]
        [--seeds 5] [--purity 0.9]

Run from the repository root after `dance demo` (or preprocess + discover of the config).
It takes the kept TRAIN clips exactly as the discover job does (`motion_clips_from_tables`,
the config's pose normalisation, canonical (video_id, clip_index) order) and labels each
clip with the majority ground-truth primitive of its frames [start, end) (ties: lowest id,
as the discover job) and its purity, the fraction of its frames in that primitive. Then:

- FINCH (exact cosine first neighbours), every level;
- at each level's k: k-means (sklearn, n_init=10, seeds 0..S-1) on the raw normalised
  vectors and on L2-normalised ones (the spherical analogue of FINCH's cosine), and
  average-linkage agglomerative clustering under cosine distance;
- per partition: NMI and ARI vs primitives, NMI vs classes, homogeneity / completeness vs
  primitives, NMI on pure (purity >= --purity) and on mixed clips, cluster sizes, pure
  clusters (>= 90 % one primitive), videos per cluster;
- diagnostics: primitives present vs k, each clip's cosine first neighbour (the link FINCH
  level 0 is made of) and whether it shares the clip's primitive, and FINCH's requested
  partition at k = the number of primitives present against the same references.

Everything runs on one thread (BLAS/OpenMP limited to 1) and is seeded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import sklearn
from scipy.cluster.hierarchy import cut_tree, linkage
from scipy.spatial.distance import pdist
from sklearn.cluster import KMeans
from sklearn.metrics import (
    adjusted_rand_score,
    homogeneity_completeness_v_measure,
    mutual_info_score,
    normalized_mutual_info_score,
)
from threadpoolctl import threadpool_limits

from dance import storage
from dance.cluster import NeighborConfig, finch, first_neighbors, l2_normalize
from dance.concepts import MotionClips, motion_clips_from_tables
from dance.config import load_config
from dance.preprocess import ground_truth_uri
from dance.synth.clip_primitives import clip_frame_windows, clip_primitives, read_frame_primitives
from dance.workdir import require_done

CLIP_COLUMNS = ["video_id", "clip_index", "start", "end", "pose", "kept"]
PURE_CLUSTER = 0.9  # a cluster is "pure" when at least this share of it is one primitive
EXACT = NeighborConfig(mode="exact")


@dataclass(frozen=True)
class TrainClips:
    """Train clips in canonical order: features and their ground truth, one row per clip."""

    features: np.ndarray  # (n, L*17*2) float32, as the discover job clusters them
    video_id: np.ndarray  # (n,) str
    video_class: np.ndarray  # (n,) int
    primitive: np.ndarray  # (n,) int majority ground-truth primitive of the clip's frames
    purity: np.ndarray  # (n,) float share of the clip's frames in that primitive
    window: np.ndarray  # (n, 2) int frames [start, end) of the clip in its video


def load_train_clips(workdir: str, truth_uri: str, normalization: str) -> tuple[TrainClips, dict]:
    """The discover job's train clips with their majority primitives, plus data facts."""
    clips = storage.read_parquet(storage.join(workdir, "clips"), columns=CLIP_COLUMNS)
    manifest = storage.read_parquet(
        storage.join(workdir, "manifest.parquet"), columns=["video_id", "label", "split"]
    )
    length = require_done(workdir, "preprocess").facts["clip_length"]
    motion: MotionClips = motion_clips_from_tables(
        clips, manifest, normalization, clip_length=length
    ).sorted()
    train = motion.split == "train"
    keys = list(
        zip(motion.video_id[train].tolist(), motion.clip_index[train].tolist(), strict=True)
    )
    per_frame = read_frame_primitives(truth_uri)
    windows = clip_frame_windows(clips)
    found = clip_primitives(keys, windows, per_frame)
    primitive, purity, distinct = found.majority, found.purity, found.distinct
    in_frames = set()
    for vid, idx in keys:
        start, end = windows[(vid, idx)]
        in_frames.update(per_frame[vid][start:end].tolist())
    data = TrainClips(
        features=motion.features[train],
        video_id=motion.video_id[train],
        video_class=motion.video_label[train],
        primitive=primitive,
        purity=purity,
        window=np.array([windows[k] for k in keys], dtype=np.int64),
    )
    facts = {
        "clip_rows": clips.num_rows,
        "kept_clips": int(pc.sum(clips["kept"]).as_py()),
        "train_clips": len(keys),
        "train_videos": len(set(data.video_id.tolist())),
        "dim": int(data.features.shape[1]),
        "normalization": normalization,
        "primitives_in_train_clip_frames": len(in_frames),
        "primitives_per_clip": _spread(distinct),
    }
    return data, facts


def canonical(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered by first occurrence, so equal partitions compare equal."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    return np.argsort(np.argsort(first))[inverse.reshape(-1)]


def _spread(values: np.ndarray) -> dict[str, float]:
    """min / median / max of `values`."""
    return {
        "min": float(np.min(values)),
        "median": float(np.median(values)),
        "max": float(np.max(values)),
    }


def entropy(labels: np.ndarray) -> float:
    """Shannon entropy (nats) of a labelling, as sklearn's NMI uses it."""
    p = np.bincount(canonical(labels)) / labels.size
    return float(-(p * np.log(p)).sum())


def _subset_nmi(truth: np.ndarray, labels: np.ndarray, mask: np.ndarray) -> float | None:
    """NMI of `labels` against `truth` on the rows of `mask`; None when it holds no row."""
    if not mask.any():
        return None
    return float(normalized_mutual_info_score(truth[mask], labels[mask]))


def partition_scores(labels: np.ndarray, clips: TrainClips, purity_cut: float) -> dict:
    """Agreement of one clip partition with primitives and classes, and its cluster shapes."""
    labels = canonical(labels)  # consecutive 0..K-1 whatever the method numbered
    count = int(labels.max()) + 1
    sizes = np.bincount(labels, minlength=count)
    homogeneity, completeness, _ = homogeneity_completeness_v_measure(clips.primitive, labels)
    pure_clip = clips.purity >= purity_cut
    # Share of each cluster taken by its most common primitive, and videos per cluster.
    top_share = np.empty(count)
    videos = np.empty(count, dtype=np.int64)
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(labels[order]) != 0, True])
    for c, (a, b) in enumerate(pairwise(bounds)):
        rows = order[a:b]
        top_share[c] = np.bincount(clips.primitive[rows]).max() / rows.size
        videos[c] = len(set(clips.video_id[rows].tolist()))
    pure_cluster = top_share >= PURE_CLUSTER
    multi = sizes >= 2
    return {
        "k": count,
        "nmi_primitive": float(normalized_mutual_info_score(clips.primitive, labels)),
        "nmi_class": float(normalized_mutual_info_score(clips.video_class, labels)),
        "ari_primitive": float(adjusted_rand_score(clips.primitive, labels)),
        "homogeneity_primitive": float(homogeneity),
        "completeness_primitive": float(completeness),
        "nmi_primitive_pure_clips": _subset_nmi(clips.primitive, labels, pure_clip),
        "nmi_primitive_mixed_clips": _subset_nmi(clips.primitive, labels, ~pure_clip),
        "mutual_info_primitive": float(mutual_info_score(clips.primitive, labels)),
        "entropy_clusters": entropy(labels),
        "effective_clusters": float(np.exp(entropy(labels))),  # equal-size clusters, same H
        "cluster_size_min": int(sizes.min()),
        "cluster_size_median": float(np.median(sizes)),
        "cluster_size_max": int(sizes.max()),
        "clips_in_singletons": float((sizes[labels] == 1).mean()),
        "clips_in_small_clusters": float((sizes[labels] <= 2).mean()),
        "pure_clusters": float(pure_cluster.mean()),
        "pure_clusters_of_3_plus": float(pure_cluster[sizes >= 3].mean())
        if (sizes >= 3).any()
        else None,
        "clips_in_pure_clusters": float(pure_cluster[labels].mean()),
        "videos_per_cluster_of_2_plus_median": float(np.median(videos[multi]))
        if multi.any()
        else None,
        "one_video_clusters_of_2_plus": float((videos[multi] == 1).mean()) if multi.any() else None,
    }


def summarize_runs(runs: list[dict]) -> dict:
    """mean / min / max over seeds of every numeric score; per-seed NMI vs primitives."""
    out: dict = {"seeds": len(runs)}
    for key in runs[0]:
        column = [r[key] for r in runs]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in column):
            values = np.array(column, dtype=np.float64)
            out[key] = {
                "mean": float(values.mean()),
                "min": float(values.min()),
                "max": float(values.max()),
            }
    out["nmi_primitive_per_seed"] = [r["nmi_primitive"] for r in runs]
    return out


def kmeans_runs(
    x: np.ndarray, k: int, seeds: int, clips: TrainClips, purity_cut: float
) -> list[dict]:
    """Scores of sklearn k-means (n_init=10) at k for seeds 0..seeds-1."""
    return [
        partition_scores(
            KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(x), clips, purity_cut
        )
        for seed in range(seeds)
    ]


def first_neighbour_links(clips: TrainClips, purity_cut: float) -> dict:
    """Each clip's exact cosine first neighbour (FINCH level 0's edge): same primitive? video?"""
    neighbour = first_neighbors(clips.features, EXACT)
    same_prim = clips.primitive[neighbour] == clips.primitive
    same_video = clips.video_id[neighbour] == clips.video_id
    pure = clips.purity >= purity_cut
    overlap = same_video & (
        np.minimum(clips.window[:, 1], clips.window[neighbour, 1])
        > np.maximum(clips.window[:, 0], clips.window[neighbour, 0])
    )
    return {
        "same_primitive": float(same_prim.mean()),
        "same_primitive_pure_clips": float(same_prim[pure].mean()),
        "same_primitive_mixed_clips": float(same_prim[~pure].mean()),
        "same_video": float(same_video.mean()),
        "same_video_overlapping_window": float(overlap.mean()),
        "same_primitive_when_other_video": float(same_prim[~same_video].mean())
        if (~same_video).any()
        else None,
        "same_class": float((clips.video_class[neighbour] == clips.video_class).mean()),
    }


def data_facts(clips: TrainClips, names: dict[int, str], purity_cut: float) -> dict:
    """Primitives present, clip purity, and how primitives are shared between classes."""
    present, per_primitive = np.unique(clips.primitive, return_counts=True)
    per_class = [
        len(set(clips.primitive[clips.video_class == c].tolist()))
        for c in np.unique(clips.video_class)
    ]
    per_prim_classes = [len(set(clips.video_class[clips.primitive == p].tolist())) for p in present]
    keys = {
        (v, int(a), int(b)) for v, (a, b) in zip(clips.video_id.tolist(), clips.window, strict=True)
    }
    return {
        "primitives_in_catalogue": len(names) or None,
        "primitives_present": int(present.size),
        "entropy_primitives": entropy(clips.primitive),
        "clips_per_primitive": _spread(per_primitive),
        "clips_per_primitive_by_name": {
            names.get(int(p), str(int(p))): int(c)
            for p, c in sorted(zip(present, per_primitive, strict=True), key=lambda t: -t[1])
        },
        "classes": len(per_class),
        "primitives_per_class": _spread(np.array(per_class)),
        "classes_per_primitive": _spread(np.array(per_prim_classes)),
        "clip_purity_mean": float(clips.purity.mean()),
        "clips_pure": float((clips.purity >= purity_cut).mean()),
        "clips_single_primitive": float((clips.purity == 1.0).mean()),
        "duplicate_windows": len(clips.video_id) - len(keys),
    }


def discover_job_checks(
    workdir: str, clips: TrainClips, level_labels: np.ndarray, level: dict
) -> dict:
    """Do our FINCH level, primitive labels and k-means reproduce what the discover job saved?"""
    out: dict = {"level_k": level["finch"]["k"]}
    assignment_uri = storage.join(workdir, "concepts", "motion", "assignment.parquet")
    summary_uri = storage.join(workdir, "discover_summary.json")
    if storage.exists(assignment_uri):
        saved = storage.read_parquet(
            assignment_uri, columns=["video_id", "clip_index", "split", "concept"]
        )
        keep = pc.equal(saved["split"], "train")
        saved = saved.filter(keep).sort_by([("video_id", "ascending"), ("clip_index", "ascending")])
        same_ids = saved["video_id"].to_pylist() == clips.video_id.tolist()
        concepts = saved["concept"].to_numpy()
        out["saved_partition_identical"] = bool(
            same_ids and np.array_equal(canonical(concepts), canonical(level_labels))
        )
    if storage.exists(summary_uri):
        with open(summary_uri, encoding="utf-8") as handle:
            nmi = json.load(handle).get("nmi") or {}
        saved_finch = (nmi.get("primitive") or {}).get("finch")
        saved_kmeans = (nmi.get("primitive") or {}).get("kmeans")
        out["discover_summary_nmi"] = {
            "k": nmi.get("k"),
            "primitive_finch": saved_finch,
            "primitive_kmeans_seed0_l2": saved_kmeans,
        }
        # The job runs k-means on the same unit vectors with its seed (0 in the presets).
        ours_kmeans = level["kmeans_l2"]["nmi_primitive_per_seed"][0]
        out["reproduces_discover_summary"] = bool(
            nmi.get("k") == level["finch"]["k"]
            and saved_finch is not None
            and saved_kmeans is not None
            and abs(saved_finch - level["finch"]["nmi_primitive"]) < 1e-9
            and abs(saved_kmeans - ours_kmeans) < 1e-9
        )
    return out


def timed(run: Callable[[], object]) -> tuple[object, float]:
    """(result, wall seconds) of run()."""
    start = time.perf_counter()
    result = run()
    return result, time.perf_counter() - start


def _num(value: float | None) -> str:
    """A score to 3 decimals, '-' when missing."""
    return "-" if value is None else f"{value:.3f}"


def _fmt(summary: dict, key: str = "nmi_primitive") -> str:
    """'mean [min, max]' of a seed summary."""
    s = summary[key]
    return f"{s['mean']:.3f} [{s['min']:.3f},{s['max']:.3f}]"


def print_table(report: dict) -> None:
    """A compact table: NMI vs primitives per FINCH level and at the requested k, and why."""
    print(
        f"{'partition':<20}{'k':>5} {'FINCH':>6} {'k-means L2 [min,max]':>22} "
        f"{'k-means raw [min,max]':>22} {'agglo':>6} | {'MI F/kmL2':>11} "
        f"{'H(K) F/kmL2':>11} {'pure-clip NMI F/kmL2':>21}"
    )
    rows = [(f"level {e['level']}", e) for e in report["levels"]]
    rows.append(("requested (#prims)", report["requested"]))
    for name, e in rows:
        f, l2, raw = e["finch"], e["kmeans_l2"], e["kmeans_raw"]
        pure = l2.get("nmi_primitive_pure_clips")
        print(
            f"{name:<20}{f['k']:>5} {f['nmi_primitive']:>6.3f} {_fmt(l2):>22} "
            f"{_fmt(raw):>22} {e['agglomerative']['nmi_primitive']:>6.3f} | "
            f"{f['mutual_info_primitive']:>5.3f}/{l2['mutual_info_primitive']['mean']:<5.3f} "
            f"{f['entropy_clusters']:>5.3f}/{l2['entropy_clusters']['mean']:<5.3f} "
            f"{_num(f['nmi_primitive_pure_clips']):>10}/{_num(pure and pure['mean']):<10}"
        )


def compare_at(
    k: int,
    finch_labels: np.ndarray,
    x: np.ndarray,
    units: np.ndarray,
    tree: np.ndarray,
    clips: TrainClips,
    args: argparse.Namespace,
) -> dict:
    """FINCH's partition at k against k-means (raw, L2) and agglomerative at the same k."""
    raw, raw_s = timed(lambda: kmeans_runs(x, k, args.seeds, clips, args.purity))
    l2, l2_s = timed(lambda: kmeans_runs(units, k, args.seeds, clips, args.purity))
    agg = canonical(cut_tree(tree, n_clusters=k).reshape(-1))
    return {
        "finch": partition_scores(finch_labels, clips, args.purity),
        "kmeans_raw": summarize_runs(raw),
        "kmeans_l2": summarize_runs(l2),
        "agglomerative": partition_scores(agg, clips, args.purity),
        "seconds": {"kmeans_raw": round(raw_s, 1), "kmeans_l2": round(l2_s, 1)},
    }


def run(args: argparse.Namespace) -> dict:
    """The whole study; returns the report written as JSON."""
    cfg = load_config(args.config)
    storage.configure(cfg.storage)
    truth_uri = ground_truth_uri(cfg)
    if truth_uri is None:
        raise SystemExit(
            f"config {args.config!r} has no ground-truth primitives (needs a DANCE-Synth "
            "dataset.root holding ground_truth.parquet); run `dance demo` first"
        )
    started = time.perf_counter()
    clips, facts = load_train_clips(cfg.workdir, truth_uri, cfg.pose.normalization)
    primitives_json = Path(cfg.dataset.root or "", "primitives.json")
    names = (
        {int(i): n for i, n in json.loads(primitives_json.read_text()).items()}
        if primitives_json.exists()
        else {}
    )
    facts.update(data_facts(clips, names, args.purity))
    x = clips.features.astype(np.float64)
    units = l2_normalize(x)
    hierarchy, finch_s = timed(lambda: finch(clips.features, neighbors=EXACT))
    present = facts["primitives_present"]
    requested = finch(clips.features, num_clusters=present, neighbors=EXACT).requested
    tree, tree_s = timed(lambda: linkage(pdist(x, metric="cosine"), method="average"))
    levels = []
    for level, (k, labels) in enumerate(
        zip(hierarchy.num_clusters, hierarchy.partitions, strict=True)
    ):
        entry = {"level": level, **compare_at(k, labels, x, units, tree, clips, args)}
        levels.append(entry)
        print(f"level {level}: k={k} done", file=sys.stderr, flush=True)
    at_present = compare_at(present, requested, x, units, tree, clips, args)
    # The level the discover job keeps (clamped as it does) must be the partition it saved.
    used = min(cfg.discover.motion.partition, len(levels) - 1)
    checks = discover_job_checks(cfg.workdir, clips, hierarchy.partitions[used], levels[used])
    return {
        "command": " ".join(["python benchmarks/motion_concepts.py", *sys.argv[1:]]),
        "machine": {
            "cpus": os.cpu_count(),
            "threads_used": 1,
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit_learn": sklearn.__version__,
            "load_average_at_start": args.load_at_start,
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        },
        "config": args.config,
        "workdir": cfg.workdir,
        "purity_cut": args.purity,
        "pure_cluster_cut": PURE_CLUSTER,
        "kmeans": {"n_init": 10, "seeds": list(range(args.seeds))},
        "data": facts,
        "checks": checks,
        "first_neighbours": first_neighbour_links(clips, args.purity),
        "levels": levels,
        "requested": at_present,
        "seconds": {
            "total": round(time.perf_counter() - started, 1),
            "finch_exact": round(finch_s, 2),
            "average_linkage_tree": round(tree_s, 2),
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the study on one thread, write the JSON, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="demo", help="preset or YAML the demo was run with")
    parser.add_argument("--out", default="benchmarks/results/motion_concepts.json")
    parser.add_argument("--seeds", type=int, default=5, help="k-means seeds 0..N-1")
    parser.add_argument(
        "--purity", type=float, default=0.9, help="a clip is pure at this primitive share"
    )
    args = parser.parse_args(argv)
    if args.seeds < 1 or not 0 < args.purity <= 1:
        parser.error("--seeds must be >= 1 and --purity in (0, 1]")
    args.load_at_start = [round(v, 2) for v in os.getloadavg()]
    with threadpool_limits(1):
        report = run(args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    print(f"wrote {args.out} in {report['seconds']['total']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
