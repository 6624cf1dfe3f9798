"""The manifest: the one table every job starts from (video_id, uri, label, label_name, split).

A manifest carries its class list in the Parquet schema metadata (``dance.class_names``) so a
subset (one split, or a manifest whose rows miss a class) keeps its label space when written
and read back. Rows are always sorted by ``video_id``; nothing depends on row order.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dance import storage

MANIFEST_COLUMNS = ("video_id", "uri", "label", "label_name", "split")
SPLITS = ("train", "val", "test")

_CLASS_NAMES_KEY = b"dance.class_names"
_STRING_COLUMNS = ("video_id", "uri", "label_name", "split")
_MAX_LISTED = 10


class ManifestError(ValueError):
    """A manifest or a dataset layout is invalid; the message names what and how to fix."""


@dataclass(frozen=True)
class ManifestRecord:
    """One video before labels are assigned: its id, where it lives, its class name and split."""

    video_id: str
    uri: str
    label_name: str
    split: str


def _listing(items: Sequence[object], limit: int = _MAX_LISTED) -> str:
    """Render up to ``limit`` items and the total count, for error messages."""
    shown = ", ".join(repr(item) for item in list(items)[:limit])
    more = f" ... and {len(items) - limit} more" if len(items) > limit else ""
    return f"{shown}{more} ({len(items)} in all)"


class Manifest:
    """A validated manifest table; build it with from_records, from_table or read."""

    def __init__(self, table: pa.Table, class_names: Sequence[str] | None = None) -> None:
        """Validate ``table`` (class names from the argument, its metadata, or its label pairs)."""
        self._table, self._class_names = _validate(table, class_names, allow_empty=True)

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def from_records(
        cls,
        records: Iterable[ManifestRecord],
        class_names: Sequence[str] | None = None,
        extra: dict[str, Sequence] | None = None,
    ) -> Manifest:
        """Build a manifest; labels are indices into class_names (default: sorted label names)."""
        rows = list(records)
        if not rows:
            raise ManifestError("no videos: the manifest would be empty; check the dataset root")
        for index, row in enumerate(rows):
            if not isinstance(row, ManifestRecord):
                raise ManifestError(
                    f"record {index} is a {type(row).__name__}, not a ManifestRecord"
                )
            for field in _STRING_COLUMNS:
                if not isinstance(getattr(row, field), str):
                    raise ManifestError(
                        f"record {row.video_id!r}: field {field!r} must be a str, "
                        f"got {type(getattr(row, field)).__name__}"
                    )
        names = sorted({row.label_name for row in rows}) if class_names is None else class_names
        names = _checked_class_names(names)
        index_of = {name: i for i, name in enumerate(names)}
        columns: dict[str, pa.Array] = {
            "video_id": pa.array([r.video_id for r in rows], pa.string()),
            "uri": pa.array([r.uri for r in rows], pa.string()),
            # -1 marks an unknown class; validation reports it by name.
            "label": pa.array([index_of.get(r.label_name, -1) for r in rows], pa.int32()),
            "label_name": pa.array([r.label_name for r in rows], pa.string()),
            "split": pa.array([r.split for r in rows], pa.string()),
        }
        for name, values in (extra or {}).items():
            if name in MANIFEST_COLUMNS:
                raise ManifestError(
                    f"extra column {name!r} clashes with a manifest column; rename it"
                )
            if len(values) != len(rows):
                raise ManifestError(
                    f"extra column {name!r} has {len(values)} values for {len(rows)} records; "
                    "give one value per record, in record order"
                )
            columns[name] = values if isinstance(values, pa.Array) else pa.array(list(values))
        return cls._checked(pa.table(columns), names)

    @classmethod
    def from_table(cls, table: pa.Table) -> Manifest:
        """Validate an existing table (class names from its metadata or its label pairs)."""
        return cls._checked(table, None)

    @classmethod
    def read(cls, uri: str) -> Manifest:
        """Read a manifest; relative uris resolve against the manifest file's directory."""
        if not storage.exists(uri):
            raise ManifestError(
                f"no manifest at {uri!r}; build one with dance.datasets.build_manifest "
                "or check the path"
            )
        table = resolve_relative_uris(storage.read_parquet(uri), uri)
        try:
            return cls._checked(table, None)
        except ManifestError as error:
            raise ManifestError(f"manifest {uri!r}: {error}") from None

    @classmethod
    def _checked(cls, table: pa.Table, class_names: Sequence[str] | None) -> Manifest:
        """Construct, refusing an empty manifest (the public constructors' rule)."""
        validated, names = _validate(table, class_names, allow_empty=False)
        manifest = cls.__new__(cls)
        manifest._table, manifest._class_names = validated, names
        return manifest

    # -- output ---------------------------------------------------------------------------

    def write(self, uri: str, relative_to: str | None = None) -> None:
        """Write atomically; uris under ``relative_to`` become relative to the manifest's folder."""
        table = self._table
        if relative_to is not None:
            values = [
                _relativised(value, relative_to, uri) for value in table.column("uri").to_pylist()
            ]
            position = table.column_names.index("uri")
            table = table.set_column(position, "uri", pa.array(values, pa.string()))
        storage.write_parquet(table, uri)

    # -- views ----------------------------------------------------------------------------

    @property
    def table(self) -> pa.Table:
        """The table: the five manifest columns first, extra columns after, sorted by video_id."""
        return self._table

    @property
    def class_names(self) -> list[str]:
        """Class names; the index of a name is its label."""
        return list(self._class_names)

    @property
    def video_ids(self) -> list[str]:
        """Video ids in row order (sorted)."""
        return self._table.column("video_id").to_pylist()

    def __len__(self) -> int:
        """Number of videos."""
        return self._table.num_rows

    def __repr__(self) -> str:
        """Short description: size, classes, split counts."""
        counts = {name: len(self.split(name)) for name in SPLITS}
        return (
            f"Manifest({len(self)} videos, {len(self._class_names)} classes, "
            + ", ".join(f"{name}={count}" for name, count in counts.items())
            + ")"
        )

    def split(self, name: str) -> Manifest:
        """The rows of one split (may be empty), with the same class names."""
        if name not in SPLITS:
            raise ManifestError(f"unknown split {name!r}; use one of {', '.join(SPLITS)}")
        mask = pc.equal(self._table.column("split"), name)
        return Manifest(self._table.filter(mask), self._class_names)

    def with_validation_split(self, fraction: float = 0.1, seed: int = 0) -> Manifest:
        """Carve a val split from train, stratified per class, seeded and order-independent."""
        if not isinstance(fraction, (int, float)) or not 0 <= fraction < 1:
            raise ManifestError(f"fraction must be in [0, 1), got {fraction!r}")
        if fraction == 0:
            return self
        splits = self._table.column("split").to_pylist()
        existing = splits.count("val")
        if existing:
            raise ManifestError(
                f"the manifest already has {existing} val videos; carving another val split "
                "would mix two. Pass fraction=0 (config: dataset.val_fraction: 0) to keep the "
                "existing val split, or start from a manifest without one"
            )
        ids = self.video_ids
        labels = self._table.column("label").to_pylist()
        by_class: dict[int, list[str]] = {}
        for video_id, label, split in zip(ids, labels, splits, strict=True):
            if split == "train":
                by_class.setdefault(label, []).append(video_id)
        if not by_class:
            raise ManifestError(
                "the manifest has no train videos to carve a val split from; "
                "pass fraction=0 (config: dataset.val_fraction: 0)"
            )
        chosen = stratified_pick(by_class, fraction, seed)
        new_split = [
            "val" if video_id in chosen else split
            for video_id, split in zip(ids, splits, strict=True)
        ]
        table = self._table.set_column(
            MANIFEST_COLUMNS.index("split"), "split", pa.array(new_split, pa.string())
        )
        return Manifest(table, self._class_names)

    def summary(self) -> str:
        """Plain-text table: one row per class with train, val, test and total counts."""
        labels = np.asarray(self._table.column("label").to_numpy(zero_copy_only=False))
        splits = np.asarray(self._table.column("split").to_pylist(), dtype=object)
        num_classes = len(self._class_names)
        counts = np.zeros((num_classes, len(SPLITS)), dtype=np.int64)
        for column, name in enumerate(SPLITS):
            counts[:, column] = np.bincount(labels[splits == name], minlength=num_classes)
        width = max([len("class"), len("total")] + [len(n) for n in self._class_names])
        header = f"{'class':<{width}}" + "".join(f"  {h:>7}" for h in (*SPLITS, "total"))
        lines = [header, "-" * len(header)]
        for name, row in zip(self._class_names, counts, strict=True):
            lines.append(
                f"{name:<{width}}" + "".join(f"  {v:>7}" for v in (*row, row.sum()))
            )
        lines.append("-" * len(header))
        totals = counts.sum(axis=0)
        lines.append(
            f"{'total':<{width}}" + "".join(f"  {v:>7}" for v in (*totals, totals.sum()))
        )
        return "\n".join(lines)


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


