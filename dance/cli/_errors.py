"""Turn dance's user-fixable errors into one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer

from dance.errors import DanceError


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Report a DanceError as `error: ...` with exit code 2; any other exception is a bug
    and keeps its traceback."""
    try:
        yield
    except DanceError as err:
        typer.secho(f"error: {err}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=2) from None
