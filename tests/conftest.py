"""Shared pytest fixtures: the shared real-data folder and temporary work dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path:
    """Where ../shared/data lives: $DANCE_SHARED_DATA, else beside the clone."""
    override = os.environ.get("DANCE_SHARED_DATA")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real test videos and images; skips the test where it is absent."""
    path = _shared_data_dir()
    if not path.is_dir():
        pytest.skip(
            f"real test media not found at {path} (a user's clone has no ../shared/data; "
            "set DANCE_SHARED_DATA to a folder holding acrobacia.mp4, vtest.avi, messi5.jpg)"
        )
    return path


# ---------------------------------------------------------------------------
# S3 server fixture (storage layer): a real moto S3 server on 127.0.0.1.
# ---------------------------------------------------------------------------

from collections.abc import Iterator

_FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # Never probe the EC2 metadata service or a user's real profile from tests.
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server for the session, with fake AWS credentials in env."""
    pytest.importorskip(
        "moto.server", reason="moto[server] is not installed; pip install 'moto[server]'"
    )
    from s3_server import running_moto_server  # tests/ is on sys.path via this conftest

    with pytest.MonkeyPatch.context() as patch:
        for name, value in _FAKE_AWS_ENV.items():
            patch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            patch.delenv(name, raising=False)
        with running_moto_server() as endpoint:
            yield endpoint


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> Iterator[str]:
    """A fresh, empty bucket as "s3://name"; dance.storage points at the server meanwhile."""
    import uuid

    import boto3

    from dance import storage

    name = f"test-{uuid.uuid4().hex[:16]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=name
    )
    previous = storage.current_config()
    storage.configure(storage.StorageConfig(s3_endpoint=s3_endpoint, s3_region="us-east-1"))
    try:
        yield f"s3://{name}"
    finally:
        storage.configure(previous)
