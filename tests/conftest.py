"""Shared pytest fixtures: the shared real-data folder and temporary work dirs."""

from __future__ import annotations

import os
from collections.abc import Iterator
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
    from dance.config import StorageConfig

    name = f"test-{uuid.uuid4().hex[:16]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=name
    )
    previous = storage.current_config()
    storage.configure(StorageConfig(s3_endpoint=s3_endpoint, s3_region="us-east-1"))
    try:
        yield f"s3://{name}"
    finally:
        storage.configure(previous)


# --- Ray and DANCE-Synth fixtures -------------------------------------------------------
# ray.init costs seconds and DANCE-Synth tiny a few more: every test of a session shares
# one 2-CPU Ray instance and one rendered tiny dataset.


@pytest.fixture(scope="session")
def ray_session() -> Iterator[str]:
    """A local 2-CPU Ray instance for the session; yields its GCS address."""
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        yield ray.get_runtime_context().gcs_address
        return
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        namespace="dance-tests",
        log_to_driver=False,
        configure_logging=False,
        # Workers of this instance talk to the tests' moto S3 server, which takes any
        # credentials; production jobs never ship credentials to workers.
        runtime_env={
            "env_vars": {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_EC2_METADATA_DISABLED": "true",
            }
        },
    )
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DANCE-Synth `tiny` (4 classes x 4 videos of 32 frames), rendered once per session."""
    from dance.config import SynthConfig
    from dance.synth import generate_dataset

    root = tmp_path_factory.mktemp("tiny_synth")
    generate_dataset(SynthConfig.preset_config("tiny", workers=1), str(root))
    return root


@pytest.fixture(scope="session")
def tiny_encoders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A tiny random VideoMAE and X-CLIP saved like hub checkpoints."""
    from dance.encoders import build_tiny_videomae, build_tiny_xclip

    root = tmp_path_factory.mktemp("tiny_encoders")
    return {
        "backbone": build_tiny_videomae(str(root / "videomae")),
        "dual": build_tiny_xclip(str(root / "xclip")),
    }


@pytest.fixture(scope="session")
def tiny_trained(ray_session, tiny_synth, tiny_encoders, tmp_path_factory):
    """DANCE-Synth tiny trained and evaluated (tests/trained_helpers.py), once per session."""
    from trained_helpers import train_tiny_workdir

    return train_tiny_workdir(tmp_path_factory.mktemp("tiny_trained"), tiny_synth, tiny_encoders)
