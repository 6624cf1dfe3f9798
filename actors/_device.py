"""The torch device of an actor: the GPU Ray assigned it, else the CPU."""

from __future__ import annotations


def assigned_device() -> str:
    """'cuda' when Ray gave this actor a GPU (its num_gpus > 0), else 'cpu'.

    Ray sets CUDA_VISIBLE_DEVICES to the assigned GPUs, so 'cuda' is one of them; outside
    Ray (a plain process) nothing was assigned and the actor runs on the CPU.
    """
    import ray

    if not ray.is_initialized():
        return "cpu"
    return "cuda" if ray.get_gpu_ids() else "cpu"
