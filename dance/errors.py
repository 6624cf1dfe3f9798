"""One family for the errors a user can fix: bad config, bad input, a missing or stale stage.

The CLI and the job entry points print a `DanceError` as one line (its message names the
input and the fix) and exit 2; any other exception is a bug and keeps its traceback.
Each package raises its own subclass (ConfigError, ManifestError, StorageError, ...), so
callers can catch narrowly or catch the whole family.
"""

from __future__ import annotations


class DanceError(Exception):
    """An error the user can fix; the message names the input and what to do."""


class InputError(DanceError, ValueError):
    """An input (a file, a path, a value from the command line) cannot be used as given."""


class StageError(DanceError):
    """A workdir stage is missing, unfinished or stale for the current config."""


__all__ = ["DanceError", "InputError", "StageError"]
