"""The train stage's whole fit on a CUDA GPU against the CPU, side by side on one machine.

    python benchmarks/train_gpu.py [--rows 9537] [--steps N] [--runs cpu,cuda,cuda_nccl]
        [--out benchmarks/results/train_gpu.json]

The problem is benchmarks/train.py's synthetic UCF-101-sized one (`make_data`): 9,537
videos in 101 classes (10 % validation), 768 features, 100 motion concepts and 900
language pseudo labels, here split into 450 object and 450 scene concepts.
`dance.train.fit_model` fits it whole, as a train worker does: the motion layer (Eq. 4),
the object and scene layers (Eq. 5, stopped at the first validation that does not
improve) with the clip and interpretability cuts, the standardisation, and the proximal
final layer (Eq. 6) to its KKT tolerance. Settings are TrainConfig's defaults (3,000
motion steps, validation every 500) unless --steps cuts every step budget.

Runs, each timed in wall seconds around one fit_model call after a small warm-up fit:

- cpu: device "cpu", torch at every core of the machine;
- cuda: device "cuda";
- cuda_nccl: the cuda run inside a one-process NCCL group, every sum an all_reduce through
  dance.train.TorchDistributedCollective: the code path of a Ray Train worker on GPUs
  (Ray Train joins GPU workers with NCCL, which all-reduces CUDA tensors only).

What must agree across runs (float32 sums in another order move the concept layers a
little): the concepts each cut kept, the final objective (relative difference), the
non-zero weights and the validation predictions. A machine without CUDA runs `cpu` only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dance.config import TrainConfig
from dance.train import (
    Collective,
    TorchDistributedCollective,
    TrainingArrays,
    TrainProgress,
    fit_model,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train import DataSpec, make_data  # benchmarks/train.py: the shared problem

SEED = 0


def training_arrays(spec: DataSpec) -> tuple[TrainingArrays, dict[str, list[str]]]:
    """make_data's problem as the train job's arrays, with its concept names."""
    data = make_data(spec)
    half = spec.language // 2
    arrays = TrainingArrays(
        video_ids=data.video_ids,
        splits=np.where(data.is_val, "val", "train").astype(object),
        labels=data.labels,
        features=data.features,
        motion=data.motion,
        motion_known=data.known,
        objects=data.language[:, :half],
        scenes=data.language[:, half:],
        language_known=np.ones(spec.rows, dtype=bool),
    )
    names = {
        "motion": [f"motion_{i}" for i in range(spec.motion)],
        "objects": [f"object_{i}" for i in range(half)],
        "scenes": [f"scene_{i}" for i in range(spec.language - half)],
    }
    return arrays, names


def train_config(steps: int | None) -> TrainConfig:
    """TrainConfig's defaults, or every step budget cut to `steps` (validation at its half)."""
    if steps is None:
        return TrainConfig()
    return TrainConfig(motion_steps=steps, concept_max_steps=steps, eval_every=max(1, steps // 2))


def _synchronise(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def val_predictions(arrays: TrainingArrays, progress: TrainProgress) -> np.ndarray:
    """Class predictions of the validation videos (float64 logits on the CPU)."""
    features = torch.from_numpy(arrays.split("val").features)
    activations = torch.cat([features @ t.weight.T for t in progress.types.values()], dim=1)
    x = progress.standardizer.apply(activations).double()
    final = progress.final
    return (x @ final.W.double().T + final.b.double()).argmax(dim=1).numpy()


def fit_once(arrays: TrainingArrays, names: dict[str, list[str]], classes: int,
             cfg: TrainConfig, device: str, collective: Collective) -> dict[str, Any]:
    """One timed fit_model; its figures and validation predictions."""
    _synchronise(device)
    started = time.perf_counter()
    progress = fit_model(arrays, names, classes, cfg, SEED, collective=collective, device=device)
    _synchronise(device)
    seconds = time.perf_counter() - started
    final = progress.final
    return {
        "seconds": round(seconds, 3),
        "kept": {kind: result.names for kind, result in progress.types.items()},
        "objective": final.objective,
        "kkt_residual": final.kkt_residual,
        "iterations": final.iterations,
        "solver_seconds": round(final.seconds, 3),
        "nonzeros": final.nonzeros,
        "train_accuracy": final.train_accuracy,
        "val_predictions": val_predictions(arrays, progress).tolist(),
        "stored_on": str(final.W.device),
    }


def warm_up(device: str, collective: Collective) -> None:
    """A small fit first, so CUDA's context and kernels are not timed."""
    arrays, names = training_arrays(DataSpec(rows=400, classes=5, language=20, motion=10))
    fit_model(arrays, names, 5, train_config(4), SEED, collective=collective, device=device)


def run(kind: str, arrays: TrainingArrays, names: dict[str, list[str]], classes: int,
        cfg: TrainConfig) -> dict[str, Any]:
    """The `cpu`, `cuda` or `cuda_nccl` run."""
    device = "cpu" if kind == "cpu" else "cuda"
    if kind != "cuda_nccl":
        warm_up(device, Collective())
        return fit_once(arrays, names, classes, cfg, device, Collective())
    import torch.distributed as dist

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    torch.cuda.set_device(0)
    dist.init_process_group("nccl", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1,
                            device_id=torch.device("cuda", 0))
    try:
        collective = TorchDistributedCollective()
        warm_up(device, collective)
        return fit_once(arrays, names, classes, cfg, device, collective)
    finally:
        dist.destroy_process_group()


def compare(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """How far `other` is from `base`: kept concepts, objective, non-zeros, predictions."""
    same_kept = all(base["kept"][k] == other["kept"].get(k) for k in base["kept"])
    agree = np.mean(np.asarray(base["val_predictions"]) == np.asarray(other["val_predictions"]))
    return {
        "same_kept_concepts": same_kept,
        "objective_relative_difference": abs(other["objective"] - base["objective"])
        / abs(base["objective"]),
        "nonzeros": [base["nonzeros"], other["nonzeros"]],
        "val_predictions_agree": float(agree),
        "speed_up": round(base["seconds"] / other["seconds"], 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run cpu, then cuda and cuda_nccl where CUDA is there; write the JSON after each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DataSpec.rows)
    parser.add_argument("--steps", type=int, default=None, help="cut every step budget")
    parser.add_argument("--runs", default="cpu,cuda,cuda_nccl")
    parser.add_argument("--out", default="benchmarks/results/train_gpu.json")
    args = parser.parse_args(argv)
    spec = DataSpec(rows=args.rows)
    cfg = train_config(args.steps)
    arrays, names = training_arrays(spec)
    runs = [r for r in args.runs.split(",") if r == "cpu" or torch.cuda.is_available()]
    result: dict[str, Any] = {
        "data": {"rows": spec.rows, "dim": spec.dim, "classes": spec.classes,
                 "motion": spec.motion, "objects": spec.language // 2,
                 "scenes": spec.language - spec.language // 2},
        "settings": {k: getattr(cfg, k) for k in ("motion_steps", "concept_max_steps",
                                                   "eval_every", "lam", "alpha", "proximal_tol")},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                    "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
        "runs": {},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for kind in runs:
        print(f"{kind} ...", flush=True)
        result["runs"][kind] = run(kind, arrays, names, spec.classes, cfg)
        figures = {k: v for k, v in result["runs"][kind].items()
                   if k not in ("kept", "val_predictions")}
        print(f"{kind}: {figures}", flush=True)
        if kind != "cpu" and "cpu" in result["runs"]:
            result.setdefault("against_cpu", {})[kind] = compare(result["runs"]["cpu"],
                                                                 result["runs"][kind])
            print(f"{kind} against cpu: {result['against_cpu'][kind]}", flush=True)
        out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
