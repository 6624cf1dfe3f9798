"""Measuring memory in tests: the peak Python-traced bytes while a call runs."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def peak_bytes(run: Callable[[], T]) -> tuple[T, int]:
    """run()'s result and the peak bytes traced while it ran (numpy buffers included)."""
    tracemalloc.start()
    try:
        result = run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak
