"""cluster_config/: launcher YAMLs pass Ray's schema, RayJob manifests run real jobs and presets.

Every node installs dance one way (cluster_config/install.sh, run by the Docker image and by
the launchers' setup_commands); the RayJobs use Ray's token auth and hold no secret value.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import ray
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config
from ray.runtime_env import RuntimeEnv
from typer.testing import CliRunner

from dance.cli import app
from dance.config import list_presets, load_config

CLUSTER_CONFIG = Path(__file__).resolve().parent.parent / "cluster_config"
CONSTRAINTS = CLUSTER_CONFIG.parent / "constraints.txt"
LAUNCHERS = {"aws": "aws.yaml", "gcp": "gcp.yaml"}
RAYJOBS = [
    "kuberay/rayjob-preprocess.yaml",
    "kuberay/rayjob-finetune.yaml",
    "kuberay/rayjob-run.yaml",
]
RUN_JOB = "kuberay/rayjob-run.yaml"
INSTALL = "sh cluster_config/install.sh"
SECRET_PATTERNS = ["*SECRET*", "*TOKEN*", "*PASSWORD*", "AWS_ACCESS_KEY_ID"]


def _documents(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((CLUSTER_CONFIG / name).read_text()) if doc]


def _load(name: str) -> dict[str, Any]:
    """The file's only document, or the RayJob of a manifest that holds more (a ConfigMap)."""
    documents = _documents(name)
    if len(documents) == 1:
        return documents[0]
    (rayjob,) = [doc for doc in documents if doc.get("kind") == "RayJob"]
    return rayjob


def _prepared(name: str) -> dict[str, Any]:
    """The launcher config as `ray up` sees it: defaults filled in, then validated."""
    config = prepare_config(_load(name))
    validate_config(config)
    return config


def _argv(path: str) -> list[str]:
    return shlex.split(_load(path)["spec"]["entrypoint"])


def _entrypoint(manifest: dict[str, Any]) -> tuple[str, str, list[str]]:
    """(module, --config value, --set overrides) of a `python -m MODULE ...` entrypoint."""
    argv = shlex.split(manifest["spec"]["entrypoint"])
    assert argv[:2] == ["python", "-m"], f"entrypoint must be `python -m MODULE`: {argv}"
    config = argv[argv.index("--config") + 1]
    overrides = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--set"]
    return argv[2], config, overrides


MODULE_JOBS = [path for path in RAYJOBS if _argv(path)[:2] == ["python", "-m"]]


