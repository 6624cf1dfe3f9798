"""Turn dance's expected errors into one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer

from dance.config import ConfigError
from dance.manifest import ManifestError
from dance.storage import StorageError

# Errors whose message already names the input and the fix: no traceback for these.
EXPECTED_ERRORS = (ConfigError, ManifestError, StorageError, FileNotFoundError, ValueError)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Report expected errors as `error: ...` with exit code 2 instead of a traceback."""
    try:
        yield
    except EXPECTED_ERRORS as err:
        typer.secho(f"error: {err}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=2) from None
