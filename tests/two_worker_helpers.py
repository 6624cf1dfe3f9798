"""Run a function on two data-parallel workers (torch.distributed gloo on 127.0.0.1).

``run_two_workers(target, *args)`` spawns two processes that join one gloo group and
call ``target(collective, rank, *args)`` with a ``TorchDistributedCollective``; it
returns what each rank returned, by rank. ``target`` must be a module-level function of
an importable module (spawned processes import it by name), and it returns a dict of
tensors, which travel back as numpy arrays (so no shared-memory handles outlive the
worker).
"""

from __future__ import annotations

import queue
import socket
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import torch
import torch.multiprocessing as mp


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _worker(port: int, rank: int, target: Callable[..., dict[str, torch.Tensor]],
            args: tuple[Any, ...], results: Any) -> None:
    import torch.distributed as dist

    from dance.train._collective import TorchDistributedCollective

    torch.set_num_threads(1)
    try:
        dist.init_process_group(
            "gloo",
            init_method=f"tcp://127.0.0.1:{port}",
            rank=rank,
            world_size=2,
            timeout=timedelta(seconds=60),  # a failed peer ends the other's wait
        )
        try:
            output = target(TorchDistributedCollective(), rank, *args)
            results.put((rank, None, {k: v.detach().numpy() for k, v in output.items()}))
        finally:
            dist.destroy_process_group()
    except BaseException:  # noqa: BLE001 - the parent re-raises it with the traceback
        results.put((rank, traceback.format_exc(), None))


def run_two_workers(
    target: Callable[..., dict[str, torch.Tensor]], *args: Any, timeout: float = 120.0
) -> list[dict[str, torch.Tensor]]:
    """target(collective, rank, *args) on ranks 0 and 1; their returned dicts, by rank."""
    context = mp.get_context("spawn")
    results = context.Queue()
    port = _free_port()
    workers = [
        context.Process(target=_worker, args=(port, rank, target, args, results))
        for rank in range(2)
    ]
    for worker in workers:
        worker.start()
    outputs: dict[int, dict[str, torch.Tensor]] = {}
    errors = []
    for _ in workers:
        try:
            rank, error, output = results.get(timeout=timeout)
        except queue.Empty:
            errors.append(f"no answer within {timeout} s")
            break
        if error is not None:
            errors.append(f"rank {rank}:\n{error}")
        else:
            outputs[rank] = {k: torch.from_numpy(v) for k, v in output.items()}
    for worker in workers:
        worker.join(timeout)
        if worker.is_alive():
            worker.kill()
    if errors:
        raise AssertionError("a worker failed:\n" + "\n".join(errors))
    return [outputs[0], outputs[1]]