def stratified_pick(
    ids_by_class: Mapping[object, Sequence[str]], fraction: float, seed: int
) -> set[str]:
    """Pick round(fraction * n) ids per class (>= 1 when n >= 2, always leaving one), seeded.

    Selection ranks ids by a hash of (seed, video_id), so it does not depend on input order,
    and adding videos to one class never changes the pick of another.
    """
    chosen: set[str] = set()
    for ids in ids_by_class.values():
        n = len(ids)
        count = math.floor(fraction * n + 0.5)
        if n >= 2 and fraction > 0:
            count = max(count, 1)
        count = min(count, n - 1) if n else 0
        ranked = sorted(ids, key=lambda video_id: _rank_key(seed, video_id))
        chosen.update(ranked[:count])
    return chosen


def _rank_key(seed: int, video_id: str) -> bytes:
    """A seeded pseudo-random but stable sort key for one video id."""
    return hashlib.sha256(f"{seed}\x00{video_id}".encode()).digest()


# -- validation -----------------------------------------------------------------------------


def _checked_class_names(class_names: Sequence[str]) -> list[str]:
    """Class names as a list of unique non-empty strings."""
    names = list(class_names)
    if not names:
        raise ManifestError("class_names is empty; give at least one class")
    bad = [name for name in names if not isinstance(name, str) or not name]
    if bad:
        raise ManifestError(f"class names must be non-empty strings; got {_listing(bad)}")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ManifestError(f"class_names has duplicates: {_listing(duplicates)}")
    return names


