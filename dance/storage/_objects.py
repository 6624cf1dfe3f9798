"""Reading, probing, listing and removing files and objects."""

from __future__ import annotations

import io
import posixpath
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, cast

import pyarrow.fs as pafs

from dance.storage._atomic import is_temp_name
from dance.storage._errors import ObjectNotFoundError, StorageError, translated_errors
from dance.storage._filesystems import Resolved, resolve
from dance.storage._uri import to_uri

# Decoders issue many small reads and seeks; each unbuffered read would be one ranged
# GET on S3, so S3 inputs get a large read buffer.
S3_READ_BUFFER_BYTES = 1 << 20


def exists(uri: str) -> bool:
    """True when a file, object, directory or non-empty S3 prefix exists at `uri`."""
    fs, location, endpoint = resolve(uri)
    with translated_errors(uri, "check", endpoint):
        return fs.get_file_info(location.path).type != pafs.FileType.NotFound


def read_bytes(uri: str) -> bytes:
    """The whole content of the file or object at `uri`."""
    fs, location, endpoint = resolve(uri)
    with translated_errors(uri, "read", endpoint), fs.open_input_stream(location.path) as stream:
        return cast(bytes, stream.read())


@contextmanager
def open_input(uri: str) -> Iterator[BinaryIO]:
    """Open `uri` for random-access binary reading (read/seek/tell), e.g. for decoders."""
    fs, location, endpoint = resolve(uri)
    handle: BinaryIO
    with translated_errors(uri, "open", endpoint):
        if location.kind == "local":
            # A real file object: the fastest and most compatible input for local decoders;
            # closed in the finally below.
            handle = open(location.path, "rb")  # noqa: SIM115
        else:
            raw = fs.open_input_file(location.path)
            handle = io.BufferedReader(raw, buffer_size=S3_READ_BUFFER_BYTES)  # type: ignore[arg-type]
    try:
        yield handle
    finally:
        handle.close()


def list_files(uri: str, suffix: str | None = None) -> list[str]:
    """Files under `uri`, recursive and sorted, as full URIs; [] for a missing directory.

    In-progress atomic-write temp files are never listed. A `uri` naming a file lists
    just that file.
    """
    resolved = resolve(uri)
    return [to_uri(resolved.location, path) for path in list_paths(resolved, suffix)]


def list_paths(resolved: Resolved, suffix: str | None = None) -> list[str]:
    """Sorted filesystem paths of the files under a resolved URI (see list_files)."""
    fs, location, endpoint = resolved
    if suffix is not None and not isinstance(suffix, str):
        raise TypeError(f"suffix must be a str such as '.parquet', got {suffix!r}")
    with translated_errors(location.given, "list", endpoint):
        info = fs.get_file_info(location.path)
        if info.type == pafs.FileType.NotFound:
            return []
        if info.type == pafs.FileType.File:
            infos = [info]
        else:
            infos = fs.get_file_info(pafs.FileSelector(location.path, recursive=True))
    return sorted(
        i.path
        for i in infos
        if i.type == pafs.FileType.File
        and not is_temp_name(posixpath.basename(i.path))
        and (suffix is None or i.path.endswith(suffix))
    )


def makedirs(uri: str) -> None:
    """Create a local directory and its parents; a no-op on S3 (prefixes need none)."""
    fs, location, endpoint = resolve(uri)
    if location.kind == "s3":
        return
    with translated_errors(uri, "create directory", endpoint):
        fs.create_dir(location.path, recursive=True)


def remove(uri: str, missing_ok: bool = True) -> None:
    """Delete the file, object, directory or S3 prefix at `uri` (directories recursively)."""
    fs, location, endpoint = resolve(uri)
    with translated_errors(uri, "remove", endpoint):
        info = fs.get_file_info(location.path)
        if info.type == pafs.FileType.NotFound:
            if missing_ok:
                return
            raise ObjectNotFoundError(
                f"cannot remove {uri}: it does not exist; pass missing_ok=True to ignore that"
            )
        if info.type == pafs.FileType.File:
            fs.delete_file(location.path)
            return
        if location.kind == "s3" and not location.key:
            raise StorageError(
                f"refusing to remove {uri}: it is a whole bucket; remove a prefix inside it"
            )
        fs.delete_dir(location.path)
