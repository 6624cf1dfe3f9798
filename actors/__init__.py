"""Ray Data stage classes: model set-up in ``__init__``, one batch in ``__call__``.

Each actor wraps plain functions from :mod:`dance`. Its resources (pool size, CPUs, GPUs,
batch size) come from the stage's StageResources through ``ray_jobs.map_batches_args``;
an actor runs on the GPU Ray assigned it, if any, never on a device named in its arguments.
"""

from actors._device import assigned_device

__all__ = ["assigned_device"]
