"""Byte-deterministic video writing with PyAV (one encoder thread, fixed options, no dates)."""

from __future__ import annotations

import os
from types import TracebackType
from typing import TYPE_CHECKING

import av
import numpy as np

if TYPE_CHECKING:
    from typing_extensions import Self

CODECS: dict[str, str] = {"h264": "libx264", "mpeg4": "mpeg4"}
CONTAINERS: tuple[str, ...] = ("mp4", "avi")


class VideoFileWriter:
    """Write RGB frames one by one to a video file; the file appears atomically on close."""

    def __init__(
        self, path: str, width: int, height: int, fps: int, codec: str, container: str, crf: int
    ) -> None:
        """Open a temporary file next to `path` and set up the encoder."""
        if codec not in CODECS:
            raise ValueError(f"codec must be one of {sorted(CODECS)}, got {codec!r}")
        if container not in CONTAINERS:
            raise ValueError(f"container must be one of {list(CONTAINERS)}, got {container!r}")
        self._path = path
        self._tmp = f"{path}.tmp-{os.getpid()}"
        # bitexact: no library version strings or dates that would vary between runs.
        self._out = av.open(self._tmp, mode="w", format=container, options={"fflags": "+bitexact"})
        stream = self._out.add_stream(CODECS[codec], rate=fps)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.thread_count = 1
        if codec == "h264":
            stream.options = {"crf": str(crf), "preset": "ultrafast", "threads": "1",
                              "flags": "+bitexact"}  # fmt: skip
        else:
            # mpeg4 has no crf; a fixed quantiser gives the same quality control.
            stream.options = {"qscale": str(max(2, min(31, crf // 6))), "flags": "+bitexact"}
            stream.codec_context.qscale = max(2, min(31, crf // 6))
        self._stream = stream
        self._closed = False

    def write(self, frame: np.ndarray) -> None:
        """Encode one RGB uint8 (H, W, 3) frame."""
        video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
        for packet in self._stream.encode(video_frame):
            self._out.mux(packet)

    def close(self) -> None:
        """Flush the encoder and move the finished file into place."""
        if self._closed:
            return
        for packet in self._stream.encode(None):
            self._out.mux(packet)
        self._out.close()
        os.replace(self._tmp, self._path)
        self._closed = True

    def abort(self) -> None:
        """Drop a half-written file."""
        if not self._closed:
            self._out.close()
            if os.path.exists(self._tmp):
                os.remove(self._tmp)
            self._closed = True

    def __enter__(self) -> Self:
        """Enter the context; the file is finished on a clean exit and removed on error."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Finish or abort the file."""
        if exc_type is None:
            self.close()
        else:
            self.abort()
