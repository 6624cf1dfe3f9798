"""`dance finetune-backbone`: fine-tune VideoMAE on the manifest (Ray Train) and export it."""

from __future__ import annotations

import typer

from dance.cli._errors import user_errors
from dance.cli._options import ConfigOption, ForceOption, SetOption
from dance.config import load_config
from dance.workdir import lock_for_config


def finetune_backbone_command(
    config: ConfigOption = "demo", overrides: SetOption = None, force: ForceOption = False
) -> None:
    """Fine-tune the VideoMAE backbone (the paper's baseline) and write it to finetune.output."""
    with user_errors():
        cfg = load_config(config, overrides or [])
        # Ray and the job load only when the command runs: `dance --help` stays fast.
        from ray_jobs.finetune_backbone import run_finetune

        with lock_for_config(cfg, "dance finetune-backbone"):
            report = run_finetune(cfg, log=lambda line: typer.echo(line, err=True), force=force)
    typer.echo(report.describe())
