"""cluster_config/: launcher YAMLs pass Ray's schema, RayJob manifests run real jobs and presets."""

from __future__ import annotations

import fnmatch
import importlib.util
import shlex
from pathlib import Path
from typing import Any

import pytest
import ray
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config
from ray.runtime_env import RuntimeEnv

from dance.config import list_presets, load_config

CLUSTER_CONFIG = Path(__file__).resolve().parent.parent / "cluster_config"
LAUNCHERS = {"aws": "aws.yaml", "gcp": "gcp.yaml"}
RAYJOBS = ["kuberay/rayjob-preprocess.yaml", "kuberay/rayjob-finetune.yaml"]
SECRET_PATTERNS = ["*SECRET*", "*TOKEN*", "*PASSWORD*", "AWS_ACCESS_KEY_ID"]


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((CLUSTER_CONFIG / name).read_text())


def _prepared(name: str) -> dict[str, Any]:
    """The launcher config as `ray up` sees it: defaults filled in, then validated."""
    config = prepare_config(_load(name))
    validate_config(config)
    return config


def _entrypoint(manifest: dict[str, Any]) -> tuple[str, str, list[str]]:
    """(module, --config value, --set overrides) of a `python -m MODULE ...` entrypoint."""
    argv = shlex.split(manifest["spec"]["entrypoint"])
    assert argv[:2] == ["python", "-m"], f"entrypoint must be `python -m MODULE`: {argv}"
    config = argv[argv.index("--config") + 1]
    overrides = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--set"]
    return argv[2], config, overrides


@pytest.mark.parametrize("provider", sorted(LAUNCHERS))
def test_launcher_config_passes_rays_schema_validation(provider: str) -> None:
    config = _prepared(LAUNCHERS[provider])
    assert config["provider"]["type"] == provider


@pytest.mark.parametrize("provider", sorted(LAUNCHERS))
def test_every_node_installs_dance_with_constraints_and_the_gpu_extra(provider: str) -> None:
    config = _prepared(LAUNCHERS[provider])
    # prepare_config merges the common setup_commands into each role's list.
    for role in ("head_setup_commands", "worker_setup_commands"):
        installs = [c for c in config[role] if "pip install" in c and "-e " in c]
        assert installs, f"{role} never installs dance"
        assert "-c constraints.txt" in installs[-1]
        assert "[gpu,mediapipe]" in installs[-1]


@pytest.mark.parametrize("provider", sorted(LAUNCHERS))
def test_torch_comes_from_the_cuda_index_where_a_gpu_is_seen(provider: str) -> None:
    commands = " ".join(_load(LAUNCHERS[provider])["setup_commands"])
    assert "nvidia-smi" in commands and "download.pytorch.org/whl/cu" in commands


@pytest.mark.parametrize("provider", sorted(LAUNCHERS))
def test_repository_is_mounted_where_setup_installs_it(provider: str) -> None:
    config = _load(LAUNCHERS[provider])
    assert config["file_mounts"]["~/dance"] == "."
    assert {".venv", "outputs", ".git"} <= set(config["rsync_exclude"])


@pytest.mark.parametrize("provider", sorted(LAUNCHERS))
def test_gpu_worker_type_declares_a_gpu_and_scales_from_zero(provider: str) -> None:
    config = _prepared(LAUNCHERS[provider])
    workers = {
        name: node
        for name, node in config["available_node_types"].items()
        if name != config["head_node_type"]
    }
    gpu_workers = [node for node in workers.values() if node["resources"].get("GPU", 0) >= 1]
    assert gpu_workers, f"no worker type declares GPU resources: {sorted(workers)}"
    assert all(node["min_workers"] == 0 and node["max_workers"] > 0 for node in gpu_workers)
    head = config["available_node_types"][config["head_node_type"]]
    assert head["resources"].get("GPU", 0) == 0


