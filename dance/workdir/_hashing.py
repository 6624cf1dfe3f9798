"""Content hashes of what a stage read: model directories, files and tables."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from dance import storage
from dance.encoders import local_model_path

_CHUNK = 1 << 20


def _file_digest(path: str) -> str:
    """sha256 of one local file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def path_sha256(path: str) -> str | None:
    """sha256 of a file, or of a directory's files (relative names and contents).

    An s3:// URI is hashed as the local copy a model loader reads (pickled weights left
    out). None for a hub id or a missing path: such a model is identified by its name alone.
    """
    if storage.is_s3(path):
        if not storage.exists(path):
            return None
        path = local_model_path(path)
    if os.path.isfile(path):
        return _file_digest(path)
    if not os.path.isdir(path):
        return None
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            relative = os.path.relpath(full, path).replace(os.sep, "/")
            digest.update(relative.encode("utf-8") + b"\0" + _file_digest(full).encode() + b"\0")
    return digest.hexdigest()


def model_reference(name_or_path: str) -> dict[str, Any]:
    """{"id": hub id or absolute path, "sha256": content hash or None} of a model."""
    return {"id": name_or_path, "sha256": path_sha256(name_or_path)}


def json_sha256(value: Any) -> str:
    """sha256 of a JSON-able value in canonical form (sorted keys, no spaces)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rows_sha256(columns: Mapping[str, Iterable[Any]]) -> str:
    """sha256 of table rows given as equal-length columns, independent of row order."""
    names = sorted(columns)
    rows = sorted(zip(*(list(columns[n]) for n in names), strict=True), key=repr)
    return json_sha256({"columns": names, "rows": [list(r) for r in rows]})
