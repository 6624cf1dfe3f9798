"""VideoReader: one video, opened with decord or PyAV, read in chunks or by index."""

from __future__ import annotations

import operator
import os
from collections.abc import Iterator, Sequence
from typing import Literal, Protocol

import numpy as np

from dance._closing import ClosesOnExit

from ._decord_reader import DecordBackend, import_decord
from ._errors import BackendDecodeError, BackendOpenError, VideoReadError
from ._frame_folder import FrameFolderBackend
from ._frames import check_chunk_size, check_resize, resize_frames
from ._probe import DECORD_ONLY_HINT, classify_open_failure, truncation_evidence
from ._pyav_reader import PyAVBackend, read_header
from ._source import VideoSource, resolve_source
from ._types import VideoChunk, VideoInfo

BackendName = Literal["auto", "decord", "pyav"]
_BACKENDS = ("auto", "decord", "pyav")


class _Backend(Protocol):
    name: str
    info: VideoInfo

    def iter_batches(self, start: int, size: int) -> Iterator[np.ndarray]: ...

    def read_indices(self, indices: list[int]) -> np.ndarray: ...

    def close(self) -> None: ...


class VideoReader(ClosesOnExit):
    """An open video (context manager; not thread-safe). Create it with `open_video`.

    Frames are uint8 RGB, decoded at native size; `resize=(height, width)` scales them
    after decoding with cv2 INTER_AREA on both backends. Rotation metadata is ignored.
    With backend "auto", a decord failure mid-stream switches the reader to PyAV for good,
    continuing from the first frame of the failed chunk.
    """

    def __init__(self, source: VideoSource, backend: _Backend, allow_fallback: bool) -> None:
        self._source = source
        self._backend = backend
        self._allow_fallback = allow_fallback
        self._info = backend.info
        self._closed = False

    @property
    def uri(self) -> str:
        """The path or URI the video was opened from."""
        return self._source.uri

    @property
    def backend(self) -> str:
        """The backend decoding now: "decord", "pyav", or "frames" for a frame folder."""
        return self._backend.name

    @property
    def info(self) -> VideoInfo:
        """Frame count, fps and native frame size."""
        return self._info

    def __repr__(self) -> str:
        return f"VideoReader(uri={self.uri!r}, backend={self.backend!r}, info={self.info!r})"

    def close(self) -> None:
        """Release the decoder; further reads raise ValueError. Safe to call twice."""
        if not self._closed:
            self._closed = True
            self._backend.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"the VideoReader for '{self.uri}' is closed; open the video again")

    def iter_chunks(
        self, chunk_size: int = 64, resize: tuple[int, int] | None = None
    ) -> Iterator[VideoChunk]:
        """Every frame once, in order, as chunks of `chunk_size` frames (the last may be shorter)."""
        size = check_chunk_size(chunk_size)
        target = check_resize(resize)
        self._check_open()
        return self._chunks(size, target)

    def _chunks(self, size: int, target: tuple[int, int] | None) -> Iterator[VideoChunk]:
        total = self._info.num_frames
        next_index = 0
        while True:
            try:
                for frames in self._backend.iter_batches(next_index, size):
                    yield VideoChunk(start=next_index, frames=resize_frames(frames, target))
                    next_index += len(frames)
                    self._check_open()
            except BackendDecodeError as failure:
                self._fall_back(failure)
                continue
            if next_index != total:
                detail = f"decoding stopped at frame {next_index} of {total}"
                raise self._truncated(detail, truncation_evidence(self._source))
            return

    def get_frames(
        self, indices: Sequence[int], resize: tuple[int, int] | None = None
    ) -> np.ndarray:
        """Frames at `indices` (any order, repeats allowed) as (len, H, W, 3) uint8 RGB."""
        self._check_open()
        target = check_resize(resize)
        wanted = self._check_indices(indices)
        if wanted.size == 0:
            height, width = target or (self._info.height, self._info.width)
            return np.empty((0, height, width, 3), dtype=np.uint8)
        unique, inverse = np.unique(wanted, return_inverse=True)
        while True:
            try:
                frames = self._backend.read_indices(unique.tolist())
                break
            except BackendDecodeError as failure:
                self._fall_back(failure)
        return np.ascontiguousarray(resize_frames(frames, target)[inverse.reshape(-1)])

    def _check_indices(self, indices: Sequence[int]) -> np.ndarray:
        total = self._info.num_frames
        checked = []
        for position, value in enumerate(indices):
            try:
                index = operator.index(value)
            except TypeError:
                raise TypeError(
                    f"get_frames indices must be ints, got {value!r} at position {position}"
                ) from None
            if not 0 <= index < total:
                raise IndexError(
                    f"frame index {index} is out of range for video '{self.uri}' with "
                    f"num_frames={total} (valid indices are 0..{total - 1})"
                )
            checked.append(index)
        return np.asarray(checked, dtype=np.int64)

    def _truncated(self, detail: str, evidence: str | None) -> VideoReadError:
        return VideoReadError(
            self.uri, "truncated", detail if evidence is None else f"{detail}; {evidence}"
        )

    def _fall_back(self, failure: BackendDecodeError) -> None:
        """Switch from decord to PyAV after `failure`, or raise the VideoReadError it means."""
        evidence = truncation_evidence(self._source)
        if self._backend.name == PyAVBackend.name:
            raise self._truncated(failure.detail, evidence) from failure
        if not self._allow_fallback:
            # decord alone failed: a cut-short file is truncated, an intact one decord can't do.
            if evidence is not None:
                raise self._truncated(failure.detail, evidence) from failure
            raise VideoReadError(
                self.uri, "unreadable", failure.detail, hint=DECORD_ONLY_HINT
            ) from failure
        try:
            replacement = PyAVBackend(self._source)
        except BackendOpenError as exc:
            detail = f"{failure.detail}; {exc.detail}"
            if exc.reason is None or exc.reason == "truncated":
                raise self._truncated(detail, evidence) from failure
            raise VideoReadError(self.uri, exc.reason, detail) from failure
        found, expected = replacement.info, self._info
        if (found.num_frames, found.height, found.width) != (
            expected.num_frames,
            expected.height,
            expected.width,
        ):
            detail = (
                f"{failure.detail}; PyAV finds {found.num_frames} frames of "
                f"{found.height}x{found.width} where decord found {expected.num_frames} "
                f"of {expected.height}x{expected.width}"
            )
            raise self._truncated(detail, evidence) from failure
        self._backend.close()
        self._backend = replacement


