"""Start and stop a real local Ray head (dashboard and job server on, token auth) for tests.

The head lives in its own temp dir (so no other Ray session on the machine finds it) and is
stopped by killing its own process tree, never with `ray stop`, which ends every Ray process
on the machine, other sessions' included.
"""

from __future__ import annotations

import http.client
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from s3_server import HOST, free_port

VENV_BIN = str(Path(sys.executable).parent)


@dataclass(frozen=True)
class RayHead:
    """A running head: its dashboard address, token, temp dir and a client environment."""

    address: str
    token: str
    temp_dir: str
    env: dict[str, str]  # for `dance` subprocesses: token auth on, the head's token set


def _dashboard_answers(port: int, token: str) -> bool:
    """True once the dashboard's job server answers an authenticated version request."""
    connection = http.client.HTTPConnection(HOST, port, timeout=2.0)
    try:
        connection.request("GET", "/api/version", headers={"Authorization": f"Bearer {token}"})
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process readable in /proc."""
    table: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                state, parent_field = stat.read().rsplit(")", 1)[1].split()[:2]
            if state == "Z":  # already dead, waiting for its parent to reap it
                continue
            parent = int(parent_field)
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except (OSError, ValueError, IndexError):
            continue
        table[int(entry)] = (parent, command)
    return table


def _head_processes(root_pid: int, temp_dir: str) -> set[int]:
    """The head's processes: the tree under `ray start` and any naming its temp dir."""
    table = _process_table()
    found = {root_pid} if root_pid in table else set()
    found |= {pid for pid, (_, command) in table.items() if temp_dir in command}
    grew = True
    while grew:
        children = {pid for pid, (parent, _) in table.items() if parent in found}
        grew = not children <= found
        found |= children
    found.discard(os.getpid())
    return found


def _signal_all(pids: set[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _stop_head(process: subprocess.Popen, temp_dir: str) -> None:
    """End the head's own processes: SIGTERM, then SIGKILL whatever is left after 5 s
    (`ray start --block` and a few of its children outlive SIGTERM)."""
    pids = _head_processes(process.pid, temp_dir)
    table = _process_table()
    commands = {pid: table[pid][1] for pid in pids if pid in table}
    _signal_all(pids, signal.SIGTERM)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        process.poll()
        alive = _head_processes(process.pid, temp_dir) & (pids | {process.pid})
        if not alive:
            break
        time.sleep(0.3)
    # Orphans left by SIGTERM no longer hang under `ray start`: the first snapshot names
    # them, and a pid counts only while its command line is the one it had then.
    table = _process_table()
    first = {pid for pid in pids if pid in table and table[pid][1] == commands.get(pid)}
    _signal_all(first | _head_processes(process.pid, temp_dir), signal.SIGKILL)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


@contextmanager
def running_ray_head(
    num_cpus: int = 2, start_timeout_s: float = 90.0, node_env: dict[str, str] | None = None
) -> Iterator[RayHead]:
    """Run `ray start --head --block` with token auth on free ports; yield it; stop it after.

    `node_env`: variables the head's processes (so its jobs) have and clients do not, as a
    cluster node's own credentials.
    """
    # A short path: Ray's unix sockets under it must stay within 107 characters.
    temp_dir = tempfile.mkdtemp(prefix="dh", dir="/tmp")
    token = secrets.token_hex(32)
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_TOKEN_PATH")}
    # The job's entrypoint runs `python -m dance`: the venv's python, as on a cluster image.
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token, RAY_USAGE_STATS_ENABLED="0")
    dashboard_port = free_port()
    ports = {
        "--port": free_port(),
        "--dashboard-port": dashboard_port,
        "--ray-client-server-port": free_port(),
        "--node-manager-port": free_port(),
        "--object-manager-port": free_port(),
        "--metrics-export-port": free_port(),
        "--dashboard-agent-listen-port": free_port(),
        "--dashboard-agent-grpc-port": free_port(),
        "--runtime-env-agent-port": free_port(),
    }
    command = [
        os.path.join(VENV_BIN, "ray"), "start", "--head", "--block",
        "--node-ip-address", HOST, "--dashboard-host", HOST, "--include-dashboard", "true",
        "--num-cpus", str(num_cpus), "--num-gpus", "0", "--temp-dir", temp_dir,
        "--disable-usage-stats",
        *[str(item) for pair in ports.items() for item in pair],
    ]
    log_path = Path(temp_dir) / "ray_start.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env={**env, **(node_env or {})}, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + start_timeout_s
        while not _dashboard_answers(dashboard_port, token):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the Ray head did not start within {start_timeout_s} s (exit code "
                    f"{process.poll()}); `ray start` printed:\n{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.5)
        yield RayHead(f"http://{HOST}:{dashboard_port}", token, temp_dir, env)
    finally:
        _stop_head(process, temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)
