"""FINCH at scale: equivalence with finch-clust, speed at 100k x 544, 1M x 544 in ANN mode.

    python benchmarks/finch.py --out benchmarks/results/finch.json \\
        [--parts equivalence,speed,large] [--eq-rows 20000] [--speed-rows 100000] \\
        [--large-rows 1000000] [--large-index ivf] [--large-nprobe N] [--dim 544]

Each part runs in its own subprocess (so its peak RSS is its own) and the JSON is
rewritten after every part, so a long run leaves partial results behind.

- equivalence: blobs, uniform random, clustered pose-like trajectories (all `--eq-rows`)
  and the real kept pose clips of outputs/demo/clips when present: every level and a
  requested count from ours (exact) vs finch-clust with exact neighbours, both ways the
  issue allows: its dense float32 path (threshold settings) and an exact `initial_rank`
  (float64 first neighbours computed here, independently of dance); where a level
  differs, the rows whose first neighbour differs and the float64 similarity gap between
  the two choices (a gap at float32 rounding level is a tie broken by BLAS's summation
  order, which varies in finch-clust itself with BLAS's thread count).
- speed: ours exact (pruned, and a full pass) vs finch-clust default (pynndescent) vs ours
  ANN (IVF and HNSW) on `--speed-rows` pose-like rows, each called twice in one process:
  cold (first call: imports, and pynndescent's numba JIT) and warm; NMI of each partition
  level against ours exact; recall@1 of the ANN first neighbours on 2,000 sampled rows.
- large: ours ANN (`--large-index`, `--large-nprobe`) on `--large-rows` pose-like rows,
  exact search only for levels of at most `--large-ann-threshold` rows: time and peak RSS.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# This script is named finch.py: drop its folder from the import path so that
# `import finch` finds the finch-clust package, not this file.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

PARTS = ("equivalence", "speed", "large")
SEED = 0


def pose_like(n: int, dim: int, seed: int, prototypes: int = 300) -> np.ndarray:
    """Clustered pose-like rows: noisy copies of smooth prototype trajectories, min-max per frame.

    Rows are (frames, joints, 2) with frames * joints * 2 == dim when dim is a multiple of
    34 (16 frames for 544); generated in blocks so memory stays at the float32 output.
    """
    joints, axes = 17, 2
    frames = max(1, dim // (joints * axes))
    rng = np.random.default_rng(seed)
    base = rng.random((prototypes, 1, joints, axes))
    walk = np.cumsum(0.05 * rng.normal(size=(prototypes, frames, joints, axes)), axis=1)
    proto = base + walk
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 50_000):
        size = min(50_000, n - start)
        which = rng.integers(0, prototypes, size)
        noise = np.cumsum(0.01 * rng.normal(size=(size, frames, joints, axes)), axis=1)
        xy = proto[which] + noise + 0.03 * rng.normal(size=(size, 1, joints, axes))
        low = xy.min(axis=2, keepdims=True)
        span = np.maximum(xy.max(axis=2, keepdims=True) - low, 1e-9)
        flat = ((xy - low) / span).reshape(size, -1)
        out[start : start + size, : flat.shape[1]] = flat
        out[start : start + size, flat.shape[1] :] = 0.0
    return out


def blobs(n: int, dim: int, seed: int, centres: int = 200) -> np.ndarray:
    """Gaussian blobs around random centres."""
    rng = np.random.default_rng(seed)
    middle = rng.normal(size=(centres, dim)).astype(np.float32)
    labels = rng.integers(0, centres, n)
    return middle[labels] + rng.normal(size=(n, dim)).astype(np.float32)


def uniform(n: int, dim: int, seed: int) -> np.ndarray:
    """Uniform random rows in [0, 1)."""
    return np.random.default_rng(seed).random((n, dim), dtype=np.float32)


def demo_pose_clips() -> np.ndarray | None:
    """Normalised kept pose clips of outputs/demo/clips, or None when absent."""
    files = sorted(glob.glob("outputs/demo/clips/*.parquet"))
    if not files or not Path("outputs/demo/manifest.parquet").exists():
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dance.concepts import motion_clips_from_tables
    from dance.workdir import require_done

    clips = pa.concat_tables([pq.read_table(f) for f in files])
    manifest = pq.read_table("outputs/demo/manifest.parquet")
    length = require_done("outputs/demo", "preprocess").facts["clip_length"]
    return motion_clips_from_tables(clips, manifest, clip_length=length).sorted().features


def canonical(labels: np.ndarray) -> np.ndarray:
    """Relabel clusters by first occurrence."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    return np.argsort(np.argsort(first))[inverse]


