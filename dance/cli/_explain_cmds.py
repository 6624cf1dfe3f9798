"""`dance sanity` and `dance report`: checks of the explanations, and the HTML report."""

from __future__ import annotations

from typing import Annotated

import typer

from dance.cli._errors import user_errors
from dance.cli._options import ConfigOption, ForceOption, SetOption
from dance.config import load_config
from dance.workdir import lock_for_config


def sanity_command(
    config: ConfigOption = "demo",
    overrides: SetOption = None,
    force: ForceOption = False,
) -> None:
    """Reversed-video check, explanation fidelity, deletion curve and a shift edit suggested
    from validation data; write <workdir>/reports/sanity.json."""
    from ray_jobs.sanity import run_sanity

    with user_errors():
        cfg = load_config(config, overrides or [])
        with lock_for_config(cfg, "dance sanity"):
            run_sanity(cfg, log=lambda line: typer.echo(line, err=True), force=force)


def report_command(
    config: ConfigOption = "demo",
    overrides: SetOption = None,
    force: ForceOption = False,
    out: Annotated[
        str | None,
        typer.Option("--out", help="folder or s3:// prefix for the site (default <workdir>/reports)"),
    ] = None,
    videos: Annotated[
        int, typer.Option("--videos", min=0, help="test videos that get their own page")
    ] = 300,
) -> None:
    """Write the HTML report (summary, classes, sampled videos, concepts, Sankey, checks) to
    <workdir>/reports/index.html; it opens from disk, no server needed."""
    from ray_jobs.report import run_report

    with user_errors():
        cfg = load_config(config, overrides or [])
        log = lambda line: typer.echo(line, err=True)
        with lock_for_config(cfg, "dance report"):
            run_report(cfg, log=log, force=force, out=out, max_videos=videos)
