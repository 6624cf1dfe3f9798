"""`dance demo`: the whole pipeline on the embedded default (DANCE-Synth, local Ray)."""

from __future__ import annotations

from typing import Annotated

import typer

from dance.cli._errors import user_errors
from dance.cli._options import SetOption
from dance.config import load_config


def demo_command(
    config: Annotated[str, typer.Option("--config", "-c", help="preset or YAML path")] = "demo",
    overrides: SetOption = None,
) -> None:
    """Run every stage that exists on the demo preset and print where the outputs are."""
    from ray_jobs.pipeline import run_pipeline

    with user_errors():
        cfg = load_config(config, overrides or [])
        report = run_pipeline(cfg, log=lambda line: typer.echo(line, err=True))
    typer.echo(report.describe())
