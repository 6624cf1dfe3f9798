"""FINCH runs for benchmarks/finch.py, one per fresh process: time, levels, peak RSS.

A run generates its rows, resets the process's peak RSS (Linux ``clear_refs``), runs ours
(default config plus ``--set`` overrides) or finch-clust's default, and reports the peak
RSS during FINCH next to the prediction (RSS before the call plus
``estimate_finch_memory``). ``scale``, ``compare`` and ``memory`` start such runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from finch_data import make_rows

_SCRIPT = Path(__file__).resolve().with_name("finch.py")
SEED = 0


def timed(run):
    """(result, wall seconds, CPU seconds) of run()."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def level_nmi(reference: list[np.ndarray], other: list[np.ndarray]) -> list[float]:
    """NMI of each of `other`'s levels against the same level of `reference`."""
    from sklearn.metrics import normalized_mutual_info_score

    return [
        round(float(normalized_mutual_info_score(a, b)), 4)
        for a, b in zip(reference, other, strict=False)
    ]


def _status_kib(field: str) -> int | None:
    """A field of /proc/self/status in KiB (VmRSS, VmHWM), or None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset this process's peak RSS (Linux clear_refs 5); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _neighbor_config(sets: list[str]) -> object:
    """The default NeighborConfig with KEY=VALUE overrides (values parsed as YAML scalars)."""
    import yaml

    from dance.cluster import NeighborConfig

    updates = {}
    for item in sets:
        key, _, value = item.partition("=")
        updates[key.strip()] = yaml.safe_load(value)
    return NeighborConfig(**updates)


def run_once(args: argparse.Namespace) -> dict:
    """One FINCH run (`--method` ours or finch_clust) on fresh rows: time, levels, peaks."""
    x, generate_s, _ = timed(lambda: make_rows(args.data, args.rows, args.dim, SEED + 7))
    baseline_kib = _status_kib("VmRSS")
    peak_resettable = _reset_peak_rss()
    out: dict = {"data": args.data, "rows": int(x.shape[0]), "dim": int(x.shape[1])}
    if args.method == "ours":
        from dance.cluster import estimate_finch_memory, finch

        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logging.getLogger("dance").addHandler(handler)
        logging.getLogger("dance").setLevel(logging.INFO)
        config = _neighbor_config(args.set)
        estimate = estimate_finch_memory(x.shape[0], x.shape[1], x.dtype, config)
        result, wall, cpu = timed(lambda: finch(x, neighbors=config, verbose=True))
        partitions, counts = result.partitions, result.num_clusters
        out["config_overrides"] = args.set
        out["predicted_beyond_input_gib"] = round(estimate.total_bytes / 2**30, 3)
        out["predicted_parts_mib"] = {k: round(v / 2**20, 1) for k, v in estimate.parts.items()}
        if baseline_kib is not None:
            predicted = baseline_kib * 1024 + estimate.total_bytes
            out["predicted_peak_rss_gib"] = round(predicted / 2**30, 3)
    else:
        from finch import FINCH

        (labels, counts, _), wall, cpu = timed(lambda: FINCH(x, random_state=SEED, verbose=False))
        partitions = [labels[:, i] for i in range(labels.shape[1])]
        counts = [int(c) for c in counts]
    peak_kib = _status_kib("VmHWM") if peak_resettable else None
    out.update(
        {
            "method": args.method,
            "generate_s": round(generate_s, 1),
            "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1),
            "num_clusters": counts,
            "data_gib": round(x.nbytes / 2**30, 3),
            "rss_before_gib": None if baseline_kib is None else round(baseline_kib / 2**20, 3),
            "peak_rss_during_gib": None if peak_kib is None else round(peak_kib / 2**20, 3),
        }
    )
    if args.labels_out:
        np.savez_compressed(args.labels_out, *partitions)
    return out


def _fresh_run(args: argparse.Namespace, method: str, sets: list[str], labels: Path | None) -> dict:
    """run_once() in a fresh subprocess (its peak RSS is its own)."""
    with tempfile.TemporaryDirectory() as tmp:
        result_file = Path(tmp) / "run.json"
        command = [sys.executable, str(_SCRIPT), "--only", "run", "--part-out", str(result_file)]
        command += [f"--data={args.data}", f"--rows={args.rows}", f"--dim={args.dim}"]
        command += [f"--method={method}"] + [f"--set={s}" for s in sets]
        if labels is not None:
            command.append(f"--labels-out={labels}")
        subprocess.run(command, check=True)
        return json.loads(result_file.read_text())


def _load_levels(path: Path) -> list[np.ndarray]:
    """The partitions a run saved, level 0 first."""
    with np.load(path) as saved:
        return [saved[f"arr_{i}"] for i in range(len(saved.files))]


def scale(args: argparse.Namespace) -> dict:
    """Ours on `--rows` rows of `--data`, default config plus `--set`: one fresh run."""
    return _fresh_run(args, "ours", args.set, None)


def compare(args: argparse.Namespace) -> dict:
    """Ours default, finch-clust default, ours exact and ours IVF, fresh processes each;
    NMI of every level against ours exact."""
    runs = {
        "ours_default": ("ours", args.set),
        "finch_clust_default": ("finch_clust", []),
        "ours_exact": ("ours", [*args.set, "mode=exact"]),
        "ours_ann_ivf": ("ours", [*args.set, "mode=ann"]),
    }
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (method, sets) in runs.items():
            out[name] = _fresh_run(args, method, sets, Path(tmp) / f"{name}.npz")
            print(name, out[name], flush=True)
        exact = _load_levels(Path(tmp) / "ours_exact.npz")
        for name in runs:
            levels = _load_levels(Path(tmp) / f"{name}.npz")
            out[name]["nmi_vs_ours_exact_per_level"] = level_nmi(exact, levels)
    theirs = out["finch_clust_default"]["wall_s"]
    out["finch_clust_s_over_ours_default_s"] = round(theirs / out["ours_default"]["wall_s"], 2)
    out["ours_exact_s_over_finch_clust_s"] = round(out["ours_exact"]["wall_s"] / theirs, 2)
    return out


def memory(args: argparse.Namespace) -> dict:
    """Predicted against measured peak RSS of ours default, a fresh run per size and kind."""
    out = {}
    for kind in args.memory_data.split(","):
        for rows in (int(r) for r in args.memory_rows.split(",")):
            run_args = argparse.Namespace(**{**vars(args), "data": kind, "rows": rows})
            try:
                run = _fresh_run(run_args, "ours", args.set, None)
            except subprocess.CalledProcessError as err:  # keep the other sizes' results
                out[f"{kind}/{rows}"] = {"error": str(err)}
                continue
            measured = run["peak_rss_during_gib"]
            predicted = run.get("predicted_peak_rss_gib")
            run["predicted_over_measured"] = (
                round(predicted / measured, 3) if measured and predicted else None
            )
            out[f"{kind}/{rows}"] = run
            print(kind, rows, {k: run[k] for k in ("wall_s", "peak_rss_during_gib")}, flush=True)
    return out
