"""PyAV decoding backend, and the container header facts both backends check against.

Frame count: the container's declared count (`stream.frames`) where it has one, else the
number of video packets found by demuxing the whole file (no decoding). Frames are
decoded in one sequential pass from the start; reads never seek, so they are exact but
cost a decode of every frame before the last one asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import av
import av.error
import numpy as np

from ._errors import BackendDecodeError, BackendOpenError, short_message
from ._probe import falls_short
from ._source import VideoSource
from ._types import VideoInfo

NAME = "pyav"
_OPEN_ERRORS = (av.error.FFmpegError, OSError, UnicodeError)


@dataclass(frozen=True)
class ContainerHeader:
    """What a container's header says about its first video stream."""

    stream_index: int
    declared_frames: int | None  # stream.frames when the container records it
    declared_duration_s: float | None  # of the video stream, or of a one-stream container
    fps: float | None
    height: int
    width: int


@contextmanager
def _opened(source: VideoSource) -> Iterator[av.container.InputContainer]:
    try:
        container = av.open(source.open(), mode="r", metadata_errors="replace")
    except _OPEN_ERRORS as exc:
        raise BackendOpenError(NAME, f"PyAV could not open it: {short_message(exc)}") from exc
    try:
        yield container
    finally:
        container.close()


def _video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    for stream in container.streams.video:
        # Cover art in audio files shows up as a one-picture video stream; it is not a video.
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    raise BackendOpenError(NAME, "the container holds no video stream", reason="not_a_video")


def _header_of(container: av.container.InputContainer) -> ContainerHeader:
    stream = _video_stream(container)
    codec = stream.codec_context
    if codec is None:
        raise BackendOpenError(
            NAME, f"no decoder for its video codec ({stream.codec_tag})", reason="unreadable"
        )
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    duration_s: float | None = None
    if stream.duration and stream.time_base:
        duration_s = float(stream.duration * stream.time_base)
    elif container.duration and len(container.streams) == 1:
        duration_s = container.duration / av.time_base
    return ContainerHeader(
        stream_index=stream.index,
        declared_frames=stream.frames if stream.frames > 0 else None,
        declared_duration_s=duration_s,
        fps=float(rate) if rate else None,
        height=codec.height,
        width=codec.width,
    )


def read_header(source: VideoSource) -> ContainerHeader:
    """Read the container header with PyAV (no demuxing, no decoding)."""
    with _opened(source) as container:
        return _header_of(container)


def _count_packets(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> tuple[int, float | None]:
    """Video packets in the file, and the seconds from the stream start they cover."""
    count = 0
    first: int | None = None
    end: int | None = None
    try:
        for packet in container.demux(stream):
            if not packet.size:  # the demuxer's final flush packet
                continue
            count += 1
            if packet.pts is not None:
                first = packet.pts if first is None else min(first, packet.pts)
                last = packet.pts + (packet.duration or 0)
                end = last if end is None else max(end, last)
    except av.error.FFmpegError as exc:
        raise BackendOpenError(
            NAME,
            f"demuxing failed after {count} video packets: {short_message(exc)}",
            reason="truncated",
        ) from exc
    if first is None or end is None or not stream.time_base:
        return count, None
    start = stream.start_time if stream.start_time is not None else first
    return count, float((end - start) * stream.time_base)


class PyAVBackend:
    """Decodes a video with PyAV, one sequential pass per read."""

    name = NAME

    def __init__(self, source: VideoSource) -> None:
        self._source = source
        with _opened(source) as container:
            header = _header_of(container)
            if header.fps is None:
                raise BackendOpenError(NAME, "its frame rate is unknown", reason="unreadable")
            if header.height <= 0 or header.width <= 0:
                raise BackendOpenError(NAME, "its frame size is unknown", reason="unreadable")
            num_frames = header.declared_frames
            if num_frames is None:
                stream = container.streams[header.stream_index]
                num_frames, covered_s = _count_packets(container, stream)
                declared_s = header.declared_duration_s
                if (
                    covered_s is not None
                    and declared_s is not None
                    and falls_short(covered_s, declared_s, header.fps)
                ):
                    raise BackendOpenError(
                        NAME,
                        f"its {num_frames} frames cover {covered_s:.2f} s of the "
                        f"{declared_s:.2f} s the container declares",
                        reason="truncated",
                    )
        if num_frames == 0:
            raise BackendOpenError(NAME, "its video stream has no frames", reason="truncated")
        self._stream_index = header.stream_index
        self.info = VideoInfo(
            num_frames=num_frames, fps=header.fps, height=header.height, width=header.width
        )

    def _decode(
        self, start: int, stop: int, wanted: set[int] | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """(index, RGB frame) for frames start <= index < stop (only `wanted` ones if given)."""
        height, width, total = self.info.height, self.info.width, self.info.num_frames
        index = 0
        try:
            with _opened(self._source) as container:
                stream = container.streams[self._stream_index]
                # Frame threading in FFmpeg is bit-exact, so this keeps results deterministic.
                stream.thread_type = "AUTO"
                for frame in container.decode(stream):
                    if index >= start and (wanted is None or index in wanted):
                        # A mid-stream size change is scaled to the declared size: one shape.
                        yield index, frame.to_ndarray(format="rgb24", height=height, width=width)
                    index += 1
                    if index >= stop:
                        return
        except av.error.FFmpegError as exc:
            raise BackendDecodeError(
                NAME, index, f"decoding failed at frame {index} of {total}: {short_message(exc)}"
            ) from exc
        except BackendOpenError as exc:
            raise BackendDecodeError(NAME, index, exc.detail) from exc
        raise BackendDecodeError(NAME, index, f"the video stream ended at frame {index} of {total}")

    def iter_batches(self, start: int, size: int) -> Iterator[np.ndarray]:
        """Consecutive (T, H, W, 3) uint8 batches of up to `size` frames, from frame `start`."""
        total = self.info.num_frames
        if start >= total:
            return
        shape = (self.info.height, self.info.width, 3)
        batch_start = start
        batch = np.empty((min(size, total - batch_start), *shape), dtype=np.uint8)
        filled = 0
        for _, rgb in self._decode(start, total):
            batch[filled] = rgb
            filled += 1
            if filled == len(batch):
                yield batch
                batch_start += filled
                filled = 0
                if batch_start < total:
                    batch = np.empty((min(size, total - batch_start), *shape), dtype=np.uint8)

    def read_indices(self, indices: list[int]) -> np.ndarray:
        """Frames at sorted, unique, in-range `indices`, as (len, H, W, 3) uint8."""
        out = np.empty((len(indices), self.info.height, self.info.width, 3), dtype=np.uint8)
        position = {index: i for i, index in enumerate(indices)}
        for index, rgb in self._decode(indices[0], indices[-1] + 1, set(indices)):
            out[position[index]] = rgb
        return out

    def close(self) -> None:
        """Nothing to release: every read opens and closes its own container."""
