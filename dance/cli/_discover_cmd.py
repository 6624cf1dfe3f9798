"""`dance discover`: motion, object and scene concepts and their labels into <workdir>/concepts."""

from __future__ import annotations

import typer

from dance.cli._errors import user_errors
from dance.cli._options import ConfigOption, ForceOption, SetOption
from dance.config import load_config
from dance.workdir import lock_for_config


def discover_command(
    config: ConfigOption = "demo", overrides: SetOption = None, force: ForceOption = False
) -> None:
    """Discover concepts from the preprocess outputs and write <workdir>/concepts (rerun-safe)."""
    from ray_jobs.discover import run_discover

    with user_errors():
        cfg = load_config(config, overrides or [])
        with lock_for_config(cfg, "dance discover"):
            run_discover(cfg, log=lambda line: typer.echo(line, err=True), force=force)
