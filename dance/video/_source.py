"""Where a video's bytes come from: a local file (streamed), an S3 object (in memory), or a
frame folder (a local folder or s3:// prefix of images, read one image at a time)."""

from __future__ import annotations

import io
import os
import re
import stat
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ._errors import VideoReadError
from ._frame_folder import IMAGE_SUFFIXES, local_frame_files, s3_frame_files

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


@dataclass(frozen=True, eq=False)
class VideoSource:
    """A resolved video: exactly one of a local `path`, the object's bytes in `data`, or the
    images of a frame folder in `frames` (paths or URIs, in frame order)."""

    uri: str
    path: str | None = None
    data: bytes | None = None
    frames: tuple[str, ...] | None = None

    def open(self) -> str | io.BytesIO:
        """What the decoders take: the local path, or a fresh in-memory stream over the bytes."""
        if self.path is not None:
            return self.path
        if self.data is None:
            raise ValueError(f"{self.uri} is a frame folder: read it with FrameFolderBackend")
        return io.BytesIO(self.data)

    def head(self, size: int) -> bytes:
        """The first `size` bytes (fewer for a shorter file); b"" where they cannot be read."""
        return self.read_at(0, size)

    def read_at(self, offset: int, size: int) -> bytes:
        """Up to `size` bytes from `offset`; b"" past the end or where they cannot be read."""
        if self.data is not None:
            return self.data[offset : offset + size]
        if self.path is None:  # a frame folder has no container bytes
            return b""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(offset)
                return handle.read(size)
        except OSError:
            return b""

    def size(self) -> int:
        """Length in bytes; 0 where it cannot be read."""
        if self.data is not None:
            return len(self.data)
        if self.path is None:
            return 0
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0


def resolve_source(uri: str | os.PathLike[str]) -> VideoSource:
    """Check that `uri` names a readable, non-empty file (local or s3://) and return its source."""
    text = os.fspath(uri)
    if not isinstance(text, str) or not text:
        raise ValueError(f"video uri must be a non-empty path or s3:// URI, got {uri!r}")
    match = _SCHEME.match(text)
    scheme = match.group(1).lower() if match else None
    if scheme == "s3":
        return _resolve_s3(text)
    if scheme == "file":
        return _resolve_local(text, _file_uri_path(text))
    if scheme is not None:
        raise VideoReadError(
            text,
            "unreadable",
            f"unsupported URI scheme '{scheme}://'",
            hint="pass a local path or an s3:// URI",
        )
    return _resolve_local(text, text)


def _file_uri_path(uri: str) -> str:
    # Same reading of file:// URIs as dance.storage: file:///absolute/path, percent-decoded.
    parts = urlsplit(uri)
    path = unquote(parts.path)
    if parts.netloc not in ("", "localhost") or not path.startswith("/"):
        raise VideoReadError(
            uri,
            "unreadable",
            "a file:// URI must name a local absolute path",
            hint="write file:///absolute/path",
        )
    return path


def _resolve_local(uri: str, path: str) -> VideoSource:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise VideoReadError(uri, "missing") from None
    except OSError as exc:
        raise VideoReadError(uri, "unreadable", f"cannot stat it: {exc.strerror}") from exc
    if stat.S_ISDIR(info.st_mode):
        try:
            frames = local_frame_files(path)
        except OSError as exc:
            raise VideoReadError(
                uri, "unreadable", f"cannot list the folder: {exc.strerror}",
                hint="check the folder's permissions",
            ) from exc
        return _frame_folder(uri, frames)
    if info.st_size == 0:
        raise VideoReadError(uri, "empty")
    try:
        # Open once here so a permission problem is reported as such, not as a decode failure.
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise VideoReadError(
            uri, "unreadable", f"cannot open it: {exc.strerror}", hint="check file permissions"
        ) from exc
    # Absolute, so the decoders' FFmpeg never reads a name like "concat:x" as a protocol.
    return VideoSource(uri=uri, path=os.path.abspath(path))


def _resolve_s3(uri: str) -> VideoSource:
    # Imported here: the storage package (pyarrow S3) is only needed for s3:// videos.
    from dance import storage

    try:
        data = storage.read_bytes(uri)
    except FileNotFoundError:
        # No object of that name: a prefix of frame images is a frame folder.
        listed = storage.list_files(uri)
        if not listed:
            raise VideoReadError(uri, "missing") from None
        return _frame_folder(uri, s3_frame_files(uri, listed))
    except storage.StorageUnreachableError:
        raise  # the endpoint, not the video, is at fault: let the caller retry
    except (storage.StorageError, OSError) as exc:
        raise VideoReadError(
            uri, "unreadable", f"cannot fetch it: {exc}", hint="check the bucket and credentials"
        ) from exc
    if len(data) == 0:
        raise VideoReadError(uri, "empty")
    return VideoSource(uri=uri, data=bytes(data))


def _frame_folder(uri: str, frames: list[str]) -> VideoSource:
    """The source of a frame folder; an error naming the folder when it holds no images."""
    if not frames:
        raise VideoReadError(
            uri, "not_a_video",
            f"it is a folder with no frame images ({', '.join(IMAGE_SUFFIXES)}) in it",
            hint="pass a video file, or a folder holding one image per frame",
        )
    return VideoSource(uri=uri, frames=tuple(frames))