def open_video(uri: str | os.PathLike[str], backend: BackendName = "auto") -> VideoReader:
    """Open a local or s3:// video or frame folder; raises VideoReadError (with a `.reason`)."""
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {backend!r}")
    source = resolve_source(uri)
    if source.frames is not None:  # no container: every backend reads its images alike
        return VideoReader(source, FrameFolderBackend(source.uri, source.frames), False)
    failures: list[BackendOpenError] = []
    opened: _Backend | None = None
    header = None
    if backend == "decord" or (backend == "auto" and import_decord() is not None):
        try:
            header = read_header(source)
        except BackendOpenError as exc:
            failures.append(exc)
        try:
            opened = DecordBackend(source, header)
        except BackendOpenError as exc:
            failures.append(exc)
    if opened is None and backend in ("auto", "pyav"):
        try:
            opened = PyAVBackend(source)
        except BackendOpenError as exc:
            failures.append(exc)
    if opened is None:
        decord_alone_failed = backend == "decord" and header is not None
        raise classify_open_failure(source, failures, decord_alone_failed=decord_alone_failed)
    return VideoReader(source, opened, allow_fallback=backend == "auto")


def read_video_info(uri: str | os.PathLike[str]) -> VideoInfo:
    """Frame count, fps and size of a video, as `open_video(uri).info` reports them.

    Reads container headers and packet indexes only; frames lost after an intact header
    show up as a "truncated" VideoReadError when the frames are read.
    """
    with open_video(uri) as reader:
        return reader.info
