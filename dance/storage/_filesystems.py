"""pyarrow filesystems for URIs: one LocalFileSystem, one cached S3FileSystem per setting."""

from __future__ import annotations

import threading
from typing import NamedTuple

import pyarrow.fs as pafs

from dance.storage._config import S3Settings, current_config, resolve_s3_settings
from dance.storage._uri import Location, parse

_LOCAL = pafs.LocalFileSystem()
_s3_cache: dict[S3Settings, pafs.S3FileSystem] = {}
_s3_lock = threading.Lock()


class Resolved(NamedTuple):
    """The filesystem serving a URI, its parsed location, and its endpoint for messages."""

    fs: pafs.FileSystem
    location: Location
    endpoint: str | None  # None for local paths


def _s3_filesystem(settings: S3Settings) -> pafs.S3FileSystem:
    """The cached S3FileSystem for `settings`; building one costs SDK set-up."""
    with _s3_lock:
        fs = _s3_cache.get(settings)
        if fs is None:
            # Credentials are left to the standard AWS chain: nothing secret is held here,
            # so pickling the filesystem for Ray workers ships no keys.
            fs = pafs.S3FileSystem(
                region=settings.region,
                endpoint_override=settings.endpoint_override,
                scheme=settings.scheme,
                connect_timeout=settings.connect_timeout_s,
                request_timeout=settings.request_timeout_s,
                retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=settings.max_attempts),
            )
            _s3_cache[settings] = fs
        return fs


def resolve(uri: str) -> Resolved:
    """Parse `uri` and pick its filesystem under the current configuration."""
    location = parse(uri)
    if location.kind == "local":
        return Resolved(_LOCAL, location, None)
    settings = resolve_s3_settings(current_config())
    return Resolved(_s3_filesystem(settings), location, settings.describe_endpoint())


def filesystem_for(uri: str) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem for `uri` and the path inside it (S3: "bucket/key")."""
    resolved = resolve(uri)
    return resolved.fs, resolved.location.path
