"""How jobs report progress: a `Log` is any callable taking one line of text."""

from __future__ import annotations

import sys
from collections.abc import Callable

Log = Callable[[str], None]


def log_to_stderr(line: str) -> None:
    """The jobs' default log: one line on stderr, flushed (job logs interleave with Ray's)."""
    print(line, file=sys.stderr, flush=True)


def quiet(line: str) -> None:
    """A log that drops every line (tests, library calls that want no output)."""
    del line


__all__ = ["Log", "log_to_stderr", "quiet"]
