"""The concept layers at UCF-101 size: seconds per step, and Ray Train data-parallel efficiency.

    python benchmarks/train.py [--parts single,early_stop,ray] [--steps 200]
        [--eval-every 100] [--threads 2] [--early-stop-threads 1] [--rows 9537]
        [--out benchmarks/results/train.json]

Synthetic data, seeded (`make_data`), at the size of UCF-101's split-1 train set:

- N = 9,537 videos in 101 classes, class sizes proportional to uniform(0.7, 1.3) weights;
  10 % of each class is the validation split (the default protocol carves it from train);
- D = 768 float32 features x_i = mu[y_i] + e_i: class centres mu = a shared rank-16 part
  (classes resemble one another) plus a class's own part, each of variance 1/2 per
  dimension, and e_i ~ N(0, I);
- 100 motion concepts: each class owns 3 to 8 of them; a video's multi-hot label keeps
  each of its class's concepts with probability 0.8 and turns on any other with 0.01
  (clips of other motions); 2 % of the videos have unknown labels (no kept clip) and are
  masked;
- 900 language concepts: Eq. 3-like pseudo labels, a noisy linear view of the features:
  s = standardise(x P) + n (P ~ N(0, 1/D), n ~ N(0, 1)), then z = clip(0.225 + 0.035 *
  standardise(s), 0.1, 0.35).

Parts, each written to the JSON as soon as it ends (a JSON of the same data and settings
is updated, so parts can be rerun one at a time); every fit is timed after two warm-up
steps on a few rows, in wall and CPU seconds (CPU seconds leave out the time other jobs
held the cores):

- single: one process, torch at `--threads` threads (2: the whole machine): the motion
  layer (Eq. 4) and one language layer of 900 concepts (-cos^3 per concept, Eq. 5), each
  `--steps` full-batch Adam steps validated every `--eval-every`; seconds per step and
  in total, projected to the reference's 3,000 motion steps.
- early_stop: the same language layer as the pipeline runs it (validation every 500
  steps, stop at the first that does not improve, at most 10,000 steps): the steps it took.
- ray: a TorchTrainer placed as ray_jobs.train places it (ray_jobs.scaling_config and
  cpu_threads of a StageResources; gloo) with 1 worker x 1 CPU, then 2 workers x 1 CPU,
  one torch thread each. Every worker
  builds the data itself and keeps its rows by dance.train.worker_rows, as the real job
  does; the clock starts after a barrier, so Ray's start-up is excluded. The ratio of
  seconds per step (1 worker / 2 workers) is the data-parallel speed-up; the final train
  and validation losses of the two must agree up to float32 summation order.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dance.train import (
    Collective,
    LanguageData,
    LayerSettings,
    LayerState,
    MotionData,
    fit_language_layer,
    fit_motion_layer,
    local_or_distributed,
    worker_rows,
)

PARTS = ("single", "early_stop", "ray")
LR = 1e-3  # the reference's Adam learning rate for both layer kinds
REFERENCE_MOTION_STEPS = 3000
PIPELINE_EVAL_EVERY = 500  # train.eval_every's default (the reference checks every 500)
PIPELINE_MAX_STEPS = 10_000  # train.concept_max_steps's default
SEED = 0


@dataclass(frozen=True)
class DataSpec:
    """The synthetic problem's sizes and seed."""

    rows: int = 9537
    dim: int = 768
    classes: int = 101
    motion: int = 100
    language: int = 900
    val_fraction: float = 0.1
    unknown_fraction: float = 0.02
    seed: int = SEED


@dataclass(frozen=True)
class Data:
    """All videos: ids, validation mask, features and both kinds of labels."""

    video_ids: list[str]
    is_val: np.ndarray
    labels: np.ndarray  # (N,) int64 class of each video
    features: np.ndarray
    motion: np.ndarray
    known: np.ndarray
    language: np.ndarray


def _standardise(values: np.ndarray) -> np.ndarray:
    return (values - values.mean(0)) / values.std(0)


