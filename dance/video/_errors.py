"""The one error type for videos that cannot be read, and the reason codes it carries."""

from __future__ import annotations

from typing import Literal, get_args

from dance.errors import DanceError

VideoErrorReason = Literal["missing", "empty", "not_a_video", "truncated", "unreadable"]

VIDEO_ERROR_REASONS: tuple[str, ...] = get_args(VideoErrorReason)

# Default cause and fix hint per reason; a caller may add a detail to the cause.
_CAUSES: dict[str, str] = {
    "missing": "file does not exist",
    "empty": "file is empty (0 bytes)",
    "not_a_video": "file is not a video",
    "truncated": "file is truncated (container header or frame data cut short)",
    "unreadable": "file cannot be read",
}
_HINTS: dict[str, str] = {
    "missing": "check the path or URI (and the manifest that lists it)",
    "empty": "re-download or re-export it",
    "not_a_video": "point the manifest at a video file (mp4, mov, avi, mkv, webm, ...)",
    "truncated": "re-download or re-encode it",
    "unreadable": "re-encode it to H.264 in an mp4 container",
}


class VideoReadError(DanceError, RuntimeError):
    """A video that cannot be read: `uri` names it, `reason` says why (a reason code)."""

    uri: str
    reason: str
    detail: str | None
    hint: str

    def __init__(
        self,
        uri: str,
        reason: str,
        detail: str | None = None,
        hint: str | None = None,
    ) -> None:
        if reason not in VIDEO_ERROR_REASONS:
            raise ValueError(
                f"VideoReadError reason must be one of {VIDEO_ERROR_REASONS}, got {reason!r}"
            )
        self.uri = uri
        self.reason = reason
        self.detail = detail
        self.hint = hint if hint is not None else _HINTS[reason]
        cause = _CAUSES[reason] if detail is None else f"{_CAUSES[reason]} [{detail}]"
        super().__init__(f"cannot read video '{uri}': {cause}; {self.hint}")

    def __reduce__(self) -> tuple[type[VideoReadError], tuple[str, str, str | None, str]]:
        """Rebuild from the constructor arguments, so Ray can ship the error between workers."""
        return (type(self), (self.uri, self.reason, self.detail, self.hint))


class BackendOpenError(Exception):
    """A backend could not open a video; `reason` is set when the backend's verdict is final."""

    def __init__(self, backend: str, detail: str, reason: str | None = None) -> None:
        super().__init__(f"{backend}: {detail}")
        self.backend = backend
        self.detail = detail
        self.reason = reason


class BackendDecodeError(Exception):
    """A backend opened a video but failed to decode it at frame `index`."""

    def __init__(self, backend: str, index: int, detail: str) -> None:
        super().__init__(f"{backend}: {detail}")
        self.backend = backend
        self.index = index
        self.detail = detail


def short_message(exc: BaseException) -> str:
    """The last non-empty line of an exception message, trimmed (decord puts the cause last)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[-1] if lines else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
