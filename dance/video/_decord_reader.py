"""decord decoding backend: sequential `get_batch` over consecutive index ranges.

decord is little maintained (leaks, wrong frames after some seeks), so iteration never
seeks: each batch starts where the previous one ended. Frame count is `len(reader)`,
cross-checked against the container header that PyAV reads, because decord silently
indexes only the frames present in a file whose tail is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import numpy as np

from ._errors import BackendDecodeError, BackendOpenError, short_message
from ._probe import falls_short
from ._pyav_reader import ContainerHeader
from ._source import VideoSource
from ._types import VideoInfo

NAME = "decord"


def import_decord() -> ModuleType | None:
    """The decord module, or None where it is not installed (it has no wheel for some systems)."""
    try:
        import decord
    except ImportError:
        return None
    return decord


class DecordBackend:
    """Decodes a video with decord, one reader held open for the backend's lifetime."""

    name = NAME

    def __init__(self, source: VideoSource, header: ContainerHeader | None) -> None:
        decord = import_decord()
        if decord is None:
            raise ImportError(
                "backend='decord' needs the decord package, which is not installed; "
                "use backend='auto' or backend='pyav'"
            )
        self._errors: tuple[type[BaseException], ...] = (
            RuntimeError,
            decord.DECORDError,
            AssertionError,  # decord asserts a positive frame count on open
        )
        try:
            self._reader = decord.VideoReader(source.open(), ctx=decord.cpu(0))
            num_frames = len(self._reader)
            fps = float(self._reader.get_avg_fps())
        except self._errors as exc:
            raise BackendOpenError(NAME, f"decord could not open it: {short_message(exc)}") from exc
        if header is not None:
            self._check_against(header, num_frames, fps)
            if header.fps:
                fps = header.fps
        if not fps > 0:
            raise BackendOpenError(NAME, "its frame rate is unknown", reason="unreadable")
        if header is not None and header.height > 0 and header.width > 0:
            height, width = header.height, header.width
        else:
            height, width = self._decode_first_frame_size()
        self.info = VideoInfo(num_frames=num_frames, fps=fps, height=height, width=width)

    def _check_against(self, header: ContainerHeader, num_frames: int, fps: float) -> None:
        declared = header.declared_frames
        if declared is not None and declared != num_frames:
            raise BackendOpenError(
                NAME,
                f"decord indexes {num_frames} frames but the container declares {declared}",
                reason="truncated",
            )
        declared_s = header.declared_duration_s
        rate = header.fps or fps
        if declared is None and declared_s is not None and rate > 0:
            try:
                stamps = self._reader.get_frame_timestamp([0, num_frames - 1])
            except self._errors as exc:
                raise BackendOpenError(
                    NAME, f"decord has no frame timestamps: {short_message(exc)}"
                ) from exc
            covered_s = float(stamps[1, 1] - stamps[0, 0])
            if falls_short(covered_s, declared_s, rate):
                raise BackendOpenError(
                    NAME,
                    f"its {num_frames} frames cover {covered_s:.2f} s of the "
                    f"{declared_s:.2f} s the container declares",
                    reason="truncated",
                )

    def _decode_first_frame_size(self) -> tuple[int, int]:
        try:
            first = self._reader.get_batch([0]).asnumpy()
        except self._errors as exc:
            raise BackendOpenError(
                NAME, f"decord could not decode frame 0: {short_message(exc)}"
            ) from exc
        return int(first.shape[1]), int(first.shape[2])

    def _batch(self, indices: list[int]) -> np.ndarray:
        if self._reader is None:
            raise ValueError("the decord reader is closed")
        try:
            frames = self._reader.get_batch(indices).asnumpy()
        except self._errors as exc:
            raise BackendDecodeError(
                NAME,
                indices[0],
                f"decord failed at frames {indices[0]}..{indices[-1]} of "
                f"{self.info.num_frames}: {short_message(exc)}",
            ) from exc
        expected = (len(indices), self.info.height, self.info.width, 3)
        if frames.shape != expected or frames.dtype != np.uint8:
            raise BackendDecodeError(
                NAME,
                indices[0],
                f"decord returned {frames.dtype} frames of shape {frames.shape}, "
                f"expected uint8 {expected}",
            )
        return np.ascontiguousarray(frames)

    def iter_batches(self, start: int, size: int) -> Iterator[np.ndarray]:
        """Consecutive (T, H, W, 3) uint8 batches of up to `size` frames, from frame `start`."""
        total = self.info.num_frames
        for first in range(start, total, size):
            yield self._batch(list(range(first, min(total, first + size))))

    def read_indices(self, indices: list[int]) -> np.ndarray:
        """Frames at sorted, unique, in-range `indices`, as (len, H, W, 3) uint8."""
        return self._batch(indices)

    def close(self) -> None:
        """Drop the decord reader (decord frees it when the last reference goes)."""
        self._reader = None
