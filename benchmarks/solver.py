"""The sparse final layer (Eq. 6): glm-saga against fit_saga and fit_proximal, side by side.

    python benchmarks/solver.py [--cases ucf101 ucf101_correlated] [--glm-epochs 140]
        [--saga-epochs 3000] [--out benchmarks/results/solver.json]

For each synthetic problem (`solver_data.py`: UCF-101-sized, 9,537 x 1,000 standardised
concepts x 101 classes) and one process on ONE thread:

1. **glm-saga** (the PyPI package, 0.1.2) as the reference calls it: ``glm_saga`` with
   one lambda (``metadata``, ``k=1``, ``do_zero=False``), a zero-initialised float32
   ``nn.Linear``, a shuffled DataLoader of batch 128, step 0.05, tol 1e-4, for
   `--glm-epochs` epochs. Its per-epoch log line is intercepted to snapshot W and b, so
   its curve is measured after the run, off the clock.
2. **fit_saga** (dance.train): the same algorithm, float32, the same step, batch and tol,
   up to `--saga-epochs` epochs; the float64 objective every 5 epochs, off the clock.
   glm-saga's stopping rule (one minibatch step moving the parameters by <= tol) can end
   it far from the optimum, so it runs a second time without it (tol 0) for
   `--saga-epochs` epochs, to show how close the algorithm itself gets.
3. **fit_proximal** (dance.train): FISTA in float64 until the KKT residual <= 1e-6.

Then, off the clock, fit_proximal warm-started from its own answer runs to a KKT
residual of 1e-9: the reference optimum. Every solver is judged by its objective against
the best objective any of them reached (never by accuracy), by its KKT residual and by
its support against the reference optimum's ("ties" are differing entries that sit on
the edge of the optimality condition: a zero weight whose smooth gradient is within 1e-3
of the L1 weight, or a non-zero weight below 1e-6). Times are process CPU seconds
(`time.process_time`, one thread), which the other jobs on a shared machine disturb far
less than wall seconds; wall seconds and load averages are recorded too.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse
import importlib.metadata
import json
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from solver_data import SPECS, ProblemSpec, generate

from dance.train import (
    ElasticNet,
    SolverResult,
    fit_proximal,
    fit_saga,
    summarise_solution,
)
from dance.train import elastic_net_objective as objective

STEP, BATCH, SAGA_TOL, KKT_TOL, REFERENCE_KKT = 0.05, 128, 1e-4, 1e-6, 1e-9
GAPS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-6)


def run_glm_saga(
    X, y, spec: ProblemSpec, net: ElasticNet, epochs: int
) -> tuple[SolverResult, list[str]]:
    """glm-saga's glm_saga as the reference calls it (W, b snapshotted every epoch); its log."""
    from glm_saga import elasticnet
    from torch.utils.data import DataLoader

    torch.manual_seed(spec.seed)  # the DataLoader shuffles with the global generator
    linear = torch.nn.Linear(X.shape[1], spec.classes)
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.zero_()
    loader = DataLoader(elasticnet.IndexedTensorDataset(X, y), batch_size=BATCH, shuffle=True)
    snapshots: list[tuple[float, torch.Tensor, torch.Tensor]] = []
    log_lines: list[str] = []
    started_cpu = time.process_time()

    def capture(message: str = "", *args, **kwargs) -> None:
        # glm-saga logs "obj ..." once per epoch through `print`; snapshot W, b there.
        message = str(message)
        if message.startswith("obj "):
            snapshots.append(
                (
                    time.process_time() - started_cpu,
                    linear.weight.detach().clone(),
                    linear.bias.detach().clone(),
                )
            )
        else:
            log_lines.append(message)

    elasticnet.print = capture  # module global shadows the builtin glm-saga calls
    try:
        elasticnet.glm_saga(
            linear, loader, STEP, epochs, spec.alpha, k=1, epsilon=1, do_zero=False,
            metadata={"max_reg": {"nongrouped": spec.lam}}, n_ex=X.shape[0],
            n_classes=spec.classes, tol=SAGA_TOL, verbose=1,
        )  # fmt: skip
    finally:
        del elasticnet.print
    cpu = time.process_time() - started_cpu
    X64 = X.to(torch.float64)
    history = [(seconds, objective(X64, y, W, b, net)) for seconds, W, b in snapshots]
    result = summarise_solution(
        "glm-saga",
        X64,
        y,
        linear.weight.detach(),
        linear.bias.detach(),
        net,
        iterations=len(snapshots),
        seconds=cpu,
        converged=len(snapshots) < epochs,
        history=history,
        type_slices=spec.type_slices(),
    )
    return result, log_lines[-3:]


