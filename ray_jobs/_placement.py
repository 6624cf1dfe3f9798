"""One adapter from a stage's StageResources to what Ray takes: map_batches, task, Ray Train.

Every job places its stages through these functions, so a stage's CPUs, GPUs, pool size
and batch size mean the same thing whether it runs as an actor pool, a task or workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dance.config import StageResources

if TYPE_CHECKING:
    from ray.train import ScalingConfig


def map_batches_args(resources: StageResources, scale: float = 1.0) -> dict[str, Any]:
    """`Dataset.map_batches` keywords for an actor pool; `scale` shrinks num_cpus (<= 1)."""
    from ray.data import ActorPoolStrategy

    return {
        "batch_size": resources.batch_size,
        "compute": ActorPoolStrategy(size=resources.pool_size),
        "num_cpus": resources.num_cpus * scale,
        "num_gpus": resources.num_gpus,
    }


def task_options(resources: StageResources) -> dict[str, float]:
    """`ray.remote(fn).options(...)` keywords for one task of the stage."""
    return {"num_cpus": resources.num_cpus, "num_gpus": resources.num_gpus}


def scaling_config(resources: StageResources) -> ScalingConfig:
    """Ray Train's ScalingConfig: pool_size workers with num_cpus/num_gpus each."""
    from ray.train import ScalingConfig

    per_worker: dict[str, float] = {"CPU": resources.num_cpus}
    if resources.num_gpus > 0:
        per_worker["GPU"] = resources.num_gpus
    return ScalingConfig(
        num_workers=resources.pool_size,
        use_gpu=resources.num_gpus > 0,
        resources_per_worker=per_worker,
    )


def cpu_threads(resources: StageResources) -> int:
    """Threads one actor/worker should use: its whole CPUs, at least one.

    More threads than the CPUs Ray granted thrash (measured: fine-tuning 40x slower on a
    busy 2-core machine).
    """
    return max(1, int(resources.num_cpus))