def _pod_specs(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """A RayJob's pod specs: the head, every worker group, then the submitter if given."""
    spec = manifest["spec"]
    cluster = spec["rayClusterSpec"]
    pods = [cluster["headGroupSpec"]["template"]["spec"]]
    pods += [group["template"]["spec"] for group in cluster["workerGroupSpecs"]]
    if "submitterPodTemplate" in spec:
        pods.append(spec["submitterPodTemplate"]["spec"])
    return pods


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def _run_config(tmp_path: Path) -> Path:
    """The file `dance run --config` reads in the head pod: the mounted ConfigMap's key."""
    config_path = Path(_argv(RUN_JOB)[_argv(RUN_JOB).index("--config") + 1])
    head = _load(RUN_JOB)["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    mounts = [
        mount
        for container in head["containers"]
        for mount in container.get("volumeMounts", [])
        if mount["mountPath"] == str(config_path.parent)
    ]
    assert len(mounts) == 1, f"no single mount at {config_path.parent} on the head"
    (volume,) = [v for v in head.get("volumes", []) if v["name"] == mounts[0]["name"]]
    configmaps = {
        doc["metadata"]["name"]: doc for doc in _documents(RUN_JOB) if doc["kind"] == "ConfigMap"
    }
    name = volume["configMap"]["name"]
    assert name in configmaps, f"ConfigMap {name} is not in {RUN_JOB}"
    path = tmp_path / config_path.name
    path.write_text(configmaps[name]["data"][config_path.name])
    return path


def _dockerfile_runs() -> list[str]:
    """The Dockerfile's RUN instructions, continuation lines joined."""
    text = (CLUSTER_CONFIG / "docker" / "Dockerfile").read_text().replace("\\\n", " ")
    return [line for line in text.splitlines() if line.startswith("RUN ")]


def _apt_packages(command: str) -> list[str]:
    words = command.split("apt-get install", 1)[1].split("&&")[0].split()
    return [word for word in words if not word.startswith("-")]


@pytest.mark.parametrize("provider", sorted(LAUNCHERS))
def test_launcher_config_passes_rays_schema_validation(provider: str) -> None:
    config = _prepared(LAUNCHERS[provider])
    assert config["provider"]["type"] == provider


@pytest.mark.parametrize("provider", sorted(LAUNCHERS))
def test_every_node_installs_dance_with_the_install_script(provider: str) -> None:
    config = _prepared(LAUNCHERS[provider])
    # prepare_config merges the common setup_commands into each role's list.
    for role in ("head_setup_commands", "worker_setup_commands"):
        installs = [command for command in config[role] if INSTALL in command]
        assert installs == [f"cd ~/dance && {INSTALL}"], f"{role}: {config[role]}"


@pytest.mark.parametrize("provider", sorted(LAUNCHERS))
def test_launcher_install_lines_equal_the_dockerfiles(provider: str) -> None:
    """The same system packages and the same install script as the image, and nothing else."""
    commands = _load(LAUNCHERS[provider])["setup_commands"]
    (docker_apt,) = [run for run in _dockerfile_runs() if "apt-get install" in run]
    (docker_install,) = [run for run in _dockerfile_runs() if INSTALL in run]
    launcher_apt, launcher_install = commands
    assert _apt_packages(launcher_apt) == _apt_packages(docker_apt)
    assert _apt_packages(docker_apt) == ["libgl1", "libglib2.0-0"]
    assert launcher_install.split(" && ")[-1] == docker_install.split(" ", 2)[-1] == INSTALL
    assert not [c for c in commands if "pip install" in c], f"install through {INSTALL} only"


def _run_install_script(tmp_path: Path, env: dict[str, str], gpu: bool) -> list[list[str]]:
    """cluster_config/install.sh with pip, python and nvidia-smi stubbed: their argv, in order."""
    stubs = tmp_path / "bin"
    stubs.mkdir()
    log = tmp_path / "calls.log"
    for name, code in (("pip", 0), ("python", 0), ("nvidia-smi", 0 if gpu else 1)):
        stub = stubs / name
        stub.write_text(f'#!/bin/sh\nprintf "%s\\n" "{name} $*" >> "{log}"\nexit {code}\n')
        stub.chmod(0o755)
    (tmp_path / "constraints.txt").write_text(CONSTRAINTS.read_text())
    subprocess.run(
        ["sh", str(CLUSTER_CONFIG / "install.sh")],
        cwd=tmp_path,
        env={"PATH": f"{stubs}:/usr/bin:/bin", **env},
        check=True,
        timeout=60,
    )
    return [shlex.split(line) for line in log.read_text().splitlines()]


@pytest.mark.parametrize(
    ("env", "gpu", "index"),
    [({"TORCH_CUDA": "cu128"}, False, "cu128"), ({}, True, "cu128"), ({}, False, "cpu")],
    ids=["image-build", "gpu-node", "cpu-head"],
)
def test_install_script_takes_the_pinned_torch_first_then_dance_without_its_pin(
    tmp_path: Path, env: dict[str, str], gpu: bool, index: str
) -> None:
    calls = [c for c in _run_install_script(tmp_path, env, gpu) if c[0] != "nvidia-smi"]
    torch_pin = next(line for line in CONSTRAINTS.read_text().splitlines() if "torch==" in line)
    torch_install, dance_install, import_check = calls
    assert torch_install[:2] == ["pip", "install"] and torch_pin in torch_install
    assert torch_install[-2:] == ["--index-url", f"https://download.pytorch.org/whl/{index}"]
    assert dance_install[:2] == ["pip", "install"]
    assert dance_install[-2:] == ["-e", ".[gpu,mediapipe]"]
    constraints = Path(dance_install[dance_install.index("-c") + 1]).read_text().splitlines()
    assert constraints == [
        line for line in CONSTRAINTS.read_text().splitlines() if line != torch_pin
    ]
    assert import_check[:2] == ["python", "-c"] and "import dance" in " ".join(import_check)


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


@pytest.mark.parametrize("path", MODULE_JOBS)
def test_rayjob_entrypoint_runs_an_existing_job_module(path: str) -> None:
    module, _, _ = _entrypoint(_load(path))
    assert module.startswith("ray_jobs.")
    assert importlib.util.find_spec(module) is not None, f"{module} does not exist"


@pytest.mark.parametrize("path", MODULE_JOBS)
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
        images |= {c["image"] for pod in _pod_specs(_load(path)) for c in pod["containers"]}
    assert len(images) == 1


@pytest.mark.parametrize("path", RAYJOBS)
def test_rayjob_uses_token_auth_from_a_secret_in_every_pod(path: str) -> None:
    """KubeRay's token setup with your own token: RAY_AUTH_MODE=token and RAY_AUTH_TOKEN from
    a Secret on the head, the workers and the submitter (which calls the head's job API)."""
    manifest = _load(path)
    assert "submitterPodTemplate" in manifest["spec"]
    for pod in _pod_specs(manifest):
        for container in pod["containers"]:
            env = _env(container)
            assert env["RAY_AUTH_MODE"].get("value") == "token", container["name"]
            ref = env["RAY_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"]
            assert ref["name"] and ref["key"] and not ref.get("optional", False)


@pytest.mark.parametrize("path", RAYJOBS)
def test_rayjob_holds_no_secret_value(path: str) -> None:
    """Every secret-looking variable comes from a Secret; no value is written in the file."""
    patterns = [*SECRET_PATTERNS, "*_KEY", "*API_KEY*"]
    for pod in _pod_specs(_load(path)):
        for container in pod["containers"]:
            for name, entry in _env(container).items():
                if any(fnmatch.fnmatch(name.upper(), pattern) for pattern in patterns):
                    assert "value" not in entry, f"{path}: {name} has a literal value"
                    assert "secretKeyRef" in entry["valueFrom"], f"{path}: {name}"


def test_run_rayjob_runs_dance_run_on_the_mounted_config() -> None:
    assert _argv(RUN_JOB) == ["dance", "run", "--config", "/etc/dance/config.yaml"]


def test_run_rayjob_mounts_a_configmap_of_the_same_manifest(tmp_path: Path) -> None:
    assert _run_config(tmp_path).read_text().strip()


def test_run_rayjob_config_validates_with_dance_config(tmp_path: Path) -> None:
    cfg = load_config(_run_config(tmp_path))
    assert cfg.dataset.name == "ucf101"
    assert cfg.workdir.startswith("s3://") and (cfg.dataset.manifest or "").startswith("s3://")
    assert cfg.pose.resources.num_gpus > 0 and cfg.backbone.resources.num_gpus > 0


def test_run_rayjob_gets_credentials_from_a_secret_by_variable_name(tmp_path: Path) -> None:
    """The LLM key the config names (api_key_env) and the S3 keys reach head and workers,
    each from the Secret key of the same name, optional (a cloud role may stand in)."""
    key_env = load_config(_run_config(tmp_path)).discover.language.api_key_env
    head_and_workers = _pod_specs(_load(RUN_JOB))[:-1]
    for pod in head_and_workers:
        for container in pod["containers"]:
            env = _env(container)
            for name in (key_env, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                ref = env[name]["valueFrom"]["secretKeyRef"]
                assert ref["key"] == name and ref["optional"] is True


def test_the_dance_command_of_the_run_rayjob_exists() -> None:
    if "run" not in {command.name for command in app.registered_commands}:
        pytest.skip("`dance run` is not registered in dance.cli yet")
    result = CliRunner().invoke(app, ["run", "--help"])
    assert result.exit_code == 0, result.output
    assert "--config" in result.output


def test_finetune_rayjob_trains_on_gpus() -> None:
    _, preset, overrides = _entrypoint(_load("kuberay/rayjob-finetune.yaml"))
    workers = load_config(preset, overrides).finetune.workers
    assert workers.num_gpus >= 1 and workers.pool_size == 2


def test_dockerfile_builds_on_the_installed_ray_gpu_image_with_the_install_script() -> None:
    text = (CLUSTER_CONFIG / "docker" / "Dockerfile").read_text()
    assert f"FROM rayproject/ray:{ray.__version__}-py311-gpu" in text
    assert "ARG TORCH_CUDA=cu128" in text
    assert "COPY --chown=ray:users cluster_config ./cluster_config" in text
    assert f'RUN TORCH_CUDA="${{TORCH_CUDA}}" {INSTALL}' in _dockerfile_runs()


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