def timed(label: str, run, solver_result=lambda out: out):
    """Run `run()`, keeping its wall seconds and the load averages around it."""
    load_before = os.getloadavg()
    started = time.perf_counter()
    output = run()
    wall = time.perf_counter() - started
    cpu = solver_result(output).seconds
    print(f"  {label}: {cpu:.1f} CPU s, {wall:.1f} wall s", flush=True)
    extra = {"wall_seconds": wall, "load_before": load_before, "load_after": os.getloadavg()}
    return output, extra


def first_time_at_or_below(history: list[tuple[float, float]], target: float) -> float | None:
    """The first recorded time whose objective is <= target, or None."""
    return next((seconds for seconds, value in history if value <= target), None)


def support_comparison(W, reference, X64, y, b_ref, net: ElasticNet) -> dict:
    """Symmetric difference of supports against the reference optimum, ties counted apart."""
    at = reference.detach().clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(X64 @ at.T + b_ref, y).backward()  # mean, as Eq. 6
    grad_W = at.grad
    smooth = (grad_W + net.l2 * reference).abs()
    differs = (W != 0) != (reference != 0)
    tie = ((reference == 0) & (smooth >= net.l1 - 1e-3 * net.l1)) | (
        (reference != 0) & (reference.abs() < 1e-6)
    )
    return {
        "symmetric_difference": int(differs.sum()),
        "of_which_ties": int((differs & tie).sum()),
        "only_here": int(((W != 0) & (reference == 0)).sum()),
        "only_in_optimum": int(((W == 0) & (reference != 0)).sum()),
    }


