"""Actors run on the GPU Ray assigned them, never on a device named in their arguments."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from actors import assigned_device

ROOT = Path(__file__).resolve().parent.parent


def test_outside_ray_an_actor_runs_on_the_cpu() -> None:
    assert assigned_device() == "cpu"


def test_inside_ray_the_device_follows_the_gpus_ray_assigned() -> None:
    # A logical GPU: Ray assigns it like a real one, so this runs on CPU-only machines too.
    script = textwrap.dedent(
        """
        import ray
        from actors import assigned_device
        ray.init(num_cpus=1, num_gpus=1, include_dashboard=False, log_to_driver=False)
        device = ray.remote(assigned_device)
        with_gpu = ray.get(device.options(num_cpus=0.5, num_gpus=1).remote())
        without_gpu = ray.get(device.options(num_cpus=0.5, num_gpus=0).remote())
        print(with_gpu, without_gpu)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["cuda", "cpu"]