def make_data(spec: DataSpec) -> Data:
    """The synthetic UCF-101-sized problem of the module docstring, seeded by spec.seed."""
    rng = np.random.default_rng(spec.seed)
    weights = rng.uniform(0.7, 1.3, spec.classes)
    sizes = np.floor(weights / weights.sum() * spec.rows).astype(int)
    sizes[np.argsort(-weights)[: spec.rows - sizes.sum()]] += 1
    y = rng.permutation(np.repeat(np.arange(spec.classes), sizes))
    is_val = np.zeros(spec.rows, dtype=bool)
    for c in range(spec.classes):
        members = np.flatnonzero(y == c)
        take = max(1, round(spec.val_fraction * len(members)))
        is_val[rng.choice(members, take, replace=False)] = True

    shared = rng.normal(size=(spec.classes, 16)) @ rng.normal(size=(16, spec.dim)) / 4.0
    centres = np.sqrt(0.5) * (shared + rng.normal(size=(spec.classes, spec.dim)))
    features = (centres[y] + rng.normal(size=(spec.rows, spec.dim))).astype(np.float32)

    owned = np.zeros((spec.classes, spec.motion), dtype=bool)
    for c in range(spec.classes):
        owned[c, rng.choice(spec.motion, rng.integers(3, 9), replace=False)] = True
    draws = rng.random((spec.rows, spec.motion))
    motion = np.where(owned[y], draws < 0.8, draws < 0.01).astype(np.float32)
    known = rng.random(spec.rows) >= spec.unknown_fraction
    motion[~known] = 0.0

    view = features @ rng.normal(scale=spec.dim ** -0.5, size=(spec.dim, spec.language))
    noisy = _standardise(_standardise(view) + rng.normal(size=view.shape))
    language = np.clip(0.225 + 0.035 * noisy, 0.1, 0.35).astype(np.float32)
    return Data(
        video_ids=[f"video_{i:05d}" for i in range(spec.rows)],
        is_val=is_val,
        labels=y.astype(np.int64),
        features=features,
        motion=motion,
        known=known,
        language=language,
    )


def _layer_figures(state: LayerState, seconds: float, stamps: list[float]) -> dict[str, Any]:
    """Steps, seconds, and the losses of a finished layer fit."""
    _, train_loss, val_loss = state.history[-1]
    return {
        "steps": state.step,
        "seconds": round(seconds, 3),
        "seconds_per_step": seconds / state.step,
        "final_train_loss": train_loss,
        "final_val_loss": val_loss,
        "best_val_loss": state.best_val_loss,
        "best_step": state.best_step,
        "history": [list(entry) for entry in state.history],
        "eval_seconds": [round(t, 3) for t in stamps],  # since the fit began
    }


def _timed_fit(fit: Callable[..., LayerState], sync: Callable[[], None],
               *args: Any) -> dict[str, Any]:
    """Run one layer fit between two barriers; seconds and validation timestamps."""
    stamps: list[float] = []
    sync()
    start, cpu_start = time.perf_counter(), time.process_time()
    state = fit(*args, on_eval=lambda _: stamps.append(time.perf_counter() - start))
    sync()
    figures = _layer_figures(state, time.perf_counter() - start, stamps)
    # CPU seconds do not count the time other jobs held the cores (nor waits for peers).
    figures["cpu_seconds_per_step"] = (time.process_time() - cpu_start) / state.step
    return figures


def _warm_up(data: Data) -> None:
    """Two steps of each layer on a few rows, so one-time costs (lazy imports on Adam's
    first step, allocator growth) stay out of the timed fits."""
    rows = slice(0, 64)
    features, known = torch.from_numpy(data.features[rows]), torch.from_numpy(data.known[rows])
    settings = LayerSettings(lr=LR, steps=2, eval_every=1, seed=SEED)
    motion = MotionData(features, torch.from_numpy(data.motion[rows]), known)
    fit_motion_layer(motion, motion, settings, Collective())
    language = LanguageData(features, torch.from_numpy(data.language[rows]))
    fit_language_layer(language, language, settings, Collective())


def fit_layers(data: Data, mine: np.ndarray, steps: int, eval_every: int,
               collective: Collective, sync: Callable[[], None] = lambda: None,
               kinds: Sequence[str] = ("motion", "language")) -> dict[str, Any]:
    """Fit the requested layers on the rows `mine` of this worker; figures per layer."""
    train, val = mine & ~data.is_val, mine & data.is_val
    features = torch.from_numpy(data.features)
    _warm_up(data)
    out: dict[str, Any] = {"rows": {"train": int(train.sum()), "val": int(val.sum())}}
    if "motion" in kinds:
        motion = torch.from_numpy(data.motion)
        known = torch.from_numpy(data.known)
        out["motion"] = _timed_fit(
            fit_motion_layer, sync,
            MotionData(features[train], motion[train], known[train]),
            MotionData(features[val], motion[val], known[val]),
            LayerSettings(lr=LR, steps=steps, eval_every=eval_every, seed=SEED), collective,
        )
    if "language" in kinds:
        language = torch.from_numpy(data.language)
        out["language"] = _timed_fit(
            fit_language_layer, sync,
            LanguageData(features[train], language[train]),
            LanguageData(features[val], language[val]),
            LayerSettings(lr=LR, steps=steps, eval_every=eval_every, seed=SEED + 1), collective,
        )
    return out


