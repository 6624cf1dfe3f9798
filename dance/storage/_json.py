"""JSON documents in and out: UTF-8, sorted keys, two-space indent, strict (no NaN)."""

from __future__ import annotations

import json
from typing import Any

from dance.storage._atomic import write_bytes
from dance.storage._errors import StorageError
from dance.storage._objects import read_bytes


def write_json(obj: Any, uri: str) -> None:
    """Write `obj` as JSON to `uri` atomically (sorted keys, indent 2, UTF-8)."""
    try:
        text = json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    except TypeError as exc:
        raise TypeError(
            f"cannot write JSON to {uri}: {exc}; convert it to dicts, lists, str, int, "
            "float, bool or None first (e.g. array.tolist())"
        ) from exc
    except ValueError as exc:
        # Strict JSON: NaN/Infinity would make the file unreadable for other parsers.
        raise ValueError(
            f"cannot write JSON to {uri}: {exc}; replace NaN/Infinity with None first"
        ) from exc
    write_bytes(uri, (text + "\n").encode("utf-8"))


def read_json(uri: str) -> Any:
    """Parse the JSON document at `uri`."""
    data = read_bytes(uri)
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StorageError(
            f"cannot read JSON {uri}: it is not valid UTF-8 JSON ({exc}); rewrite the file"
        ) from exc
