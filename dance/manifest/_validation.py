"""Manifest validation: the column types, ids, splits and label space every manifest must have."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pyarrow as pa

from dance.manifest._errors import ManifestError, listing
from dance.manifest._schema import CLASS_NAMES_KEY, MANIFEST_COLUMNS, SPLITS


def checked_class_names(class_names: Sequence[str]) -> list[str]:
    """Class names as a list of unique non-empty strings."""
    names = list(class_names)
    if not names:
        raise ManifestError("class_names is empty; give at least one class")
    bad = [name for name in names if not isinstance(name, str) or not name]
    if bad:
        raise ManifestError(f"class names must be non-empty strings; got {listing(bad)}")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ManifestError(f"class_names has duplicates: {listing(duplicates)}")
    return names


def validate_table(
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
            raise ManifestError(f"column {column!r} has {nulls} null value(s): {listing(where)}")
    empty_ids = [i for i, video_id in enumerate(ids) if not video_id]
    if empty_ids:
        raise ManifestError(f"empty video_id at row(s) {listing(empty_ids)}")
    seen: set[str] = set()
    duplicates = sorted({video_id for video_id in ids if video_id in seen or seen.add(video_id)})
    if duplicates:
        raise ManifestError(
            f"video_id must be unique; duplicated: {listing(duplicates)}. "
            "Make ids unique (e.g. prefix the class or split folder)"
        )
    splits = table.column("split").to_pylist()
    bad_splits = [f"{v}: {s}" for v, s in zip(ids, splits, strict=True) if s not in SPLITS]
    if bad_splits:
        raise ManifestError(
            f"split must be one of {', '.join(SPLITS)}; got {listing(bad_splits)}"
        )
    label_names = table.column("label_name").to_pylist()
    labels = table.column("label").to_pylist()
    if class_names is None:
        class_names = _class_names_from(table, ids, labels, label_names)
    names = checked_class_names(class_names)
    index_of = {name: i for i, name in enumerate(names)}
    unknown = sorted({name for name in label_names if name not in index_of})
    if unknown:
        raise ManifestError(
            f"label_name(s) not among the {len(names)} class names: {listing(unknown)}; "
            "add them to class_names or fix the rows"
        )
    mismatched = [
        f"{video_id}: label {label} but label_name {name!r} is class {index_of[name]}"
        for video_id, label, name in zip(ids, labels, label_names, strict=True)
        if label != index_of[name]
    ]
    if mismatched:
        raise ManifestError(
            f"label and label_name disagree: {listing(mismatched, 5)}; "
            "label must be the index of label_name in the class names"
        )
    order = sorted(range(len(ids)), key=ids.__getitem__)
    if order != list(range(len(ids))):
        table = table.take(pa.array(order, pa.int64()))
    extras = [c for c in table.column_names if c not in MANIFEST_COLUMNS]
    table = table.select([*MANIFEST_COLUMNS, *extras])
    metadata = dict(table.schema.metadata or {})
    metadata[CLASS_NAMES_KEY] = json.dumps(names).encode()
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
    stored = (table.schema.metadata or {}).get(CLASS_NAMES_KEY)
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
            f"label and label_name disagree: {listing(conflicts, 5)}; one label per class name"
        )
    if not name_of:
        raise ManifestError("cannot infer class names from an empty table; pass class_names")
    owners: dict[str, list[int]] = {}
    for label, name in name_of.items():
        owners.setdefault(name, []).append(label)
    shared = [f"{name!r}: labels {sorted(ls)}" for name, ls in owners.items() if len(ls) > 1]
    if shared:
        raise ManifestError(f"one class name has several labels: {listing(shared, 5)}")
    num_classes = max(name_of) + 1
    gaps = [label for label in range(num_classes) if label not in name_of]
    if min(name_of) < 0 or gaps:
        raise ManifestError(
            f"labels must be 0..C-1 without gaps to infer class names; "
            f"missing label(s) {listing(gaps) if gaps else 'below 0'}. "
            "Relabel the classes, or build the manifest with Manifest.from_records(class_names=...)"
        )
    return [name_of[label] for label in range(num_classes)]
