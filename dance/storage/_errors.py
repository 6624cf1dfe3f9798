"""Storage exceptions and the translation of pyarrow/OS errors into them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from dance.errors import DanceError


class StorageError(DanceError, RuntimeError):
    """A storage operation failed; the message names the URI and the fix."""


class ObjectNotFoundError(StorageError, FileNotFoundError):
    """The file or object at a URI does not exist."""


class StorageUnreachableError(StorageError):
    """The S3 endpoint cannot be reached (connection refused, DNS failure, timeout)."""


# pyarrow reports every S3 failure as OSError; the AWS SDK error name is in the text.
_NETWORK_MARKERS = re.compile(r"NETWORK_CONNECTION|curlCode: ?(6|7|28|35|52|56)\b")
_NO_BUCKET_MARKER = "NO_SUCH_BUCKET"
_ACCESS_MARKERS = re.compile(r"ACCESS_DENIED|INVALID_ACCESS_KEY_ID|SIGNATURE_DOES_NOT_MATCH")


@contextmanager
def translated_errors(uri: str, action: str, endpoint: str | None = None) -> Iterator[None]:
    """Re-raise OSErrors from the body as StorageError subclasses naming `uri`.

    `endpoint` describes the S3 endpoint in use (None for local paths); it goes into
    the messages for unreachable endpoints, missing buckets and refused credentials.
    """
    try:
        yield
    except StorageError:
        raise
    except FileNotFoundError as exc:
        raise ObjectNotFoundError(
            f"cannot {action} {uri}: it does not exist; check the path"
            + (f" and the bucket at {endpoint}" if endpoint else "")
        ) from exc
    except OSError as exc:
        raise _classify(exc, uri, action, endpoint) from exc


def _classify(exc: OSError, uri: str, action: str, endpoint: str | None) -> StorageError:
    """Pick the StorageError subclass and message for an OSError."""
    text = str(exc)
    if endpoint is not None and _NETWORK_MARKERS.search(text):
        return StorageUnreachableError(
            f"cannot {action} {uri}: S3 endpoint {endpoint} is unreachable ({text}); check "
            "the `storage.s3_endpoint` setting or AWS_ENDPOINT_URL, and the network"
        )
    if endpoint is not None and _NO_BUCKET_MARKER in text:
        return StorageError(
            f"cannot {action} {uri}: its bucket does not exist at {endpoint}; create the "
            "bucket first (dance never creates buckets) or fix the URI"
        )
    if endpoint is not None and _ACCESS_MARKERS.search(text):
        return StorageError(
            f"cannot {action} {uri}: access denied at {endpoint} ({text}); check the AWS "
            "credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)"
        )
    if isinstance(exc, PermissionError):
        return StorageError(f"cannot {action} {uri}: permission denied; check its permissions")
    if isinstance(exc, IsADirectoryError) or "is a directory" in text:
        return StorageError(f"cannot {action} {uri}: it is a directory; pass a file URI")
    return StorageError(f"cannot {action} {uri}: {text}")
