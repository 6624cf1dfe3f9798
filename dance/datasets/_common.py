"""Helpers the dataset adapters share: root checks, file scans, error lists, text reads."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from dance import storage
from dance.manifest import ManifestError, listing

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm")

log = logging.getLogger("dance.datasets")


def local_root(root: str, dataset: str, expected: str) -> Path:
    """The dataset root as an absolute local folder, or an error naming what belongs there."""
    if not isinstance(root, (str, os.PathLike)) or not str(root):
        raise ManifestError(f"{dataset}: root must be a folder path, got {root!r}")
    if storage.is_s3(str(root)):
        raise ManifestError(
            f"{dataset}: root {root!r} is on S3; this adapter scans a local or mounted folder. "
            f"Mount the bucket, or build a table manifest (name: table) listing the s3:// uris"
        )
    path = Path(os.path.abspath(os.fspath(root)))
    if not path.is_dir():
        raise ManifestError(f"{dataset}: root {str(path)!r} is not a folder; expected {expected}")
    return path


def visible_dirs(folder: Path) -> list[Path]:
    """Sub-folders of ``folder``, hidden ones (.git, .ipynb_checkpoints) left out, sorted."""
    return sorted(
        Path(entry.path)
        for entry in os.scandir(folder)
        if entry.is_dir() and not entry.name.startswith(".")
    )


def files_with_suffix(folder: Path, extensions: Iterable[str]) -> list[Path]:
    """Files directly in ``folder`` whose suffix is one of ``extensions`` (any case), sorted."""
    wanted = {extension.lower() for extension in extensions}
    return sorted(
        Path(entry.path)
        for entry in os.scandir(folder)
        if entry.is_file()
        and not entry.name.startswith(".")
        and os.path.splitext(entry.name)[1].lower() in wanted
    )


def read_text(uri: str, what: str) -> str:
    """A small text file through dance.storage (local or s3://), BOM and CRLF tolerated."""
    if not storage.exists(uri):
        raise ManifestError(f"{what} not found at {uri!r}")
    return storage.read_bytes(uri).decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")


def missing_videos_error(
    dataset: str, missing: Sequence[str], where: str, fix: str
) -> ManifestError:
    """One error listing up to ten missing videos, the count, where we looked and the fix."""
    return ManifestError(
        f"{dataset}: {len(missing)} video(s) listed but not found under {where}: "
        f"{listing(missing)}. {fix}"
    )
