"""`dance config`: list presets, show a resolved config, validate a file, the key reference."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dance.cli._errors import user_errors
from dance.cli._options import SetOption
from dance.config import list_presets, load_config, render_reference

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


@config_app.command("reference")
def reference_command(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="write the Markdown to this file instead of stdout"),
    ] = None,
) -> None:
    """Print every config section and key (type, default, description) as Markdown."""
    text = render_reference()
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}")
