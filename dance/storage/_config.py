"""The process-wide storage configuration and how S3 settings resolve from it."""

from __future__ import annotations

import os
import threading
from typing import NamedTuple

from dance.config import StorageConfig, split_s3_endpoint
from dance.errors import InputError
from dance.storage._errors import StorageError

DEFAULT_REGION = "us-east-1"
# The AWS SDKs' own precedence: the service-specific variable wins.
ENDPOINT_ENV_VARS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
REGION_ENV_VARS = ("AWS_REGION", "AWS_DEFAULT_REGION")


class S3Settings(NamedTuple):
    """Fully resolved S3 connection settings; the key of the filesystem cache."""

    endpoint_override: str | None  # "host:port", None for AWS's own endpoint
    scheme: str
    region: str
    connect_timeout_s: float
    request_timeout_s: float
    max_attempts: int

    def describe_endpoint(self) -> str:
        """The endpoint as a URL, for error messages (never contains credentials)."""
        if self.endpoint_override is None:
            return f"https://s3.{self.region}.amazonaws.com (the AWS default)"
        return f"{self.scheme}://{self.endpoint_override}"


_lock = threading.Lock()
_config = StorageConfig()


def configure(config: StorageConfig) -> None:
    """Set the process-wide storage configuration (default: StorageConfig())."""
    global _config
    if not isinstance(config, StorageConfig):
        raise TypeError(
            f"configure() needs a StorageConfig, got {type(config).__name__}; "
            "build one with StorageConfig(s3_endpoint=...)"
        )
    with _lock:
        _config = config


def current_config() -> StorageConfig:
    """The process-wide storage configuration in effect."""
    with _lock:
        return _config


def split_endpoint(url: str, source: str) -> tuple[str, str]:
    """Split "http(s)://host[:port]" into (scheme, "host[:port]"); `source` names the input."""
    try:
        return split_s3_endpoint(url, source)
    except InputError as exc:  # an endpoint from the environment is a storage setting too
        raise StorageError(str(exc)) from None


def resolve_s3_settings(config: StorageConfig) -> S3Settings:
    """Resolve endpoint and region from the config, then the environment, then defaults."""
    endpoint_override: str | None = None
    scheme = "https"
    if config.s3_endpoint is not None:
        scheme, endpoint_override = split_endpoint(config.s3_endpoint, "storage.s3_endpoint")
    else:
        for name in ENDPOINT_ENV_VARS:
            value = os.environ.get(name, "").strip()
            if value:
                scheme, endpoint_override = split_endpoint(value, f"${name}")
                break
    region = config.s3_region
    if region is None:
        region = next(
            (os.environ[n].strip() for n in REGION_ENV_VARS if os.environ.get(n, "").strip()),
            DEFAULT_REGION,
        )
    return S3Settings(
        endpoint_override=endpoint_override,
        scheme=scheme,
        region=region,
        connect_timeout_s=config.connect_timeout_s,
        request_timeout_s=config.request_timeout_s,
        max_attempts=config.max_attempts,
    )
