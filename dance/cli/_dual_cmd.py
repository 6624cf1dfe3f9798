"""`dance train-dual-encoder`: train a video-text dual encoder on captions (Ray Train), export it."""

from __future__ import annotations

import typer

from dance.cli._errors import user_errors
from dance.cli._options import ConfigOption, ForceOption, SetOption
from dance.config import load_config
from dance.workdir import lock_for_config


def train_dual_encoder_command(
    config: ConfigOption = "demo", overrides: SetOption = None, force: ForceOption = False
) -> None:
    """Train a CLIP-with-temporal-pooling dual encoder on the dataset's captions; export it."""
    with user_errors():
        cfg = load_config(config, overrides or [])
        # Ray and the job load only when the command runs: `dance --help` stays fast.
        from ray_jobs.train_dual_encoder import run_train_dual_encoder

        log = lambda line: typer.echo(line, err=True)
        with lock_for_config(cfg, "dance train-dual-encoder"):
            report = run_train_dual_encoder(cfg, log=log, force=force)
    typer.echo(report.describe())
