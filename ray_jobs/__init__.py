"""Job entrypoints: each module builds a Ray Data or Ray Train graph from one config.

The same module runs on a laptop (Ray starts in-process) and on a cluster
(``ray job submit`` or ``RAY_ADDRESS``); algorithms live in :mod:`dance`.
"""

from ray_jobs._placement import cpu_threads, map_batches_args, scaling_config, task_options

__all__ = ["cpu_threads", "map_batches_args", "scaling_config", "task_options"]
