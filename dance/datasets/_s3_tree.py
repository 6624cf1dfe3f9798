"""A dataset folder on S3, seen through the few Path operations the adapters use.

The adapters walk their layouts with `/`, `is_dir`, `is_file`, `name`, `stem` and
`parent`. Under s3:// a folder is only a key prefix, and asking S3 about each name would
cost a request per name, so the tree is listed once, recursively, and every question is
answered from that listing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from dance import storage


@dataclass(frozen=True, eq=False)
class _Listing:
    """Every file under a root prefix and every folder they imply, as relative posix paths."""

    root: str  # s3://bucket/prefix, no trailing "/"
    files: frozenset[str]
    children: dict[str, tuple[str, ...]]  # folder ("." = the root) -> sorted entry names


def list_tree(root: str) -> _Listing:
    """The listing of the s3:// prefix `root` (no files when nothing is there)."""
    root = root.rstrip("/")
    prefix = root + "/"
    files = frozenset(
        uri[len(prefix) :] for uri in storage.list_files(root) if uri.startswith(prefix)
    )
    children: dict[str, set[str]] = {".": set()}
    for name in files:
        path = PurePosixPath(name)
        for entry in (path, *path.parents[:-1]):
            children.setdefault(str(entry.parent), set()).add(entry.name)
    return _Listing(root, files, {folder: tuple(sorted(n)) for folder, n in children.items()})


_ROOT = PurePosixPath(".")


@dataclass(frozen=True)
class S3TreePath:
    """A file or folder under a listed S3 root; `str()` is its s3:// URI."""

    listing: _Listing
    relative: PurePosixPath = _ROOT

    def __truediv__(self, name: str) -> S3TreePath:
        return S3TreePath(self.listing, self.relative / name)

    def __str__(self) -> str:
        if str(self.relative) == ".":
            return self.listing.root
        return f"{self.listing.root}/{self.relative}"

    @property
    def name(self) -> str:
        """The last part of the path."""
        return self.relative.name

    @property
    def stem(self) -> str:
        """The name without its suffix."""
        return self.relative.stem

    @property
    def parent(self) -> S3TreePath:
        """The folder holding this path."""
        return S3TreePath(self.listing, self.relative.parent)

    def is_dir(self) -> bool:
        """True when some listed file lies under this path."""
        return str(self.relative) in self.listing.children

    def is_file(self) -> bool:
        """True when this path is a listed file."""
        return str(self.relative) in self.listing.files

    def children(self) -> list[S3TreePath]:
        """The files and folders directly under this folder, sorted by name."""
        return [self / name for name in self.listing.children.get(str(self.relative), ())]