def timed(run):
    """(result, wall seconds, CPU seconds) of run()."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def equivalence(args: argparse.Namespace) -> dict:
    """Ours exact vs finch-clust exact on several datasets: identical partitions?"""
    from finch import FINCH

    from dance.cluster import NeighborConfig, finch

    datasets = {
        "blobs": blobs(args.eq_rows, args.dim, SEED),
        "uniform": uniform(args.eq_rows, args.dim, SEED + 1),
        "pose_like": pose_like(args.eq_rows, args.dim, SEED + 2),
    }
    real = demo_pose_clips()
    if real is not None:
        datasets["demo_pose_clips"] = real
    out = {}
    for name, x in datasets.items():
        request = args.eq_request
        (theirs, their_counts, their_req), t_wall, t_cpu = timed(
            lambda x=x, r=request: FINCH(x, req_clust=r, ann_threshold=10**9)
        )
        ours, o_wall, o_cpu = timed(
            lambda x=x, r=request: finch(x, num_clusters=r, neighbors=NeighborConfig(mode="exact"))
        )
        same_levels = list(their_counts) == ours.num_clusters and all(
            np.array_equal(canonical(theirs[:, i]), canonical(p))
            for i, p in enumerate(ours.partitions)
        )
        out[name] = {
            "rows": int(x.shape[0]),
            "dim": int(x.shape[1]),
            "num_clusters": ours.num_clusters,
            "finch_clust_num_clusters": [int(c) for c in their_counts],
            "identical_levels": bool(same_levels),
            "requested": request,
            "identical_requested": bool(
                np.array_equal(canonical(their_req), canonical(ours.requested))
            ),
            "ours_exact_wall_s": round(o_wall, 2),
            "ours_exact_cpu_s": round(o_cpu, 2),
            "finch_clust_exact_wall_s": round(t_wall, 2),
            "finch_clust_exact_cpu_s": round(t_cpu, 2),
        }
        out[name]["first_neighbours_vs_dense_path"] = first_neighbour_differences(x)
        # The other reading: finch-clust handed exact first neighbours.
        (given, given_counts, given_req), _, _ = timed(
            lambda x=x, r=request: FINCH(
                x,
                initial_rank=nearest_in_float64(x),
                req_clust=r,
                ann_threshold=10**9,
                verbose=False,
            )
        )
        out[name]["with_exact_initial_rank"] = {
            "finch_clust_num_clusters": [int(c) for c in given_counts],
            "identical_levels": bool(
                list(given_counts) == ours.num_clusters
                and all(
                    np.array_equal(canonical(given[:, i]), canonical(p))
                    for i, p in enumerate(ours.partitions)
                )
            ),
            "identical_requested": bool(
                np.array_equal(canonical(given_req), canonical(ours.requested))
            ),
        }
        print(name, out[name], flush=True)
    return out


def nearest_in_float64(x: np.ndarray, block: int = 2048) -> np.ndarray:
    """Exact first neighbours, independent of dance: float64 cosine on the float32 unit rows
    (as finch-clust normalises), all similarities >= 1 tied, ties to the lowest index."""
    from sklearn.preprocessing import normalize

    unit = normalize(np.asarray(x, dtype=np.float32)).astype(np.float64)
    out = np.empty(unit.shape[0], dtype=np.int64)
    for start in range(0, unit.shape[0], block):
        sims = np.minimum(unit[start : start + block] @ unit.T, 1.0)
        rows = np.arange(sims.shape[0])
        sims[rows, rows + start] = -np.inf
        out[start : start + block] = np.argmax(sims >= sims.max(axis=1, keepdims=True) - 1e-12, 1)
    return out


def first_neighbour_differences(x: np.ndarray) -> dict:
    """Rows whose level-0 neighbour differs from finch-clust's dense path, and by how much.

    gain = float64 similarity of ours minus that of finch-clust's pick, on the float32
    unit rows both see: positive where finch-clust's float32 rounding picked a farther row.
    """
    from sklearn.metrics import pairwise_distances

    from dance.cluster import NeighborConfig, first_neighbors, l2_normalize

    dense = pairwise_distances(x, x, metric="cosine")  # finch-clust's clust_rank
    np.fill_diagonal(dense, 1e12)
    theirs = np.argmin(dense, axis=1)
    del dense
    ours = first_neighbors(x, NeighborConfig(mode="exact"))
    differ = np.flatnonzero(ours != theirs)
    unit = l2_normalize(x).astype(np.float64)  # the float32 unit rows both searches see
    gain = np.einsum("ij,ij->i", unit[differ], unit[ours[differ]] - unit[theirs[differ]])
    return {
        "rows_differing": int(differ.size),
        "ours_nearer_in_float64": int(np.sum(gain > 0)),
        "max_float64_similarity_gain": float(gain.max()) if differ.size else 0.0,
        "min_float64_similarity_gain": float(gain.min()) if differ.size else 0.0,
    }


def sampled_recall(x: np.ndarray, approx: np.ndarray, samples: int = 2000) -> float:
    """recall@1 of `approx` first neighbours on `samples` rows, exact by brute force."""
    from dance.cluster import l2_normalize, recall_at_1

    rng = np.random.default_rng(SEED)
    rows = np.sort(rng.choice(x.shape[0], size=min(samples, x.shape[0]), replace=False))
    unit = l2_normalize(x)
    distance = np.clip(1.0 - unit[rows] @ unit.T, 0.0, 2.0)
    distance[np.arange(rows.size), rows] = np.inf
    return recall_at_1(approx[rows], np.argmin(distance, axis=1))


def level_nmi(reference: list[np.ndarray], other: list[np.ndarray]) -> list[float]:
    """NMI of each of `other`'s levels against the same level of `reference`."""
    from sklearn.metrics import normalized_mutual_info_score

    return [
        round(float(normalized_mutual_info_score(a, b)), 4)
        for a, b in zip(reference, other, strict=False)
    ]