def _validate(
    table: pa.Table, class_names: Sequence[str] | None, allow_empty: bool
) -> tuple[pa.Table, list[str]]:
    """Check a manifest table; return it typed, ordered, sorted, with class names in metadata."""
    if not isinstance(table, pa.Table):
        raise ManifestError(f"expected a pyarrow Table, got {type(table).__name__}")
    missing = [column for column in MANIFEST_COLUMNS if column not in table.column_names]
    if missing:
        raise ManifestError(
            f"missing column(s) {', '.join(missing)}; a manifest needs "
            f"{', '.join(MANIFEST_COLUMNS)} (has: {', '.join(table.column_names) or 'none'})"
        )
    duplicated_columns = sorted({c for c in table.column_names if table.column_names.count(c) > 1})
    if duplicated_columns:
        raise ManifestError(f"duplicate column names: {', '.join(duplicated_columns)}")
    table = _typed(table)
    if table.num_rows == 0 and not allow_empty:
        raise ManifestError("the manifest has no rows; check the dataset root or the filter")
    ids = table.column("video_id").to_pylist()
    for column in MANIFEST_COLUMNS:
        nulls = table.column(column).null_count
        if nulls:
            where = [
                ids[i] if ids[i] is not None else f"row {i}"
                for i, v in enumerate(table.column(column).to_pylist())
                if v is None
            ]
            raise ManifestError(f"column {column!r} has {nulls} null value(s): {_listing(where)}")
    empty_ids = [i for i, video_id in enumerate(ids) if not video_id]
    if empty_ids:
        raise ManifestError(f"empty video_id at row(s) {_listing(empty_ids)}")
    seen: set[str] = set()
    duplicates = sorted({video_id for video_id in ids if video_id in seen or seen.add(video_id)})
    if duplicates:
        raise ManifestError(
            f"video_id must be unique; duplicated: {_listing(duplicates)}. "
            "Make ids unique (e.g. prefix the class or split folder)"
        )
    splits = table.column("split").to_pylist()
    bad_splits = [f"{v}: {s}" for v, s in zip(ids, splits, strict=True) if s not in SPLITS]
    if bad_splits:
        raise ManifestError(
            f"split must be one of {', '.join(SPLITS)}; got {_listing(bad_splits)}"
        )
    label_names = table.column("label_name").to_pylist()
    labels = table.column("label").to_pylist()
    if class_names is None:
        class_names = _class_names_from(table, ids, labels, label_names)
    names = _checked_class_names(class_names)
    index_of = {name: i for i, name in enumerate(names)}
    unknown = sorted({name for name in label_names if name not in index_of})
    if unknown:
        raise ManifestError(
            f"label_name(s) not among the {len(names)} class names: {_listing(unknown)}; "
            "add them to class_names or fix the rows"
        )
    mismatched = [
        f"{video_id}: label {label} but label_name {name!r} is class {index_of[name]}"
        for video_id, label, name in zip(ids, labels, label_names, strict=True)
        if label != index_of[name]
    ]
    if mismatched:
        raise ManifestError(
            f"label and label_name disagree: {_listing(mismatched, 5)}; "
            "label must be the index of label_name in the class names"
        )
    order = sorted(range(len(ids)), key=ids.__getitem__)
    if order != list(range(len(ids))):
        table = table.take(pa.array(order, pa.int64()))
    extras = [c for c in table.column_names if c not in MANIFEST_COLUMNS]
    table = table.select([*MANIFEST_COLUMNS, *extras])
    metadata = dict(table.schema.metadata or {})
    metadata[_CLASS_NAMES_KEY] = json.dumps(names).encode()
    return table.replace_schema_metadata(metadata), names