@pytest.mark.parametrize("provider", sorted(LAUNCHERS))
def test_launcher_config_holds_no_credentials(provider: str) -> None:
    text = (CLUSTER_CONFIG / LAUNCHERS[provider]).read_text()
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "aws_secret_access_key"):
        assert key not in text


@pytest.mark.parametrize("path", RAYJOBS)
def test_rayjob_manifest_is_a_ray_io_v1_rayjob_for_the_installed_ray(path: str) -> None:
    manifest = _load(path)
    assert manifest["apiVersion"] == "ray.io/v1"
    assert manifest["kind"] == "RayJob"
    spec = manifest["spec"]
    assert spec["rayClusterSpec"]["rayVersion"] == ray.__version__
    assert spec["shutdownAfterJobFinishes"] is True
    assert spec["submissionMode"] in {"K8sJobMode", "HTTPMode", "SidecarMode", "InteractiveMode"}


@pytest.mark.parametrize("path", RAYJOBS)
def test_rayjob_entrypoint_runs_an_existing_job_module(path: str) -> None:
    module, _, _ = _entrypoint(_load(path))
    assert module.startswith("ray_jobs.")
    assert importlib.util.find_spec(module) is not None, f"{module} does not exist"


@pytest.mark.parametrize("path", RAYJOBS)
def test_rayjob_entrypoint_config_loads_with_its_overrides(path: str) -> None:
    _, preset, overrides = _entrypoint(_load(path))
    assert preset in list_presets()
    cfg = load_config(preset, overrides)
    assert cfg.workdir.startswith("s3://")


@pytest.mark.parametrize("path", RAYJOBS)
def test_rayjob_worker_group_requests_gpus(path: str) -> None:
    groups = _load(path)["spec"]["rayClusterSpec"]["workerGroupSpecs"]
    limits = [
        container["resources"]["limits"]
        for group in groups
        for container in group["template"]["spec"]["containers"]
    ]
    assert any(int(limit.get("nvidia.com/gpu", 0)) >= 1 for limit in limits)


def test_rayjob_images_are_the_same_dance_image_everywhere() -> None:
    images = set()
    for path in RAYJOBS:
        cluster = _load(path)["spec"]["rayClusterSpec"]
        pods = [cluster["headGroupSpec"]] + cluster["workerGroupSpecs"]
        images |= {c["image"] for pod in pods for c in pod["template"]["spec"]["containers"]}
    assert len(images) == 1


def test_finetune_rayjob_trains_on_gpus() -> None:
    _, preset, overrides = _entrypoint(_load("kuberay/rayjob-finetune.yaml"))
    workers = load_config(preset, overrides).finetune.workers
    assert workers.num_gpus >= 1 and workers.pool_size == 2


def test_dockerfile_builds_on_the_installed_ray_gpu_image_without_the_cpu_torch_pin() -> None:
    text = (CLUSTER_CONFIG / "docker" / "Dockerfile").read_text()
    assert f"FROM rayproject/ray:{ray.__version__}-py311-gpu" in text
    assert "grep -v '^torch=='" in text
    assert "download.pytorch.org/whl/${TORCH_CUDA}" in text


def test_runtime_env_is_accepted_by_ray_and_excludes_heavy_paths() -> None:
    runtime_env = RuntimeEnv(**_load("runtime_env.yaml"))
    excludes = {pattern.rstrip("/") for pattern in runtime_env["excludes"]}
    assert {".venv", "outputs", ".git"} <= excludes


def test_runtime_env_holds_no_secret_looking_variable() -> None:
    env_vars = _load("runtime_env.yaml").get("env_vars", {})
    for name in env_vars:
        for pattern in SECRET_PATTERNS:
            assert not fnmatch.fnmatch(name.upper(), pattern), f"{name} looks like a secret"


def test_local_config_loads() -> None:
    cfg = load_config(CLUSTER_CONFIG / "local.yaml")
    assert cfg.ray.num_cpus == 2
