"""`dance tcav`: Video-TCAV of the concept clips' concepts at the backbone's layers."""

from __future__ import annotations

import typer

from dance.cli._errors import user_errors
from dance.cli._options import ConfigOption, ForceOption, SetOption
from dance.config import load_config
from dance.workdir import lock_for_config


def tcav_command(
    config: ConfigOption = "demo",
    overrides: SetOption = None,
    force: ForceOption = False,
) -> None:
    """Video-TCAV from the concept clips (run `dance concept-clips` first): relative CAVs per
    concept group and layer, sign-count scores against random runs, Bonferroni-corrected
    t-tests; write <workdir>/posthoc/tcav/tcav.json (settings: the config's tcav section)."""
    from ray_jobs.tcav import run_tcav

    with user_errors():
        cfg = load_config(config, overrides or [])
        with lock_for_config(cfg, "dance tcav"):
            run_tcav(cfg, log=lambda line: typer.echo(line, err=True), force=force)
