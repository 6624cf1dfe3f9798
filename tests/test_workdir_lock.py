"""One run per workdir: the lease lock refuses, waits, takes over dead holders; local and S3."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dance import storage
from dance.progress import quiet
from dance.workdir import LockHolder, WorkdirBusyError, acquire_workdir_lock, lock_uri


@pytest.fixture(params=["local", "s3"])
def workdir(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh workdir on local disk, then on the moto S3 server."""
    if request.param == "local":
        return str(tmp_path / "work")
    bucket = request.getfixturevalue("s3_bucket")
    return f"{bucket}/work"


def test_a_second_run_refuses_naming_the_running_one(workdir: str) -> None:
    with (
        acquire_workdir_lock(workdir, "dance run", log=quiet) as held,
        pytest.raises(WorkdirBusyError) as refused,
    ):
        acquire_workdir_lock(workdir, "dance run", log=quiet)
    message = str(refused.value)
    assert f"pid {os.getpid()}" in message
    assert held.holder.host in message
    assert held.holder.started_at in message
    assert "another workdir" in message


def test_the_lock_is_gone_after_release(workdir: str) -> None:
    with acquire_workdir_lock(workdir, "dance run", log=quiet):
        assert storage.exists(lock_uri(workdir))
    assert not storage.exists(lock_uri(workdir))
    acquire_workdir_lock(workdir, "dance run", log=quiet).release()


def test_a_waiting_run_starts_once_the_holder_releases(workdir: str) -> None:
    first = acquire_workdir_lock(workdir, "dance run", log=quiet)
    threading.Timer(1.0, first.release).start()
    started = time.monotonic()
    with acquire_workdir_lock(workdir, "dance run", wait_s=30, poll_s=0.2, log=quiet) as second:
        assert second.holder.owner != first.holder.owner
    assert 0.9 < time.monotonic() - started < 20


def test_the_holder_renews_its_lease(workdir: str) -> None:
    with acquire_workdir_lock(workdir, "dance run", lease_s=0.9, log=quiet) as held:
        first_renewal = held.holder.renewed_at
        time.sleep(2.0)  # past the lease: only renewals keep the lock alive
        with pytest.raises(WorkdirBusyError):
            acquire_workdir_lock(workdir, "dance run", log=quiet)
        assert held.holder.renewed_at > first_renewal


_HOLD_AND_DIE = """
import os, sys, time
from dance import storage
from dance.config import StorageConfig
if len(sys.argv) > 3:
    storage.configure(StorageConfig(s3_endpoint=sys.argv[3]))
from dance.workdir import acquire_workdir_lock
acquire_workdir_lock(sys.argv[1], "dance run", lease_s=float(sys.argv[2]))
print("held", flush=True)
time.sleep(600)
"""


def _killed_holder(workdir: str, lease_s: float) -> dict:
    """Start a process that takes the lock, SIGKILL it; the lock it left behind."""
    args = [sys.executable, "-c", _HOLD_AND_DIE, workdir, str(lease_s)]
    if storage.is_s3(workdir):
        args.append(storage.current_config().s3_endpoint or "")
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    return json.loads(storage.read_bytes(lock_uri(workdir)))


def _lock_from_another_host(workdir: str, lease_s: float) -> None:
    """A lock written by a run on another machine, renewed just now."""
    holder = LockHolder(owner="0" * 32, command="dance run", host="node-b.cluster", pid=4242,
                        job_id="raysubmit_abc", started_at="2026-12-04T00:00:00+00:00",
                        renewed_at=time.time(), lease_s=lease_s)
    assert storage.create_if_absent(lock_uri(workdir), holder.to_bytes()) is not None


def test_a_lock_of_another_host_is_refused_while_its_lease_lasts(workdir: str) -> None:
    _lock_from_another_host(workdir, lease_s=60)
    with pytest.raises(WorkdirBusyError, match="on node-b.cluster .pid 4242, Ray job raysubmit"):
        acquire_workdir_lock(workdir, "dance run", log=quiet)


def test_a_lock_of_another_host_is_taken_over_once_its_lease_runs_out(workdir: str) -> None:
    _lock_from_another_host(workdir, lease_s=1.0)
    time.sleep(1.5)
    said: list[str] = []
    with acquire_workdir_lock(workdir, "dance run", log=said.append) as held:
        assert held.holder.pid == os.getpid()
    assert any("took over" in line and "lease ran out" in line for line in said)


def test_a_killed_runs_lock_on_this_host_is_taken_over_at_once(workdir: str) -> None:
    left = _killed_holder(workdir, lease_s=600)
    said: list[str] = []
    with acquire_workdir_lock(workdir, "dance run", log=said.append) as held:
        assert held.holder.pid == os.getpid()
    assert any(f"pid {left['pid']}" in line and "no longer running" in line for line in said)


def test_two_runs_taking_over_at_once_cannot_both_win(workdir: str) -> None:
    _lock_from_another_host(workdir, lease_s=0.5)
    time.sleep(1.0)
    outcomes: list[str] = []

    def take() -> None:
        try:
            acquire_workdir_lock(workdir, "dance run", log=quiet)
            outcomes.append("won")
        except WorkdirBusyError:
            outcomes.append("refused")

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "refused", "refused", "won"]


def test_a_run_whose_lock_was_taken_over_stops_at_its_next_check(workdir: str) -> None:
    held = acquire_workdir_lock(workdir, "dance run", lease_s=60, log=quiet)
    current = storage.read_versioned(lock_uri(workdir))
    assert current is not None
    stale = json.loads(current[0]) | {"renewed_at": 0.0}  # as if its lease ran out long ago
    storage.replace_if_match(lock_uri(workdir), json.dumps(stale).encode(), current[1])
    other = acquire_workdir_lock(workdir, "dance run", log=quiet)
    held.renew()
    with pytest.raises(WorkdirBusyError, match="lost its lock"):
        held.check()
    held.release()
    assert storage.exists(lock_uri(workdir))  # the releasing loser leaves the new lock alone
    other.release()