def run_case(spec: ProblemSpec, glm_epochs: int, saga_epochs: int) -> dict:
    """All three solvers on one problem, and how they compare."""
    print(f"{spec.name}: generating", flush=True)
    X, y = generate(spec)
    X64 = X.to(torch.float64)
    net = ElasticNet(spec.lam, spec.alpha)
    slices = spec.type_slices()

    (glm, glm_log), glm_extra = timed(
        "glm-saga", lambda: run_glm_saga(X, y, spec, net, glm_epochs), lambda out: out[0]
    )
    saga, saga_extra = timed(
        "fit_saga",
        lambda: fit_saga(
            X, y, net, step=STEP, batch=BATCH, tol=SAGA_TOL, max_epochs=saga_epochs,
            seed=spec.seed, history_every=5, type_slices=slices, clock=time.process_time,
        ),
    )  # fmt: skip
    saga_long, saga_long_extra = timed(
        "fit_saga, no stopping rule",
        lambda: fit_saga(
            X, y, net, step=STEP, batch=BATCH, tol=0.0, max_epochs=saga_epochs,
            seed=spec.seed, history_every=5, type_slices=slices, clock=time.process_time,
        ),
    )  # fmt: skip
    proximal, proximal_extra = timed(
        "fit_proximal",
        lambda: fit_proximal(
            X, y, spec.classes, net, tol=KKT_TOL, type_slices=slices, clock=time.process_time
        ),
    )
    reference = fit_proximal(
        X64, y, spec.classes, net, tol=REFERENCE_KKT, max_iter=20000, W0=proximal.W,
        b0=proximal.b, type_slices=slices, clock=time.process_time,
    )  # fmt: skip
    solvers = {
        "glm-saga": glm,
        "fit_saga": saga,
        "fit_saga_no_stop": saga_long,
        "fit_proximal": proximal,
    }
    best = min([r.objective for r in solvers.values()] + [reference.objective])

    report: dict = {"spec": spec.to_json(), "best_objective": best, "solvers": {}}
    report["reference_optimum"] = {
        "objective": reference.objective,
        "kkt_residual": reference.kkt_residual,
        "nonzeros": reference.nonzeros,
        "nonzeros_per_type": reference.nonzeros_per_type,
        "extra_iterations": reference.iterations,
    }
    extras = {
        "glm-saga": glm_extra,
        "fit_saga": saga_extra,
        "fit_saga_no_stop": saga_long_extra,
        "fit_proximal": proximal_extra,
    }
    for name, result in solvers.items():
        entry = result.to_json()
        entry.update(extras[name])
        entry["relative_gap"] = result.objective / best - 1.0
        entry["time_to_relative_gap"] = {
            f"{gap:g}": first_time_at_or_below(result.history, best * (1 + gap)) for gap in GAPS
        }
        entry["support_vs_optimum"] = support_comparison(
            result.W.to(torch.float64), reference.W, X64, y, reference.b, net
        )
        entry["nonzeros_above_1e-5"] = int((result.W.abs() > 1e-5).sum())
        if name == "glm-saga":
            entry["log_tail"] = glm_log
        report["solvers"][name] = entry

    glm_final, glm_seconds = glm.objective, glm.seconds
    reach = first_time_at_or_below(proximal.history, glm_final)
    saga_reach = first_time_at_or_below(saga.history, glm_final)
    report["comparison"] = {
        "glm_saga_epochs": glm.iterations,
        "glm_saga_cpu_seconds_per_epoch": glm_seconds / max(glm.iterations, 1),
        "fit_saga_cpu_seconds_per_epoch": saga.seconds / max(saga.iterations, 1),
        "proximal_seconds_to_glm_saga_final_objective": reach,
        "speedup_to_glm_saga_final_objective": glm_seconds / reach if reach else None,
        "fit_saga_seconds_to_glm_saga_final_objective": saga_reach,
        "proximal_seconds_to_kkt_1e-6": proximal.seconds if proximal.converged else None,
        "speedup_to_kkt_1e-6_vs_glm_saga_run": glm_seconds / proximal.seconds,
        "fit_saga_within_1e-4_of_best": saga.objective <= best * (1 + 1e-4),
        "fit_saga_no_stop_within_1e-4_of_best": saga_long.objective <= best * (1 + 1e-4),
        "fit_saga_no_stop_seconds_to_1e-4_of_best": first_time_at_or_below(
            saga_long.history, best * (1 + 1e-4)
        ),
        "fit_proximal_within_1e-4_of_best": proximal.objective <= best * (1 + 1e-4),
    }
    return report


def main(argv: list[str] | None = None) -> int:
    """Run the cases and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=list(SPECS), choices=list(SPECS))
    parser.add_argument("--glm-epochs", type=int, default=140)
    parser.add_argument("--saga-epochs", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/solver.json"))
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    output = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "glm_saga": importlib.metadata.version("glm-saga"),
        },
        "settings": {
            "step": STEP,
            "batch": BATCH,
            "saga_tol": SAGA_TOL,
            "kkt_tol": KKT_TOL,
            "reference_kkt": REFERENCE_KKT,
            "glm_epochs": args.glm_epochs,
            "saga_epochs": args.saga_epochs,
            "clock": "process CPU seconds (one thread)",
        },
        "cases": {},
    }
    for name in args.cases:
        output["cases"][name] = run_case(SPECS[name], args.glm_epochs, args.saga_epochs)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(output, indent=1) + "\n")
        comparison = output["cases"][name]["comparison"]
        print(json.dumps(comparison, indent=1), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
