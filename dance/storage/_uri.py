"""Parsing, joining and splitting of local paths, file:// URIs and s3:// URIs."""

from __future__ import annotations

import os
import re
from typing import Literal, NamedTuple
from urllib.parse import quote, unquote, urlsplit

from dance.storage._errors import StorageError

SUPPORTED_FORMS = "local paths, file:///absolute/path URIs and s3://bucket/key URIs"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


class Location(NamedTuple):
    """A parsed URI: which kind of store, and the path pyarrow.fs expects for it."""

    kind: Literal["local", "s3"]
    path: str  # local: absolute path; s3: "bucket" or "bucket/key", no trailing "/"
    given: str  # the URI as the caller wrote it
    file_uri: bool  # True when given as file://, so derived URIs keep that form

    @property
    def bucket(self) -> str:
        """The S3 bucket (s3 locations only)."""
        return self.path.split("/", 1)[0]

    @property
    def key(self) -> str:
        """The S3 key inside the bucket; "" for the bucket root (s3 locations only)."""
        return self.path.split("/", 1)[1] if "/" in self.path else ""


def _check_str(uri: object, what: str = "uri") -> str:
    """Reject non-strings and empty strings with a message naming the input."""
    if not isinstance(uri, str):
        raise TypeError(f"{what} must be a str (a path or URI), got {type(uri).__name__}: {uri!r}")
    if not uri.strip():
        raise StorageError(f"{what} is empty; pass a local path or an s3://bucket/key URI")
    return uri


def _scheme(uri: str) -> str | None:
    """The lower-cased scheme of `uri`, or None for a plain path."""
    match = _SCHEME.match(uri)
    return match.group(1).lower() if match else None


def is_s3(uri: str) -> bool:
    """True when `uri` is an s3://bucket/key URI."""
    return _scheme(_check_str(uri)) == "s3"


def parse(uri: str) -> Location:
    """Parse `uri` into a Location; unsupported schemes raise StorageError."""
    _check_str(uri)
    scheme = _scheme(uri)
    if scheme is None:
        return Location("local", os.path.abspath(uri), uri, file_uri=False)
    if scheme == "file":
        return Location("local", _file_uri_path(uri), uri, file_uri=True)
    if scheme == "s3":
        return Location("s3", _s3_path(uri), uri, file_uri=False)
    raise StorageError(
        f"unsupported URI scheme '{scheme}://' in {uri!r}; dance storage reads and writes "
        f"{SUPPORTED_FORMS}"
    )


def _file_uri_path(uri: str) -> str:
    """The local absolute path named by a file:// URI."""
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise StorageError(
            f"file URI {uri!r} names host {parts.netloc!r}; only local files are supported, "
            "write file:///absolute/path"
        )
    path = unquote(parts.path)
    if not path.startswith("/"):
        raise StorageError(f"file URI {uri!r} has no absolute path; write file:///absolute/path")
    return os.path.normpath(path)


def _s3_path(uri: str) -> str:
    """The "bucket/key" form of an s3:// URI, validated."""
    rest = uri[len("s3://") :].rstrip("/")
    bucket = rest.split("/", 1)[0]
    if not bucket:
        raise StorageError(f"S3 URI {uri!r} has no bucket; write s3://bucket/key")
    if "//" in rest:
        raise StorageError(f"S3 URI {uri!r} has an empty path segment ('//'); remove it")
    return rest


def to_uri(location: Location, path: str) -> str:
    """A URI for `path` (a pyarrow.fs path under `location`) in the caller's form."""
    if location.kind == "s3":
        return "s3://" + path
    if location.file_uri:
        return "file://" + quote(path)
    relative = os.path.relpath(path, location.path)
    return location.given if relative == "." else os.path.join(location.given, relative)


def join(base: str, *parts: str) -> str:
    """Join relative `parts` onto a local path or URI, keeping its form."""
    location = parse(base)
    clean: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            raise TypeError(f"join parts must be str, got {type(part).__name__}: {part!r}")
        if part.startswith("/"):
            raise StorageError(
                f"join part {part!r} is absolute and would discard {base!r}; pass it relative"
            )
        if part:
            clean.append(part.rstrip("/"))
    if location.kind == "s3":
        return "/".join(["s3://" + location.path, *clean])
    if location.file_uri:
        return "file://" + quote(os.path.join(location.path, *clean))
    return os.path.join(base, *clean)


def parent(uri: str) -> str:
    """The directory (or S3 prefix) holding `uri`; a root is its own parent."""
    location = parse(uri)
    if location.kind == "s3":
        return "s3://" + location.path.rsplit("/", 1)[0]
    if location.file_uri:
        return "file://" + quote(os.path.dirname(location.path))
    trimmed = uri.rstrip("/") or "/"
    return os.path.dirname(trimmed) or "."
