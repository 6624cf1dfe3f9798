"""Options shared by the job commands."""

from __future__ import annotations

from typing import Annotated

import typer

ConfigOption = Annotated[
    str,
    typer.Option(
        "--config",
        "-c",
        help="a preset name (see `dance config list`) or a path to a YAML config",
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        help="override one key, e.g. --set train.lam=7e-4 (repeatable)",
        metavar="KEY=VALUE",
    ),
]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="redo the stage: remove its outputs first, even when they were made by another "
        "config (without it, a stage refuses to mix outputs of two configs)",
    ),
]
