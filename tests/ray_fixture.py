"""One local Ray instance and one tiny DANCE-Synth dataset per test session (preprocess tests).

Import the fixtures into a test module (`from ray_fixture import ray_session, tiny_synth`);
ray.init costs seconds, so every Ray test of the session shares one 2-CPU instance.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


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
    from dance.synth import generate_dataset
    from dance.synth.config import SynthConfig

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
