"""FINCH at scale: equivalence with finch-clust, speed, and one-run-per-process scale checks.

    python benchmarks/finch.py --out benchmarks/results/finch.json --parts PART[,PART...] \\
        [--data KIND] [--rows N] [--set KEY=VALUE ...] [--dim 544] [part options]

Every part runs in its own subprocess and every FINCH run of `scale`, `compare` and
`memory` in a fresh one of its own, so each peak RSS is that run's; the JSON is rewritten
after every part. Data kinds (benchmarks/finch_data.py): blobs, uniform, pose_like,
positive_orthant, synth_pose.

- equivalence: ours exact vs finch-clust with exact neighbours on `--eq-data` (each
  `--eq-rows`) and the real kept pose clips of outputs/demo/clips when present: every
  level and a requested count, both ways the issue allows: its dense float32 path
  (threshold settings) and an exact `initial_rank` (float64 first neighbours computed
  here, independently of dance); where first neighbours differ, the float64 similarity
  gap between the two choices.
- speed: ours exact (pruned, and a full pass) vs finch-clust default (pynndescent) vs ours
  ANN (IVF and HNSW) on `--speed-rows` rows of `--data`, each called twice in one process
  (cold, warm); NMI of each level against ours exact; recall@1 on 2,000 sampled rows.
- scale: one run of ours on `--rows` rows of `--data` with the default config plus
  `--set` overrides: wall time, levels, the predicted peak and the measured peak RSS.
- compare: on `--rows` rows of `--data`, ours default, finch-clust default and ours exact,
  each in a fresh process: times, peaks, and NMI of every level against ours exact.
- memory: ours default on each of `--memory-data` x `--memory-rows`, a fresh process
  each: predicted against measured peak RSS.
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

# This script is named finch.py: its folder goes to the END of the import path so that
# `import finch` finds the finch-clust package, and `import finch_data` still finds ours.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

from finch_data import KINDS, make_rows
from finch_runs import compare, level_nmi, memory, run_once, scale, timed

PARTS = ("equivalence", "speed", "scale", "compare", "memory")
SEED = 0


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


def equivalence(args: argparse.Namespace) -> dict:
    """Ours exact vs finch-clust exact on several datasets: identical partitions?"""
    from finch import FINCH

    from dance.cluster import NeighborConfig, finch

    datasets = {
        kind: make_rows(kind, args.eq_rows, args.dim, SEED + i)
        for i, kind in enumerate(args.eq_data.split(","))
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
    """Ours exact and ANN vs finch-clust default (pynndescent) on `--data` rows, cold and warm."""
    from finch import FINCH

    from dance.cluster import NeighborConfig, finch, first_neighbors

    x = make_rows(args.data, args.speed_rows, args.dim, SEED + 3)
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


def run_part(part: str, args: argparse.Namespace) -> dict:
    """Run one part in a subprocess (its peak RSS is its own); return its result."""
    with tempfile.TemporaryDirectory() as tmp:
        result_file = Path(tmp) / "part.json"
        command = [sys.executable, __file__, "--only", part, "--part-out", str(result_file)]
        for key, value in vars(args).items():
            if key in ("only", "part_out", "out", "parts", "labels_out") or value is None:
                continue
            flag = "--" + key.replace("_", "-")
            values = value if isinstance(value, list) else [value]
            command += [f"{flag}={v}" for v in values]
        started = time.perf_counter()
        subprocess.run(command, check=True)
        result = json.loads(result_file.read_text())
    result["part_wall_s"] = round(time.perf_counter() - started, 1)
    return result


def _report_key(part: str, args: argparse.Namespace) -> str:
    """Where a part's result goes in the JSON: scale, compare and memory keyed by data and size."""
    tag = ",".join(args.set) or "default"
    if part in ("scale", "compare"):
        return f"{part}/{args.data}/{args.rows}/{tag}"
    if part == "memory":
        return f"memory/{args.memory_data}/{args.memory_rows}/{tag}"
    return part


def main() -> None:
    """Run the requested parts and write the JSON after each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/finch.json"))
    parser.add_argument("--parts", default="equivalence,speed")
    parser.add_argument("--data", choices=KINDS, default="pose_like")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--set", action="append", default=[], help="NeighborConfig KEY=VALUE")
    parser.add_argument("--dim", type=int, default=544)
    parser.add_argument("--eq-rows", type=int, default=20_000)
    parser.add_argument("--eq-request", type=int, default=100)
    parser.add_argument("--eq-data", default="blobs,uniform,pose_like,positive_orthant,synth_pose")
    parser.add_argument("--speed-rows", type=int, default=100_000)
    parser.add_argument("--memory-rows", default="50000,100000,200000")
    parser.add_argument("--memory-data", default="positive_orthant,pose_like")
    parser.add_argument("--method", choices=("ours", "finch_clust"), default="ours")
    parser.add_argument("--only", choices=(*PARTS, "run"), help=argparse.SUPPRESS)
    parser.add_argument("--part-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--labels-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only:
        parts = {
            "equivalence": equivalence,
            "speed": speed,
            "scale": scale,
            "compare": compare,
            "memory": memory,
            "run": run_once,
        }
        result = parts[args.only](args)
        # Linux reports ru_maxrss in KiB; measured in the part's own process.
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result["process_peak_rss_gib"] = round(peak_kib / 2**20, 2)
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
        key = _report_key(part, args)
        report[key] = run_part(part, args)
        report[key]["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
