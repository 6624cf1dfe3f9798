"""Every read and write in dance: local paths, file:// URIs and s3://bucket/key URIs.

Built on pyarrow.fs. Writes are atomic (whole or nothing); S3 settings come from
`configure(dance.config.StorageConfig(...))`, then the AWS environment variables;
credentials always come from the standard AWS chain.
"""

from dance.storage._atomic import atomic_writer, is_temp_name, write_bytes
from dance.storage._conditional import (
    create_if_absent,
    delete_if_match,
    read_versioned,
    replace_if_match,
)
from dance.storage._config import configure, current_config
from dance.storage._errors import ObjectNotFoundError, StorageError, StorageUnreachableError
from dance.storage._filesystems import filesystem_for
from dance.storage._json import read_json, write_json
from dance.storage._local_copy import CACHE_ENV, SUPERSEDED_GRACE_S, cache_root, local_copy
from dance.storage._objects import exists, list_files, makedirs, open_input, read_bytes, remove
from dance.storage._parquet import read_parquet, write_parquet
from dance.storage._uri import is_s3, join, parent

__all__ = [
    "CACHE_ENV",
    "SUPERSEDED_GRACE_S",
    "ObjectNotFoundError",
    "StorageError",
    "StorageUnreachableError",
    "atomic_writer",
    "cache_root",
    "configure",
    "create_if_absent",
    "current_config",
    "delete_if_match",
    "exists",
    "filesystem_for",
    "is_s3",
    "is_temp_name",
    "join",
    "list_files",
    "local_copy",
    "makedirs",
    "open_input",
    "parent",
    "read_bytes",
    "read_json",
    "read_parquet",
    "read_versioned",
    "remove",
    "replace_if_match",
    "write_bytes",
    "write_json",
    "write_parquet",
]
