"""A local copy of an S3 object or prefix, for readers that only open local files.

transformers' `from_pretrained` reads a local directory or the Hugging Face Hub, never
s3://. A model a job wrote to an S3 workdir (`dance finetune-backbone` with
workdir=s3://...) is therefore copied into the machine's cache first. The copy is keyed by
the URI and by what the listing says of every object (relative name, size, modification
time): an unchanged model is fetched once per machine, a rewritten one anew. It is made in
a staging folder and renamed into place, so processes racing on one node (several actors
loading one model) and a download killed half-way never leave a half copy to be read.

Copies live at <cache>/<hash of the URI>/<hash of the listing>. A copy superseded by a
newer one of the same URI is deleted once nobody has asked for it for SUPERSEDED_GRACE_S
(each call touches the copy it returns), so a node that reloads a model rewritten every
epoch keeps one copy of it, not one per epoch, and a reader still loading an older copy
is not pulled from under.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shutil
import tempfile
import time
from collections.abc import Sequence

import pyarrow.fs as pafs

from dance.storage._atomic import is_temp_name
from dance.storage._errors import ObjectNotFoundError, StorageError, translated_errors
from dance.storage._filesystems import resolve
from dance.storage._uri import is_s3

CACHE_ENV = "DANCE_CACHE_DIR"
_CHUNK = 1 << 20
# How long a superseded copy is kept after its last use: far longer than any model load.
SUPERSEDED_GRACE_S = 15 * 60


def cache_root() -> str:
    """Where copies live: $DANCE_CACHE_DIR/remote, else $XDG_CACHE_HOME (~/.cache)/dance/remote."""
    base = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "dance"
    )
    return os.path.join(base, "remote")


def _safe_parts(relative: str, uri: str) -> list[str]:
    """The path parts of an object's name below `uri`; an error for one that would escape."""
    parts = relative.split("/")
    if any(part in ("", ".", "..") or "\\" in part or "\0" in part for part in parts):
        raise StorageError(
            f"cannot copy {uri}: it holds an object named {relative!r}, which is not a "
            "plain relative file name; remove or rename that object"
        )
    return parts


def _listing(uri: str, exclude_suffixes: Sequence[str]) -> tuple[bool, list[tuple[str, int, str]]]:
    """(is a single object, [(relative name, size, mtime)]) for `uri`, sorted by name."""
    fs, location, endpoint = resolve(uri)
    with translated_errors(uri, "list", endpoint):
        info = fs.get_file_info(location.path)
        if info.type == pafs.FileType.NotFound:
            raise ObjectNotFoundError(
                f"cannot copy {uri}: nothing is there; check the URI and the bucket at {endpoint}"
            )
        if info.type == pafs.FileType.File:
            return True, [(posixpath.basename(info.path), int(info.size), str(info.mtime))]
        infos = fs.get_file_info(pafs.FileSelector(location.path, recursive=True))
    excluded = tuple(suffix.lower() for suffix in exclude_suffixes)
    files = [
        (i.path[len(location.path) + 1 :], int(i.size), str(i.mtime))
        for i in infos
        if i.type == pafs.FileType.File
        and not is_temp_name(posixpath.basename(i.path))
        and not i.path.lower().endswith(excluded)
    ]
    if not files:
        raise ObjectNotFoundError(f"cannot copy {uri}: it holds no files to copy")
    return False, sorted(files)


def _download(uri: str, files: list[tuple[str, int, str]], single: bool, staging: str) -> None:
    """Fetch every listed object of `uri` into `staging`, checking each one's size."""
    fs, location, endpoint = resolve(uri)
    for relative, size, _ in files:
        source = location.path if single else f"{location.path}/{relative}"
        target = os.path.join(staging, *_safe_parts(relative, uri))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shown = uri if single else f"{uri.rstrip('/')}/{relative}"
        with (
            translated_errors(shown, "copy", endpoint),
            fs.open_input_stream(source) as stream,
            open(target, "wb") as out,
        ):
            shutil.copyfileobj(stream, out, _CHUNK)
        if os.path.getsize(target) != size:
            raise StorageError(
                f"copying {uri}: {relative} came as {os.path.getsize(target)} bytes, the "
                f"listing said {size}; it changed while being read, retry"
            )


def _prune_superseded(uri_dir: str, current: str) -> None:
    """Delete the copies in `uri_dir` other than `current` unused for SUPERSEDED_GRACE_S."""
    cutoff = time.time() - SUPERSEDED_GRACE_S
    for name in os.listdir(uri_dir):
        path = os.path.join(uri_dir, name)
        if name == current or name.startswith("."):  # the copy in use, or a staging folder
            continue
        try:
            if os.stat(path).st_mtime < cutoff:
                shutil.rmtree(path)
        except FileNotFoundError:  # another process pruned it first
            continue


def local_copy(uri: str, exclude_suffixes: Sequence[str] = ()) -> str:
    """A local path holding what `uri` holds: s3:// is copied into the cache once, else as is.

    A prefix gives a directory (objects whose names end with an `exclude_suffixes` entry
    left out), a single object a file of its name.
    """
    if not is_s3(uri):
        return uri
    single, files = _listing(uri, exclude_suffixes)
    source = uri.rstrip("/")
    identity = json.dumps([source, single, files], separators=(",", ":"))
    key = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]
    uri_dir = os.path.join(cache_root(), hashlib.sha256(source.encode("utf-8")).hexdigest()[:32])
    target = os.path.join(uri_dir, key)
    result = os.path.join(target, files[0][0]) if single else target
    if not os.path.isdir(target):
        os.makedirs(uri_dir, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{key}.", dir=uri_dir)
        try:
            _download(uri, files, single, staging)
            try:
                os.rename(staging, target)
            except OSError:
                if not os.path.isdir(target):  # not another process's finished copy
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    try:
        os.utime(target)  # in use: not pruned while a reader may still be loading it
    except FileNotFoundError:  # pruned meanwhile by a process that saw a newer listing
        return local_copy(uri, exclude_suffixes)
    _prune_superseded(uri_dir, key)
    return result
