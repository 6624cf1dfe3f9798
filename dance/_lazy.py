"""Package attributes imported on first access, so a light package can name heavy classes."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(
    package: str, names_by_module: Mapping[str, Sequence[str]]
) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` importing each listed name from its module when first used."""
    home = {name: module for module, names in names_by_module.items() for name in names}

    def __getattr__(name: str) -> Any:
        """The listed attribute `name`, imported now; AttributeError for any other name."""
        if name in home:
            return getattr(importlib.import_module(home[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
