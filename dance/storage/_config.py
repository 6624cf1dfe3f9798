"""The process-wide storage configuration and how S3 settings resolve from it."""

from __future__ import annotations

import os
import threading
from typing import NamedTuple
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dance.storage._errors import StorageError

DEFAULT_REGION = "us-east-1"
# The AWS SDKs' own precedence: the service-specific variable wins.
ENDPOINT_ENV_VARS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
REGION_ENV_VARS = ("AWS_REGION", "AWS_DEFAULT_REGION")


class StorageConfig(BaseModel):
    """Where S3 lives and how patiently to talk to it.

    Defaults: `s3_endpoint` None -> $AWS_ENDPOINT_URL_S3 / $AWS_ENDPOINT_URL, else AWS's
    own endpoint; `s3_region` None -> $AWS_REGION / $AWS_DEFAULT_REGION, else "us-east-1";
    `connect_timeout_s` 5.0; `request_timeout_s` 20.0; `max_attempts` 3 (tries per S3
    request, counting the first, for transient errors). Credentials always come from the
    standard AWS chain (environment variables, profile), never from this object.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    s3_endpoint: str | None = Field(
        default=None, description='S3 endpoint URL, e.g. "http://127.0.0.1:9000".'
    )
    s3_region: str | None = Field(default=None, min_length=1, description="S3 region.")
    connect_timeout_s: float = Field(default=5.0, gt=0, description="TCP connect timeout.")
    request_timeout_s: float = Field(default=20.0, gt=0, description="Per-request timeout.")
    max_attempts: int = Field(default=3, ge=1, description="Tries per S3 request.")

    @field_validator("s3_endpoint")
    @classmethod
    def _endpoint_is_http_url(cls, value: str | None) -> str | None:
        """Accept only http(s)://host[:port] so the scheme is never guessed."""
        if value is not None:
            try:
                split_endpoint(value, source="storage.s3_endpoint")
            except StorageError as exc:  # pydantic reports only ValueError as a field error
                raise ValueError(str(exc)) from None
        return value

    @field_validator("s3_region")
    @classmethod
    def _region_has_no_spaces(cls, value: str | None) -> str | None:
        """Reject regions with whitespace, a common copy-paste error."""
        if value is not None and (value != value.strip() or " " in value):
            raise ValueError(f"storage.s3_region {value!r} contains spaces; e.g. 'us-east-1'")
        return value


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
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise StorageError(
            f"{source} {url!r} is not an S3 endpoint URL; write it as "
            "'http://HOST:PORT' or 'https://HOST' (scheme required, no path)"
        )
    return parts.scheme, parts.netloc


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
