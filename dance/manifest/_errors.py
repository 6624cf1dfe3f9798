"""The manifest's error type, and the bounded item lists its messages show."""

from __future__ import annotations

from collections.abc import Sequence

from dance.errors import InputError

MAX_LISTED = 10


class ManifestError(InputError):
    """A manifest or a dataset layout is invalid; the message names what and how to fix."""


def listing(items: Sequence[object], limit: int = MAX_LISTED) -> str:
    """Render up to ``limit`` items and the total count, for error messages."""
    shown = ", ".join(repr(item) for item in list(items)[:limit])
    more = f" ... and {len(items) - limit} more" if len(items) > limit else ""
    return f"{shown}{more} ({len(items)} in all)"
