"""`dance preprocess`: decode, key clips, pose and encoder features on Ray Data (resumable)."""

from __future__ import annotations

import typer

from dance.cli._errors import user_errors
from dance.cli._options import ConfigOption, ForceOption, SetOption
from dance.config import load_config
from dance.workdir import lock_for_config


def preprocess_command(
    config: ConfigOption = "demo", overrides: SetOption = None, force: ForceOption = False
) -> None:
    """Preprocess every manifest video not yet done into <workdir>/videos and <workdir>/clips."""
    from ray_jobs.preprocess import run_preprocess

    with user_errors():
        cfg = load_config(config, overrides or [])
        with lock_for_config(cfg, "dance preprocess"):
            run_preprocess(cfg, log=lambda line: typer.echo(line, err=True), force=force)