def _cold_and_warm(run) -> tuple[object, dict]:
    """Run twice in this process: the first call pays imports and JIT, the second does not."""
    result, cold_wall, cold_cpu = timed(run)
    _, warm_wall, warm_cpu = timed(run)
    times = {
        "cold_wall_s": round(cold_wall, 2),
        "cold_cpu_s": round(cold_cpu, 2),
        "warm_wall_s": round(warm_wall, 2),
        "warm_cpu_s": round(warm_cpu, 2),
    }
    return result, times


def speed(args: argparse.Namespace) -> dict:
    """Ours exact and ANN vs finch-clust default (pynndescent) on pose-like rows, cold and warm."""
    from finch import FINCH

    from dance.cluster import NeighborConfig, finch, first_neighbors

    x = pose_like(args.speed_rows, args.dim, SEED + 3)
    out: dict = {"rows": int(x.shape[0]), "dim": int(x.shape[1])}
    exact, times = _cold_and_warm(lambda: finch(x, neighbors=NeighborConfig(mode="exact")))
    out["ours_exact"] = {**times, "num_clusters": exact.num_clusters}
    print("ours exact", out["ours_exact"], flush=True)
    full_config = NeighborConfig(mode="exact", exact_pruning=False)
    full, wall, cpu = timed(lambda: finch(x, neighbors=full_config))
    out["ours_exact_no_pruning"] = {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "num_clusters": full.num_clusters,
        "nmi_vs_exact_per_level": level_nmi(exact.partitions, full.partitions),
    }
    print("ours exact, full pass", out["ours_exact_no_pruning"], flush=True)
    for index in ("ivf", "hnsw"):
        config = NeighborConfig(mode="ann", ann_index=index)
        ann, times = _cold_and_warm(lambda config=config: finch(x, neighbors=config))
        approx = first_neighbors(x, config)
        out[f"ours_ann_{index}"] = {
            **times,
            "config": {"ivf_nprobe": config.ivf_nprobe} if index == "ivf" else {},
            "num_clusters": ann.num_clusters,
            "nmi_vs_exact_per_level": level_nmi(exact.partitions, ann.partitions),
            "recall_at_1_level0_sampled": round(sampled_recall(x, approx), 4),
        }
        print(index, out[f"ours_ann_{index}"], flush=True)
    (theirs, counts, _), times = _cold_and_warm(lambda: FINCH(x, random_state=SEED, verbose=False))
    out["finch_clust_default_pynndescent"] = {
        **times,
        "num_clusters": [int(c) for c in counts],
        "nmi_vs_exact_per_level": level_nmi(
            exact.partitions, [theirs[:, i] for i in range(theirs.shape[1])]
        ),
        "note": "cold = first call in the process, including numba JIT compilation of "
        "pynndescent (a fresh job pays it every time); warm = a second call",
    }
    print("finch-clust", out["finch_clust_default_pynndescent"], flush=True)
    theirs_t = out["finch_clust_default_pynndescent"]
    out["speedup_vs_finch_clust"] = {
        name: {
            when: round(theirs_t[f"{when}_wall_s"] / out[name][f"{when}_wall_s"], 2)
            for when in ("cold", "warm")
        }
        for name in ("ours_exact", "ours_ann_ivf", "ours_ann_hnsw")
    }
    print("speedups", out["speedup_vs_finch_clust"], flush=True)
    return out


