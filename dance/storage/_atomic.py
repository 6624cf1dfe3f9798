"""Whole-or-nothing writes: local temp file + rename, S3 local spool + single upload."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, cast

import pyarrow as pa
import pyarrow.fs as pafs

from dance.storage._errors import StorageError, translated_errors
from dance.storage._filesystems import resolve

_TEMP_NAME = re.compile(r"^\..+\.tmp-[0-9a-f]{32}$")


def temp_name_for(name: str) -> str:
    """The hidden temp-file name a local atomic write of `name` uses until it commits."""
    return f".{name}.tmp-{uuid.uuid4().hex}"


def is_temp_name(name: str) -> bool:
    """True for names made by temp_name_for (left behind only by a killed writer)."""
    return _TEMP_NAME.match(name) is not None


@contextmanager
def atomic_writer(uri: str) -> Iterator[BinaryIO]:
    """A binary file whose content appears at `uri` only if the body completes.

    Local: written to a hidden temp file beside the target, then renamed over it.
    S3: spooled to a local temp file, then uploaded in one call once the body is done;
    pyarrow's S3 output stream commits even when abandoned, so nothing is streamed to S3
    before the body succeeds.
    """
    fs, location, endpoint = resolve(uri)
    if location.kind == "local":
        with _local_atomic_writer(uri, location.path) as handle:
            yield handle
        return
    if not location.key:
        raise StorageError(f"cannot write {uri}: it names a bucket, not an object; add a key")
    with tempfile.NamedTemporaryFile(prefix="dance-upload-", suffix=".tmp") as spool:
        yield cast(BinaryIO, spool)
        spool.flush()
        with translated_errors(uri, "write", endpoint):
            _upload_file(fs, location.path, spool.name)


@contextmanager
def _local_atomic_writer(uri: str, path: str) -> Iterator[BinaryIO]:
    """Write to `.{name}.tmp-{uuid}` in the target's directory, then os.replace it."""
    directory, name = os.path.split(path)
    with translated_errors(uri, "write", None):
        os.makedirs(directory, exist_ok=True)
        temp_path = os.path.join(directory, temp_name_for(name))
        handle = open(temp_path, "xb")  # noqa: SIM115 - closed below on every path
    try:
        yield cast(BinaryIO, handle)
        if not handle.closed:
            handle.flush()
            os.fsync(handle.fileno())  # the rename must never expose unflushed bytes
            handle.close()
        with translated_errors(uri, "write", None):
            os.replace(temp_path, path)
    except BaseException:
        handle.close()
        with contextlib.suppress(FileNotFoundError):
            os.remove(temp_path)
        raise


def _upload_file(fs: pafs.FileSystem, path: str, local_path: str) -> None:
    """Upload a local file to `path` on `fs` as one object."""
    if os.path.getsize(local_path) == 0:
        _upload_buffer(fs, path, b"")
        return
    with pa.memory_map(local_path, "r") as mapped:
        _upload_buffer(fs, path, mapped.read_buffer())


def _upload_buffer(fs: pafs.FileSystem, path: str, data: bytes | pa.Buffer) -> None:
    """Write `data` to `path` in a single write call, then commit by closing."""
    # One write call: an interruption can only fall before it (no object) or after it
    # (the stream holds every byte, so even a commit from its destructor is whole).
    stream = fs.open_output_stream(path)
    stream.write(data)
    stream.close()


def write_bytes(uri: str, data: bytes) -> None:
    """Write `data` to `uri` atomically (whole or nothing), creating local parents."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"write_bytes({uri!r}) needs bytes, got {type(data).__name__}; encode text "
            "first (or use write_json for JSON-able objects)"
        )
    fs, location, endpoint = resolve(uri)
    if location.kind == "local":
        with atomic_writer(uri) as handle:
            handle.write(data)
        return
    if not location.key:
        raise StorageError(f"cannot write {uri}: it names a bucket, not an object; add a key")
    with translated_errors(uri, "write", endpoint):
        _upload_buffer(fs, location.path, bytes(data))
