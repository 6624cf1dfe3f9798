"""Parquet tables in and out: one file, or a directory/prefix of *.parquet parts."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from dance.storage._atomic import atomic_writer
from dance.storage._errors import ObjectNotFoundError, StorageError, translated_errors
from dance.storage._filesystems import resolve
from dance.storage._objects import list_paths
from dance.storage._uri import to_uri


def read_parquet(uri: str, columns: list[str] | None = None) -> pa.Table:
    """Read a Parquet file, or every *.parquet part under a directory (sorted by name)."""
    if columns is not None and (
        isinstance(columns, str) or not all(isinstance(c, str) for c in columns)
    ):
        raise TypeError(f"columns must be a list of column names, got {columns!r}")
    resolved = resolve(uri)
    fs, location, endpoint = resolved
    with translated_errors(uri, "read", endpoint):
        kind = fs.get_file_info(location.path).type
    if kind == pafs.FileType.NotFound:
        raise ObjectNotFoundError(f"cannot read Parquet {uri}: it does not exist; check the path")
    parts = [location.path] if kind == pafs.FileType.File else list_paths(resolved, ".parquet")
    if not parts:
        raise ObjectNotFoundError(
            f"cannot read Parquet {uri}: the directory holds no *.parquet files; check the path"
        )
    tables = [_read_part(fs, part, to_uri(location, part), columns, endpoint) for part in parts]
    if len(tables) == 1:
        return tables[0]
    try:
        # "default" lets an all-null column in one part take the type of the others.
        return pa.concat_tables(tables, promote_options="default")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise StorageError(
            f"cannot read Parquet {uri}: its parts have incompatible schemas ({exc}); "
            "rewrite the odd part or read the parts one by one"
        ) from exc


def _read_part(
    fs: pafs.FileSystem,
    path: str,
    uri: str,
    columns: list[str] | None,
    endpoint: str | None,
) -> pa.Table:
    """Read one Parquet file, checking that the requested columns exist."""
    with translated_errors(uri, "read", endpoint), fs.open_input_file(path) as handle:
        try:
            parquet_file = pq.ParquetFile(handle)
        except pa.ArrowInvalid as exc:
            raise StorageError(
                f"cannot read {uri}: not a valid Parquet file ({exc}); rewrite or remove it"
            ) from exc
        if columns is not None:
            names = parquet_file.schema_arrow.names
            # pyarrow silently drops unknown column names; a typo must fail loudly.
            missing = [c for c in columns if c not in names]
            if missing:
                raise StorageError(
                    f"cannot read columns {missing} from {uri}: no such columns; it has {names}"
                )
        return parquet_file.read(columns=list(columns) if columns is not None else None)


def write_parquet(table: pa.Table, uri: str) -> None:
    """Write `table` to `uri` as one Parquet file, atomically."""
    if not isinstance(table, pa.Table):
        raise TypeError(
            f"write_parquet({uri!r}) needs a pyarrow.Table, got {type(table).__name__}; "
            "build one with pyarrow.table({...}) or pyarrow.Table.from_pylist(rows)"
        )
    with atomic_writer(uri) as handle:
        pq.write_table(table, handle)