def large(args: argparse.Namespace) -> dict:
    """Ours ANN (IVF) on `--large-rows` pose-like rows: wall time and peak RSS."""
    import logging

    from dance.cluster import NeighborConfig, finch

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logging.getLogger("dance").addHandler(handler)
    logging.getLogger("dance").setLevel(logging.INFO)
    x, gen_wall, _ = timed(lambda: pose_like(args.large_rows, args.dim, SEED + 4))
    config = NeighborConfig(
        mode="auto", ann_threshold=args.large_ann_threshold, ann_index=args.large_index
    )
    if args.large_nprobe is not None:
        config.ivf_nprobe = args.large_nprobe
    result, wall, cpu = timed(lambda: finch(x, neighbors=config, verbose=True))
    return {
        "rows": int(x.shape[0]),
        "dim": int(x.shape[1]),
        "config": config.model_dump(),
        "data_bytes": int(x.nbytes),
        "generate_wall_s": round(gen_wall, 1),
        "finch_wall_s": round(wall, 1),
        "finch_cpu_s": round(cpu, 1),
        "num_clusters": result.num_clusters,
    }


def run_part(part: str, args: argparse.Namespace) -> dict:
    """Run one part in a subprocess (its peak RSS is its own); return its result."""
    with tempfile.TemporaryDirectory() as tmp:
        result_file = Path(tmp) / "part.json"
        command = [sys.executable, __file__, "--only", part, "--part-out", str(result_file)]
        command += [
            f"--{k.replace('_', '-')}={v}" for k, v in _sizes(args).items() if v is not None
        ]
        started = time.perf_counter()
        subprocess.run(command, check=True)
        result = json.loads(result_file.read_text())
    result["part_wall_s"] = round(time.perf_counter() - started, 1)
    return result


def _sizes(args: argparse.Namespace) -> dict:
    """The size arguments handed to each part's subprocess."""
    return {
        "eq_rows": args.eq_rows,
        "eq_request": args.eq_request,
        "speed_rows": args.speed_rows,
        "large_rows": args.large_rows,
        "dim": args.dim,
        "large_ann_threshold": args.large_ann_threshold,
        "large_index": args.large_index,
        "large_nprobe": args.large_nprobe,
    }


def main() -> None:
    """Run the requested parts and write the JSON after each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/finch.json"))
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--eq-rows", type=int, default=20_000)
    parser.add_argument("--eq-request", type=int, default=100)
    parser.add_argument("--speed-rows", type=int, default=100_000)
    parser.add_argument("--large-rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=544)
    parser.add_argument("--large-ann-threshold", type=int, default=50_000)
    parser.add_argument("--large-index", choices=("ivf", "hnsw"), default="ivf")
    parser.add_argument("--large-nprobe", type=int, default=None, help="default: the config's")
    parser.add_argument("--only", choices=PARTS, help=argparse.SUPPRESS)
    parser.add_argument("--part-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only:
        result = {"equivalence": equivalence, "speed": speed, "large": large}[args.only](args)
        # Linux reports ru_maxrss in KiB; measured in the part's own process.
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result["peak_rss_gib"] = round(peak_kib / 2**20, 2)
        args.part_out.write_text(json.dumps(result))
        return
    parts = [p for p in args.parts.split(",") if p]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown parts {unknown}; choose from {PARTS}")
    report = json.loads(args.out.read_text()) if args.out.exists() else {}
    report["machine"] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
    }
    for part in parts:
        print(f"== {part}", flush=True)
        report[part] = run_part(part, args)
        report[part]["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
