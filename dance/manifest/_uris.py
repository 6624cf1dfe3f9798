"""Manifest uris relative to the manifest's folder: resolving them on read, making them on write."""

from __future__ import annotations

import os
import posixpath
import re
from urllib.parse import unquote, urlsplit

import pyarrow as pa

from dance import storage
from dance.manifest._errors import ManifestError

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def resolve_relative_uris(table: pa.Table, table_uri: str) -> pa.Table:
    """Resolve relative values of the ``uri`` column against the folder holding ``table_uri``."""
    if "uri" not in table.column_names:
        return table
    column = table.column("uri")
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return table  # validation reports the wrong type, naming the column
    base = storage.parent(table_uri)
    resolved = [
        value if value is None or _is_absolute(value) else _resolve(base, value)
        for value in column.to_pylist()
    ]
    position = table.column_names.index("uri")
    return table.set_column(position, "uri", pa.array(resolved, pa.string()))


def _is_absolute(uri: str) -> bool:
    """True for absolute local paths and for any scheme uri (s3://, gs://, file://)."""
    return uri.startswith("/") or bool(_SCHEME.match(uri) or _WINDOWS_DRIVE.match(uri))


def _local_abspath(path: str) -> str:
    """An absolute, normalised local path (file:// prefix dropped)."""
    if path.startswith("file://"):
        path = unquote(urlsplit(path).path)
    return os.path.abspath(path)


def _split_scheme(uri: str) -> tuple[str, str]:
    """('s3://', 'bucket/key') for scheme uris, ('', path) for local paths."""
    match = _SCHEME.match(uri)
    return (match.group(0), uri[match.end() :]) if match else ("", uri)


def _resolve(base: str, relative: str) -> str:
    """Join a relative uri onto a base directory and normalise '..' segments."""
    scheme, path = _split_scheme(base)
    if scheme and scheme != "file://":
        return scheme + posixpath.normpath(posixpath.join(path, relative))
    return os.path.normpath(os.path.join(_local_abspath(base), relative))


def relativised(value: str, relative_to: str, manifest_uri: str) -> str:
    """``value`` relative to the manifest's folder if it lies under ``relative_to``."""
    value_scheme, value_path = _split_scheme(value)
    root_scheme, root_path = _split_scheme(relative_to)
    manifest_scheme, manifest_path = _split_scheme(manifest_uri)
    if (value_scheme or "file://") == "file://" and (root_scheme or "file://") == "file://":
        root = _local_abspath(relative_to)
        path = _local_abspath(value)
        if path != root and not path.startswith(root.rstrip(os.sep) + os.sep):
            return value
        if (manifest_scheme or "file://") != "file://":
            raise ManifestError(
                f"relative_to {relative_to!r} is local but the manifest goes to "
                f"{manifest_uri!r}; relative uris must share the manifest's filesystem"
            )
        return os.path.relpath(path, os.path.dirname(_local_abspath(manifest_uri))).replace(
            os.sep, "/"
        )
    if value_scheme != root_scheme:
        return value
    root = posixpath.normpath(root_path)
    path = posixpath.normpath(value_path)
    if not path.startswith(root.rstrip("/") + "/"):
        return value
    if manifest_scheme != root_scheme or manifest_path.split("/")[0] != root.split("/")[0]:
        raise ManifestError(
            f"relative_to {relative_to!r} and the manifest {manifest_uri!r} are in different "
            "buckets or filesystems; write the manifest next to its videos or drop relative_to"
        )
    return posixpath.relpath(path, posixpath.dirname(posixpath.normpath(manifest_path)))
