"""Helpers the dataset adapters share: root checks, file scans, error lists, text reads."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from dance import storage
from dance.datasets._s3_tree import S3TreePath, list_tree
from dance.manifest import ManifestError, listing

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm")

log = logging.getLogger("dance.datasets")


# A dataset folder: a local Path, or a folder under an s3:// root listed once.
DatasetPath = Path | S3TreePath


def dataset_root(root: str, dataset: str, expected: str) -> DatasetPath:
    """The dataset root (an absolute local folder or a listed s3:// prefix), or an error
    naming what belongs there."""
    if not isinstance(root, (str, os.PathLike)) or not str(root):
        raise ManifestError(f"{dataset}: root must be a folder path, got {root!r}")
    if storage.is_s3(str(root)):
        tree = S3TreePath(list_tree(str(root)))
        if not tree.is_dir() or not tree.children():
            raise ManifestError(f"{dataset}: nothing under {str(tree)!r}; expected {expected}")
        return tree
    path = Path(os.path.abspath(os.fspath(root)))
    if not path.is_dir():
        raise ManifestError(f"{dataset}: root {str(path)!r} is not a folder; expected {expected}")
    return path


def _entries(folder: DatasetPath, want_dirs: bool) -> list[DatasetPath]:
    """Visible (not dot-named) sub-folders or files directly in ``folder``, sorted."""
    if isinstance(folder, S3TreePath):
        return [
            entry
            for entry in folder.children()
            if not entry.name.startswith(".") and (entry.is_dir() if want_dirs else entry.is_file())
        ]
    # os.scandir: one call per folder, no stat per entry (network file systems are slow at it)
    with os.scandir(folder) as scan:
        return sorted(
            Path(entry.path)
            for entry in scan
            if not entry.name.startswith(".") and (entry.is_dir() if want_dirs else entry.is_file())
        )


def visible_dirs(folder: DatasetPath) -> list[DatasetPath]:
    """Sub-folders of ``folder``, hidden ones (.git, .ipynb_checkpoints) left out, sorted."""
    return _entries(folder, want_dirs=True)


def visible_files(folder: DatasetPath) -> list[DatasetPath]:
    """Files directly in ``folder``, hidden ones left out, sorted."""
    return _entries(folder, want_dirs=False)


def files_with_suffix(folder: DatasetPath, extensions: Iterable[str]) -> list[DatasetPath]:
    """Files directly in ``folder`` whose suffix is one of ``extensions`` (any case), sorted."""
    wanted = {extension.lower() for extension in extensions}
    return [
        path for path in visible_files(folder) if os.path.splitext(path.name)[1].lower() in wanted
    ]


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
