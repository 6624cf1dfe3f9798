"""`dance run` and `dance demo`: every stage in order, skipping the ones already done."""

from __future__ import annotations

from typing import Annotated

import typer

from dance.cli._errors import user_errors
from dance.cli._options import ConfigOption, SetOption
from dance.config import load_config

STAGES_HELP = ("manifest, finetune, dual_encoder, preprocess, discover, train, evaluate, "
               "sanity, report")
ForceStages = Annotated[
    list[str] | None,
    typer.Option("--force", metavar="STAGE",
                 help=f"redo this stage even if it is done (repeatable); stages: {STAGES_HELP}"),
]
FromStage = Annotated[
    str | None,
    typer.Option("--from", metavar="STAGE", help="redo this stage and every stage after it"),
]
OnlyStages = Annotated[
    list[str] | None,
    typer.Option("--only", metavar="STAGE",
                 help="run just this stage (repeatable); skipped when already done"),
]
Verbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="also show Ray Data's progress bars"),
]
Wait = Annotated[
    float | None,
    typer.Option("--wait", metavar="SECONDS",
                 help="wait this long for a run already working on the workdir (default: "
                 "run.lock_wait_s, 0 = refuse at once)"),
]


def _run(config: str, overrides: list[str], force: list[str], start: str | None,
         only: list[str], verbose: bool, wait: float | None, command: str) -> None:
    """Load the config, run the pipeline and print its summary."""
    from ray_jobs.pipeline import parse_selection, run_pipeline

    with user_errors():
        cfg = load_config(config, overrides)
        if wait is not None:
            cfg = cfg.model_copy(update={"run": cfg.run.model_copy(update={"lock_wait_s": wait})})
        selection = parse_selection(force, start, only)
        report = run_pipeline(cfg, log=lambda line: typer.echo(line, err=True),
                              selection=selection, verbose=verbose, command=command)
    typer.echo(report.describe())


def run_command(
    config: ConfigOption = "demo",
    overrides: SetOption = None,
    force: ForceStages = None,
    start: FromStage = None,
    only: OnlyStages = None,
    verbose: Verbose = False,
    wait: Wait = None,
) -> None:
    """Run the whole pipeline on one config, skipping every stage already done for it, and
    print a run summary (per-stage time, failures, outputs, headline numbers)."""
    _run(config, overrides or [], force or [], start, only or [], verbose, wait,
         f"dance run --config {config}")


def demo_command(
    config: Annotated[str, typer.Option("--config", "-c", help="preset or YAML path")] = "demo",
    overrides: SetOption = None,
    verbose: Verbose = False,
) -> None:
    """`dance run` on the demo preset: DANCE-Synth rendered if missing, local Ray, offline
    models; prints the accuracies, the explanation fidelity and the report's path."""
    _run(config, overrides or [], [], None, [], verbose, None, "dance demo")
