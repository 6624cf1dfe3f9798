"""ray_jobs' placement adapter: one StageResources becomes map_batches, task or Ray Train settings."""

from __future__ import annotations

import os

import pytest
from ray.data import ActorPoolStrategy

from dance.config import StageResources
from ray_jobs import cpu_threads, map_batches_args, scaling_config, task_options

CPU_STAGE = StageResources(pool_size=3, num_cpus=0.5, num_gpus=0, batch_size=16)
GPU_STAGE = StageResources(pool_size=2, num_cpus=2, num_gpus=0.5, batch_size=64)


def test_map_batches_args_size_the_actor_pool_and_each_actor() -> None:
    args = map_batches_args(GPU_STAGE)
    assert set(args) == {"batch_size", "compute", "num_cpus", "num_gpus"}
    assert args["batch_size"] == 64
    assert isinstance(args["compute"], ActorPoolStrategy)
    assert args["compute"].min_size == args["compute"].max_size == 2
    assert (args["num_cpus"], args["num_gpus"]) == (2, 0.5)


def test_map_batches_args_scale_only_the_cpus() -> None:
    args = map_batches_args(CPU_STAGE, scale=0.5)
    assert args["num_cpus"] == 0.25
    assert (args["num_gpus"], args["batch_size"], args["compute"].max_size) == (0, 16, 3)


def test_task_options_carry_cpus_and_gpus_per_task() -> None:
    assert task_options(CPU_STAGE) == {"num_cpus": 0.5, "num_gpus": 0}
    assert task_options(GPU_STAGE) == {"num_cpus": 2, "num_gpus": 0.5}


def test_scaling_config_on_cpus_asks_for_no_gpu() -> None:
    config = scaling_config(CPU_STAGE)
    assert config.num_workers == 3
    assert config.use_gpu is False
    assert config.resources_per_worker == {"CPU": 0.5}


def test_scaling_config_on_gpus_gives_each_worker_its_share() -> None:
    config = scaling_config(GPU_STAGE)
    assert config.num_workers == 2
    assert config.use_gpu is True
    assert config.resources_per_worker == {"CPU": 2, "GPU": 0.5}


def test_cpu_threads_are_the_whole_cpus_granted_and_at_least_one() -> None:
    assert cpu_threads(GPU_STAGE) == 2
    assert cpu_threads(CPU_STAGE) == 1


def test_the_ray_logger_a_local_ray_silences_is_a_module_of_the_installed_ray() -> None:
    # The name is Ray's module path; a Ray that moves the module would make it silence nothing.
    import importlib.util
    import logging

    from ray_jobs._runtime import _STATE_API_LOGGERS, quiet_local_workers

    for name in _STATE_API_LOGGERS:
        assert importlib.util.find_spec(name) is not None, name
    quiet_local_workers()
    assert all(logging.getLogger(n).getEffectiveLevel() == logging.ERROR for n in _STATE_API_LOGGERS)


# Ray Train's controller polls every 0.25 s instead of 2 s (a report waits for a poll), and
# its print patch, which showed every worker line twice, is off.
@pytest.mark.parametrize(("name", "value"), [
    ("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.25"), ("RAY_TRAIN_ENABLE_PRINT_PATCH", "0"),
])
def test_a_trainer_sets_the_ray_train_defaults_the_jobs_need(
    name: str, value: str, tmp_path, monkeypatch
) -> None:
    from ray_jobs._training import torch_trainer

    monkeypatch.setenv(name, "")  # restored after the test
    monkeypatch.delenv(name)
    torch_trainer(lambda _: None, {}, StageResources(pool_size=1), str(tmp_path), "run", 1, True)
    assert os.environ[name] == value


def test_a_poll_interval_the_user_set_is_kept(tmp_path, monkeypatch) -> None:
    from ray_jobs._training import POLL_INTERVAL_ENV, torch_trainer

    monkeypatch.setenv(POLL_INTERVAL_ENV, "3")
    torch_trainer(lambda _: None, {}, StageResources(pool_size=1), str(tmp_path), "run", 1, True)
    assert os.environ[POLL_INTERVAL_ENV] == "3"


def test_the_per_report_loggers_a_worker_quiets_are_modules_of_the_installed_ray() -> None:
    import logging
    from importlib.util import find_spec

    from ray_jobs._training import PER_REPORT_LOGGERS, quiet_worker_logs

    assert all(find_spec(module) is not None for module in PER_REPORT_LOGGERS)
    quiet_worker_logs()
    for module in PER_REPORT_LOGGERS:
        assert logging.getLogger(module).getEffectiveLevel() == logging.WARNING
        assert logging.getLogger(find_spec(module).origin).getEffectiveLevel() == logging.WARNING
