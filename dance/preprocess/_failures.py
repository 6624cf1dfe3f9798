"""Why a video failed: a reason code first (`code: detail`), so summaries can count codes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from dance.video import VIDEO_ERROR_REASONS

# Decode failures come from dance.video; the rest are the preprocess job's own verdicts.
# A video without a detectable person is no failure: its clips are rejected `no_person`.
FAILURE_CODES: tuple[str, ...] = (
    *VIDEO_ERROR_REASONS,
    "too_short",
    "pose_error",
    "backbone_error",
    "dual_error",
)

_Item = TypeVar("_Item")
_Out = TypeVar("_Out")


def failure_message(code: str, detail: str) -> str:
    """`code: detail`, the `error` value of a failed video row."""
    if code not in FAILURE_CODES:
        raise ValueError(f"unknown failure code {code!r}; expected one of {FAILURE_CODES}")
    text = " ".join(str(detail).split())  # one line, whatever the exception printed
    return f"{code}: {text}"


def failure_code(error: str | None) -> str | None:
    """The code of an `error` value (the text before the first colon), None for no error."""
    if error is None:
        return None
    return error.split(":", 1)[0].strip()


def run_isolated(
    run_batch: Callable[[Sequence[_Item]], Sequence[_Out]], items: Sequence[_Item]
) -> list[_Out | Exception]:
    """Run `run_batch` on all items at once; if it raises, once per item, keeping each failure.

    The batched call is the fast path (one model call across videos). When it fails, each
    item is retried alone so one bad video cannot fail the others; an item that still
    fails yields its exception in place of a result.
    """
    if not items:
        return []
    try:
        outputs = list(run_batch(items))
    except Exception as exc:  # noqa: BLE001 - any model error: isolate per item below
        if len(items) == 1:
            return [exc]
        return [_single(run_batch, item) for item in items]
    if len(outputs) != len(items):
        raise ValueError(f"batch call returned {len(outputs)} results for {len(items)} items")
    return outputs


def _single(
    run_batch: Callable[[Sequence[_Item]], Sequence[_Out]], item: _Item
) -> _Out | Exception:
    """One item alone: its result, or the exception it raised."""
    try:
        (output,) = run_batch([item])
        return output
    except Exception as exc:  # noqa: BLE001 - reported per video, the job goes on
        return exc