def run_single(spec: DataSpec, steps: int, eval_every: int, threads: int) -> dict[str, Any]:
    """Part `single`: both layers in this process at `threads` torch threads."""
    torch.set_num_threads(threads)
    data = make_data(spec)
    result = fit_layers(data, np.ones(spec.rows, dtype=bool), steps, eval_every, Collective())
    motion = result["motion"]["seconds_per_step"]
    result.update(threads=threads, projected_motion_seconds=motion * REFERENCE_MOTION_STEPS)
    return result


def run_early_stop(spec: DataSpec, threads: int) -> dict[str, Any]:
    """Part `early_stop`: the language layer as the pipeline fits it, to its early stop."""
    torch.set_num_threads(threads)
    data = make_data(spec)
    result = fit_layers(data, np.ones(spec.rows, dtype=bool), PIPELINE_MAX_STEPS,
                        PIPELINE_EVAL_EVERY, Collective(), kinds=("language",))
    return {"threads": threads, "eval_every": PIPELINE_EVAL_EVERY,
            "max_steps": PIPELINE_MAX_STEPS, **result["language"]}


def ray_worker(config: dict[str, Any]) -> None:
    """Ray Train worker: build the data, keep this rank's rows, fit, write its figures."""
    import ray.train
    import torch.distributed as dist

    from dance.config import StageResources
    from ray_jobs import cpu_threads

    torch.set_num_threads(cpu_threads(StageResources(**config["resources"])))
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    data = make_data(DataSpec(**config["spec"]))
    mine = worker_rows(data.video_ids, rank, world)
    result = fit_layers(data, mine, config["steps"], config["eval_every"],
                        local_or_distributed(), sync=dist.barrier)
    result.update(rank=rank, world_size=world, threads=torch.get_num_threads())
    Path(config["out_dir"], f"rank{rank}.json").write_text(json.dumps(result))


def run_ray(spec: DataSpec, steps: int, eval_every: int,
            worker_counts: Sequence[int] = (1, 2)) -> dict[str, Any]:
    """Part `ray`: a TorchTrainer per worker count; each rank's figures and the speed-up."""
    import ray
    from ray.train import RunConfig
    from ray.train.torch import TorchTrainer

    from dance.config import StageResources
    from ray_jobs import scaling_config

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    runs: dict[str, Any] = {}
    try:
        for workers in worker_counts:
            resources = StageResources(pool_size=workers, num_cpus=1)
            with tempfile.TemporaryDirectory(prefix="dance-bench-train-") as tmp:
                config = {"spec": asdict(spec), "steps": steps, "eval_every": eval_every,
                          "resources": resources.model_dump(), "out_dir": tmp}
                trainer = TorchTrainer(
                    ray_worker, train_loop_config=config, scaling_config=scaling_config(resources),
                    run_config=RunConfig(name=f"bench{workers}", storage_path=tmp),
                )
                start = time.perf_counter()
                trainer.fit()
                wall = time.perf_counter() - start
                ranks = [json.loads(Path(tmp, f"rank{r}.json").read_text())
                         for r in range(workers)]
            runs[str(workers)] = {"workers": workers, "fit_wall_seconds": round(wall, 1),
                                  "ranks": ranks}
    finally:
        ray.shutdown()
    return {"runs": runs, "comparison": compare_runs(runs)}


def _relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b))


def compare_runs(runs: dict[str, Any]) -> dict[str, Any]:
    """Per layer: 1-worker / 2-worker seconds per step, and the final losses' differences."""
    if not {"1", "2"} <= set(runs):
        return {}
    one, two = runs["1"]["ranks"][0], runs["2"]["ranks"][0]
    out = {}
    for kind in ("motion", "language"):
        a, b = one[kind], two[kind]
        slowest_cpu = max(rank[kind]["cpu_seconds_per_step"] for rank in runs["2"]["ranks"])
        out[kind] = {
            "speedup": a["seconds_per_step"] / b["seconds_per_step"],
            "cpu_speedup": a["cpu_seconds_per_step"] / slowest_cpu,
            "same_steps": a["steps"] == b["steps"],
            **{f"{key}_relative_difference": _relative(a[key], b[key])
               for key in ("final_train_loss", "final_val_loss", "best_val_loss")},
        }
    total = [sum(r[k]["seconds"] for k in ("motion", "language")) for r in (one, two)]
    out["both_layers_speedup"] = total[0] / total[1]
    return out


def single_vs_ray(result: dict[str, Any]) -> dict[str, Any]:
    """Relative differences of the single-process final losses from each Ray run's."""
    if "single" not in result or "ray" not in result:
        return {}
    out = {}
    for workers, run in result["ray"]["runs"].items():
        rank0 = run["ranks"][0]
        out[f"{workers}_workers"] = {
            kind: {key: _relative(result["single"][kind][key], rank0[kind][key])
                   for key in ("final_train_loss", "final_val_loss")}
            for kind in ("motion", "language")
        }
    return out


def _load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _seconds(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def table(result: dict[str, Any]) -> str:
    """The Markdown table of benchmarks/README.md: one row per run and layer."""
    lines = [
        "| run | layer | steps | s/step | CPU s/step | s total | final train loss | final val loss |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def row(name: str, kind: str, figures: dict[str, Any]) -> None:
        lines.append(
            f"| {name} | {kind} | {figures['steps']} | {figures['seconds_per_step']:.4f} | "
            f"{figures['cpu_seconds_per_step']:.4f} | {_seconds(figures['seconds'])} | {figures['final_train_loss']:.7f} | "
            f"{figures['final_val_loss']:.7f} |"
        )

    if "single" in result:
        single = result["single"]
        for kind in ("motion", "language"):
            row(f"1 process, {_plural(single['threads'], 'thread')}", kind, single[kind])
    if "early_stop" in result:
        row(f"1 process, {_plural(result['early_stop']['threads'], 'thread')}, to the early stop",
            "language", result["early_stop"])
    for workers, run in result.get("ray", {}).get("runs", {}).items():
        for kind in ("motion", "language"):
            row(f"Ray Train, {_plural(int(workers), 'worker')} x 1 thread", kind,
                run["ranks"][0][kind])
    return "\n".join(lines)


def summary(result: dict[str, Any]) -> list[str]:
    """Lines after the table: projections, speed-ups and loss agreement."""
    lines = []
    if "single" in result:
        lines.append(f"projected motion layer, {REFERENCE_MOTION_STEPS} steps: "
                     f"{result['single']['projected_motion_seconds']:.0f} s")
    if "early_stop" in result:
        stop = result["early_stop"]
        lines.append(f"language early stop: {stop['steps']} steps (best {stop['best_step']}), "
                     f"{stop['seconds']:.0f} s")
        if "single" in result:
            projected = stop["steps"] * result["single"]["language"]["seconds_per_step"]
            lines.append(f"projected language layer to its early stop, {result['single']['threads']}"
                         f" threads: {projected:.0f} s")
    for kind, figures in result.get("ray", {}).get("comparison", {}).items():
        if kind == "both_layers_speedup":
            lines.append(f"2 workers vs 1, both layers: {figures:.2f}x")
            continue
        lines.append(
            f"2 workers vs 1, {kind}: {figures['speedup']:.2f}x per step (CPU time "
            f"{figures['cpu_speedup']:.2f}x); final losses differ "
            f"by {figures['final_train_loss_relative_difference']:.1e} (train), "
            f"{figures['final_val_loss_relative_difference']:.1e} (val) relative"
        )
    return lines


def previous_result(path: Path, header: dict[str, Any]) -> dict[str, Any]:
    """The JSON at `path` when it was written for the same data and settings, else a new one.

    Parts can then be rerun one at a time (e.g. `ray` when the machine is quiet) and
    replace only their own entries.
    """
    if path.exists():
        old = json.loads(path.read_text())
        if all(old.get(key) == value for key, value in header.items()):
            return old
    return {**header, "load_average": {}}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the parts, write the JSON after each, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS), help=f"some of {PARTS}")
    parser.add_argument("--steps", type=int, default=200, help="steps per layer (single, ray)")
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2, help="torch threads of `single`")
    parser.add_argument("--early-stop-threads", type=int, default=1,
                        help="torch threads of `early_stop` (its figure is the step count)")
    parser.add_argument("--rows", type=int, default=DataSpec.rows, help="smaller to debug")
    parser.add_argument("--out", default="benchmarks/results/train.json")
    args = parser.parse_args(argv)
    parts = args.parts.split(",")
    if unknown := set(parts) - set(PARTS):
        parser.error(f"unknown parts {sorted(unknown)}; choose from {PARTS}")
    spec = DataSpec(rows=args.rows)
    result = previous_result(Path(args.out), {
        "data": asdict(spec),
        "settings": {"steps": args.steps, "eval_every": args.eval_every, "lr": LR},
        "machine": {"python": platform.python_version(), "processor": platform.machine(),
                    "cpus": os.cpu_count(), "torch": torch.__version__},
    })
    runners = {
        "single": lambda: run_single(spec, args.steps, args.eval_every, args.threads),
        "early_stop": lambda: run_early_stop(spec, args.early_stop_threads),
        "ray": lambda: run_ray(spec, args.steps, args.eval_every),
    }
    for part in PARTS:
        if part not in parts:
            continue
        print(f"{part} ...", flush=True)
        before = _load()
        result[part] = runners[part]()
        result["load_average"][part] = {"before": before, "after": _load()}
        result["single_vs_ray"] = single_vs_ray(result)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    for line in summary(result):
        print(line)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
