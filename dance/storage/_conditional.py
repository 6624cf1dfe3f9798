"""Compare-and-swap on one small object: create if absent, replace or delete if unchanged.

What a lease lock needs and pyarrow.fs does not offer. Every object read here comes back
with a version tag; a conditional write succeeds only if the object still has that tag,
so of two writers racing on the same version exactly one wins.

S3: the object's ETag with S3's conditional requests (If-None-Match: * to create,
If-Match to replace or delete), through boto3 with the same endpoint and region as the
rest of dance.storage (credentials from the standard AWS chain). Local: the sha256 of
the content, with the check and the write done under an exclusive `fcntl.flock` on a
sidecar file, which the kernel releases if the process dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from typing import Any

from dance.storage._atomic import write_bytes
from dance.storage._config import current_config, resolve_s3_settings
from dance.storage._errors import StorageError, StorageUnreachableError
from dance.storage._uri import Location, parse

# S3 answers 412 when a condition fails, and 409 when another conditional write to the
# same key is in flight; both mean "someone else changed it".
_LOST_RACE = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


def _local_tag(data: bytes) -> str:
    """The version tag of local content."""
    return hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def _local_guard(path: str) -> Iterator[None]:
    """Hold an exclusive flock on `<path>.guard` (created beside the object) for the body."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(f"{path}.guard", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _local_read(path: str) -> tuple[bytes, str] | None:
    """(content, tag) of a local file, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    return data, _local_tag(data)


def _local_unchanged(path: str, tag: str) -> bool:
    """True when the local file exists and still has version `tag` (call under the guard)."""
    current = _local_read(path)
    return current is not None and current[1] == tag


def _s3_client() -> Any:
    """A boto3 S3 client on the endpoint and region dance.storage uses."""
    import boto3
    from botocore.config import Config

    settings = resolve_s3_settings(current_config())
    endpoint = (
        f"{settings.scheme}://{settings.endpoint_override}" if settings.endpoint_override else None
    )
    config = Config(
        connect_timeout=settings.connect_timeout_s,
        read_timeout=settings.request_timeout_s,
        retries={"max_attempts": settings.max_attempts, "mode": "standard"},
    )
    return boto3.client("s3", region_name=settings.region, endpoint_url=endpoint, config=config)


@contextlib.contextmanager
def _s3_errors(uri: str, action: str) -> Iterator[None]:
    """Turn botocore failures into StorageError naming `uri` (lost races are handled by callers)."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    try:
        yield
    except EndpointConnectionError as exc:
        endpoint = resolve_s3_settings(current_config()).describe_endpoint()
        raise StorageUnreachableError(
            f"cannot {action} {uri}: S3 endpoint {endpoint} is unreachable ({exc}); check the "
            "`storage.s3_endpoint` setting or AWS_ENDPOINT_URL, and the network"
        ) from exc
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise StorageError(f"cannot {action} {uri}: S3 answered {code or exc}") from exc
    except BotoCoreError as exc:
        raise StorageError(f"cannot {action} {uri}: {exc}") from exc


def _lost_race(exc: Exception) -> bool:
    """True when a botocore ClientError says a condition failed."""
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return code in _LOST_RACE or status in _LOST_RACE


def _s3_location(uri: str) -> Location:
    """The parsed S3 location, which must name an object."""
    location = parse(uri)
    if not location.key:
        raise StorageError(f"cannot use {uri}: it names a bucket, not an object; add a key")
    return location


def read_versioned(uri: str) -> tuple[bytes, str] | None:
    """(content, version tag) of the object at `uri`, or None when there is none."""
    location = parse(uri)
    if location.kind == "local":
        return _local_read(location.path)
    location = _s3_location(uri)
    from botocore.exceptions import ClientError

    client = _s3_client()
    try:
        with _s3_errors(uri, "read"):
            try:
                answer = client.get_object(Bucket=location.bucket, Key=location.key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                    return None
                raise
            return answer["Body"].read(), answer["ETag"]
    finally:
        client.close()


def create_if_absent(uri: str, data: bytes) -> str | None:
    """Write `data` at `uri` only if nothing is there; its version tag, or None if taken."""
    location = parse(uri)
    if location.kind == "local":
        with _local_guard(location.path):
            if os.path.exists(location.path):
                return None
            write_bytes(uri, data)
            return _local_tag(data)
    return _s3_put(uri, data, IfNoneMatch="*")


def replace_if_match(uri: str, data: bytes, tag: str) -> str | None:
    """Replace the object at `uri` if its version is still `tag`; the new tag, or None."""
    location = parse(uri)
    if location.kind == "local":
        with _local_guard(location.path):
            if not _local_unchanged(location.path, tag):
                return None
            write_bytes(uri, data)
            return _local_tag(data)
    return _s3_put(uri, data, IfMatch=tag)


def delete_if_match(uri: str, tag: str) -> bool:
    """Delete the object at `uri` if its version is still `tag`; True if it was deleted."""
    location = parse(uri)
    if location.kind == "local":
        with _local_guard(location.path):
            if not _local_unchanged(location.path, tag):
                return False
            os.remove(location.path)
            return True
    location = _s3_location(uri)
    from botocore.exceptions import ClientError

    client = _s3_client()
    try:
        with _s3_errors(uri, "delete"):
            try:
                client.delete_object(Bucket=location.bucket, Key=location.key, IfMatch=tag)
            except ClientError as exc:
                if _lost_race(exc) or exc.response.get("Error", {}).get("Code") == "NoSuchKey":
                    return False
                raise
        return True
    finally:
        client.close()


def _s3_put(uri: str, data: bytes, **condition: str) -> str | None:
    """A conditional PutObject; the new ETag, or None when the condition failed."""
    location = _s3_location(uri)
    from botocore.exceptions import ClientError

    client = _s3_client()
    try:
        with _s3_errors(uri, "write"):
            try:
                answer = client.put_object(
                    Bucket=location.bucket, Key=location.key, Body=data, **condition
                )
            except ClientError as exc:
                if _lost_race(exc):
                    return None
                raise
        return str(answer["ETag"])
    finally:
        client.close()
