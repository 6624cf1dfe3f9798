"""A user's own table (CSV or Parquet) of videos: video_id, uri, label_name [, label, split].

Relative uris resolve against the table's folder, as for a manifest. Without a ``label``
column, labels index the sorted label names; with one, it must agree with ``label_name``
(labels 0..C-1). Without a ``split`` column the caller names the split of every row; with one,
a given ``split`` keeps only those rows. Other columns are kept after the manifest columns.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from dance import storage
from dance.manifest import SPLITS, Manifest, ManifestError, resolve_relative_uris

_REQUIRED = ("video_id", "uri", "label_name")
_CSV_SUFFIXES = (".csv", ".tsv")
_PARQUET_SUFFIXES = (".parquet", ".pq")


def table_manifest(uri: str, split: str | None = None) -> Manifest:
    """A manifest from a CSV/Parquet table; ``split`` fills or filters the split column."""
    if split is not None and split not in SPLITS:
        raise ManifestError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    table = _read(uri)
    absent = [name for name in _REQUIRED if name not in table.column_names]
    if absent:
        raise ManifestError(
            f"table {uri!r} lacks column(s) {', '.join(absent)}; it needs video_id, uri and "
            f"label_name (label and split optional); it has {', '.join(table.column_names)}"
        )
    if "split" not in table.column_names:
        if split is None:
            raise ManifestError(
                f"table {uri!r} has no split column; add one (values {', '.join(SPLITS)}) or "
                "pass split='train' (or 'val', 'test') for all its rows"
            )
        table = table.append_column("split", pa.array([split] * table.num_rows, pa.string()))
    elif split is not None:
        table = table.filter(pc.equal(table.column("split").cast(pa.string()), split))
        if table.num_rows == 0:
            raise ManifestError(f"table {uri!r} has no rows with split {split!r}")
    if "label" not in table.column_names:
        names = table.column("label_name")
        if names.null_count == 0 and pa.types.is_string(names.type):
            class_names = sorted(set(names.to_pylist()))
            index_of = {name: i for i, name in enumerate(class_names)}
            labels = [index_of[name] for name in names.to_pylist()]
        else:
            labels = [0] * table.num_rows  # validation names the bad label_name values
        table = table.append_column("label", pa.array(labels, pa.int32()))
    table = resolve_relative_uris(table, uri)
    try:
        return Manifest.from_table(table)
    except ManifestError as error:
        raise ManifestError(f"table {uri!r}: {error}") from None


def _read(uri: str) -> pa.Table:
    """Read the table through dance.storage; the suffix picks CSV or Parquet."""
    lowered = uri.lower()
    if not lowered.endswith(_CSV_SUFFIXES + _PARQUET_SUFFIXES):
        raise ManifestError(
            f"table {uri!r}: unknown format; name it .csv, .tsv or .parquet"
        )
    if not storage.exists(uri):
        raise ManifestError(f"table not found at {uri!r}")
    if lowered.endswith(_PARQUET_SUFFIXES):
        return storage.read_parquet(uri)
    text_columns = {name: pa.string() for name in (*_REQUIRED, "split")}
    try:
        return pacsv.read_csv(
            io.BytesIO(storage.read_bytes(uri)),
            parse_options=pacsv.ParseOptions(delimiter="\t" if lowered.endswith(".tsv") else ","),
            convert_options=pacsv.ConvertOptions(
                column_types=text_columns, strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid as error:
        raise ManifestError(f"table {uri!r} is not readable CSV: {error}") from None