def _typed(table: pa.Table) -> pa.Table:
    """Cast the manifest columns to string / int32, refusing lossy or surprising types."""
    for column in MANIFEST_COLUMNS:
        values = table.column(column)
        if column == "label":
            if not pa.types.is_integer(values.type):
                raise ManifestError(
                    f"column 'label' must hold integers, got {values.type}; "
                    "store class indices 0..C-1 (or drop the column and let names define labels)"
                )
            target = pa.int32()
        else:
            is_text = pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
            # An empty CSV column may come back typed null; it casts to string losslessly.
            if not is_text and not pa.types.is_null(values.type):
                raise ManifestError(
                    f"column {column!r} must hold strings, got {values.type}; "
                    "write it as text (e.g. zero-padded ids as '0001')"
                )
            target = pa.string()
        if values.type != target:
            try:
                values = values.cast(target)
            except pa.ArrowInvalid as error:
                raise ManifestError(f"column {column!r} does not fit {target}: {error}") from None
            table = table.set_column(table.column_names.index(column), column, values)
    return table


def _class_names_from(
    table: pa.Table, ids: list[str], labels: list[int], label_names: list[str]
) -> list[str]:
    """Class names from the table metadata, else from consistent (label, label_name) pairs."""
    stored = (table.schema.metadata or {}).get(_CLASS_NAMES_KEY)
    if stored is not None:
        try:
            names = json.loads(stored)
        except json.JSONDecodeError:
            raise ManifestError(
                "the table's dance.class_names metadata is not JSON; drop it or rewrite it"
            ) from None
        if not isinstance(names, list):
            raise ManifestError("the table's dance.class_names metadata must be a JSON list")
        return names
    name_of: dict[int, str] = {}
    conflicts: list[str] = []
    for video_id, label, name in zip(ids, labels, label_names, strict=True):
        if name_of.setdefault(label, name) != name:
            conflicts.append(f"{video_id}: label {label} is {name_of[label]!r} elsewhere")
    if conflicts:
        raise ManifestError(
            f"label and label_name disagree: {_listing(conflicts, 5)}; one label per class name"
        )
    if not name_of:
        raise ManifestError("cannot infer class names from an empty table; pass class_names")
    owners: dict[str, list[int]] = {}
    for label, name in name_of.items():
        owners.setdefault(name, []).append(label)
    shared = [f"{name!r}: labels {sorted(ls)}" for name, ls in owners.items() if len(ls) > 1]
    if shared:
        raise ManifestError(f"one class name has several labels: {_listing(shared, 5)}")
    num_classes = max(name_of) + 1
    gaps = [label for label in range(num_classes) if label not in name_of]
    if min(name_of) < 0 or gaps:
        raise ManifestError(
            f"labels must be 0..C-1 without gaps to infer class names; "
            f"missing label(s) {_listing(gaps) if gaps else 'below 0'}. "
            "Relabel the classes, or build the manifest with Manifest.from_records(class_names=...)"
        )
    return [name_of[label] for label in range(num_classes)]


# -- uri paths ------------------------------------------------------------------------------

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


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


def _relativised(value: str, relative_to: str, manifest_uri: str) -> str:
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
