"""`dance config`: list presets, show a resolved config, validate a file."""

from __future__ import annotations

from typing import Annotated

import typer

from dance.cli._errors import user_errors
from dance.cli._options import SetOption
from dance.config import list_presets, load_config

config_app = typer.Typer(help="Inspect and validate configs.", no_args_is_help=True)


@config_app.command("list")
def list_command() -> None:
    """List the presets shipped with dance."""
    for name in list_presets():
        typer.echo(name)


@config_app.command("show")
def show_command(
    source: Annotated[str, typer.Argument(help="preset name or YAML path")],
    overrides: SetOption = None,
) -> None:
    """Print the fully resolved config (defaults, preset, file and overrides merged) as YAML."""
    with user_errors():
        typer.echo(load_config(source, overrides or []).to_yaml(), nl=False)


@config_app.command("validate")
def validate_command(
    source: Annotated[str, typer.Argument(help="preset name or YAML path")],
    overrides: SetOption = None,
) -> None:
    """Check a config without running anything; exits non-zero naming each bad key."""
    with user_errors():
        cfg = load_config(source, overrides or [])
    typer.echo(f"ok: '{source}' is a valid config (name={cfg.name}, workdir={cfg.workdir})")
