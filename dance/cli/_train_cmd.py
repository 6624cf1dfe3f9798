"""`dance train`, `dance evaluate` and `dance intervene`: the model bundle, its metrics, its edits."""

from __future__ import annotations

from typing import Annotated

import typer

from dance.cli._errors import user_errors
from dance.cli._options import ConfigOption, ForceOption, SetOption
from dance.config import load_config
from dance.workdir import lock_for_config


def train_command(
    config: ConfigOption = "demo",
    overrides: SetOption = None,
    force: ForceOption = False,
    sweep: Annotated[
        bool,
        typer.Option(
            "--sweep",
            help="after training, solve the final layer for every lambda in "
            "train.sweep_lams (parallel Ray tasks, warm-started along the path) and pick by "
            "validation accuracy within train.sweep_max_nonzeros_per_class",
        ),
    ] = False,
) -> None:
    """Train concept layers and the sparse final layer on Ray Train; write <workdir>/model."""
    from ray_jobs.train import run_train

    with user_errors():
        cfg = load_config(config, overrides or [])
        log = lambda line: typer.echo(line, err=True)
        with lock_for_config(cfg, "dance train"):
            run_train(cfg, log=log, force=force)
            if sweep:
                from ray_jobs.sweep import run_sweep

                run_sweep(cfg, log=log)


def evaluate_command(
    config: ConfigOption = "demo",
    overrides: SetOption = None,
    force: ForceOption = False,
    table: Annotated[
        bool,
        typer.Option(
            "--table",
            help="also build the Table 1 rows side by side (linear probe, the fine-tuned "
            "backbone, DANCE and its ablations) into reports/table.json",
        ),
    ] = False,
) -> None:
    """Evaluate the trained model on every decoded video (val, test, and the shifted test
    set where the run has one); write <workdir>/reports."""
    from ray_jobs.evaluate import run_evaluate

    with user_errors():
        cfg = load_config(config, overrides or [])
        with lock_for_config(cfg, "dance evaluate"):
            run_evaluate(cfg, log=lambda line: typer.echo(line, err=True), force=force, table=table)


def intervene_command(
    edits: Annotated[
        list[str],
        typer.Argument(help="CLASS:CONCEPT=VALUE sets the weight of CONCEPT in CLASS; CLASS:CONCEPT+=DELTA "
                       "(or -=) shifts it"),
    ],
    name: Annotated[str, typer.Option("--name", help="the edited model's folder under "
                                      "<workdir>/model_edits")] = "edit",
    split: Annotated[str, typer.Option("--split", help="where to count fixed and broken "
                                       "predictions: val, test or shifted")] = "test",
    config: ConfigOption = "demo",
    overrides: SetOption = None,
) -> None:
    """Edit the trained model's class weights, measure the change on a split, save it apart."""
    from ray_jobs.intervene import run_intervene

    with user_errors():
        cfg = load_config(config, overrides or [])
        with lock_for_config(cfg, "dance intervene"):
            run_intervene(cfg, edits, name, split, log=lambda line: typer.echo(line, err=True))
