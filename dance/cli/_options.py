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
