"""`dance concept-clips`: Video-TCAV's concept clips and random sets, cut from the split's videos."""

from __future__ import annotations

import typer

from dance.cli._errors import user_errors
from dance.cli._options import ConfigOption, ForceOption, SetOption
from dance.config import load_config
from dance.workdir import lock_for_config


def concept_clips_command(
    config: ConfigOption = "demo",
    overrides: SetOption = None,
    force: ForceOption = False,
) -> None:
    """Cut Video-TCAV's concept clips (person, object and scene, from DANCE-Synth's ground
    truth or an RT-DETR detector's boxes) and random sets at the backbone's input size into
    <workdir>/posthoc/concept_clips/; failed videos are listed with their reason."""
    from ray_jobs.concept_clips import run_concept_clips

    with user_errors():
        cfg = load_config(config, overrides or [])
        with lock_for_config(cfg, "dance concept-clips"):
            run_concept_clips(cfg, log=lambda line: typer.echo(line, err=True), force=force)
