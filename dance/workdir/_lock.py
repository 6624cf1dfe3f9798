"""One run at a time per workdir: a lease lock at <workdir>/run.lock, local or on S3.

A run that starts writes the lock with who it is (host, pid, Ray job id, command, start
time) through a conditional create, so of two runs started together exactly one gets it;
the other refuses before any work and names the holder, or waits with `wait_s`. The
holder renews its lease every third of `lease_s` from a background thread; a lock whose
lease ran out (its run was killed), or whose holder ran on this host and is gone, is taken
over with a compare-and-swap on the version that was read, so two runs taking over at
once cannot both win. A holder that finds its
lock taken over (it stalled longer than its lease) stops at the next `check()`.
Expiry compares the holder's renewal time with the reader's clock: hosts sharing a
workdir need clocks within a small part of the lease (NTP is plenty).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from dance import storage
from dance.errors import StageError
from dance.progress import Log, log_to_stderr
from dance.workdir._layout import lock_uri

if TYPE_CHECKING:
    from typing_extensions import Self

    from dance.config import DanceConfig

LOCK_FORMAT = "dance.lock.v1"


class WorkdirBusyError(StageError):
    """Another run holds the workdir's lock."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds a workdir's lock, and until when (renewed_at + lease_s, epoch seconds)."""

    owner: str  # unique per acquisition: a renewal or release only touches its own lock
    command: str
    host: str
    pid: int
    job_id: str | None
    started_at: str
    renewed_at: float
    lease_s: float
    format: str = LOCK_FORMAT

    def expired(self, now: float | None = None) -> bool:
        """True once the lease has run out without a renewal."""
        return (time.time() if now is None else now) > self.renewed_at + self.lease_s

    def describe(self) -> str:
        """'`dance run` on HOST (pid N, Ray job J) since T' for messages."""
        job = f", Ray job {self.job_id}" if self.job_id else ""
        return f"`{self.command}` on {self.host} (pid {self.pid}{job}) since {self.started_at}"

    def to_bytes(self) -> bytes:
        """The lock file's JSON content."""
        return json.dumps(asdict(self), indent=2).encode()


def ray_job_id() -> str | None:
    """The Ray job submission id when this process is a submitted job's entrypoint."""
    raw = os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR")
    if not raw:
        return None
    try:
        metadata = json.loads(raw).get("metadata") or {}
    except (ValueError, AttributeError):
        return None
    job_id = metadata.get("job_submission_id")
    return str(job_id) if job_id else None


def _died_here(holder: LockHolder) -> bool:
    """True when the holder ran on this host and its process is gone (killed, crashed)."""
    if holder.host != socket.gethostname():
        return False
    try:
        os.kill(holder.pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user
        return False
    return False


def _parse_holder(data: bytes) -> LockHolder | None:
    """The holder in a lock file, or None when it cannot be read as one."""
    try:
        fields = json.loads(data)
        return LockHolder(**fields) if fields.get("format") == LOCK_FORMAT else None
    except (ValueError, TypeError, AttributeError):
        return None


class WorkdirLock:
    """A held workdir lock; renews itself until released (use it as a context manager)."""

    def __init__(self, uri: str, holder: LockHolder, tag: str, log: Log) -> None:
        """Start renewing `holder`'s lock at `uri`, whose current version is `tag`."""
        self.uri = uri
        self.holder = holder
        self._tag: str | None = tag
        self._log = log
        self._lost: LockHolder | None = None
        self._stop = threading.Event()
        self._mutex = threading.Lock()
        self._thread = threading.Thread(target=self._renew_loop, name="dance-lock", daemon=True)
        self._thread.start()

    def _renew_loop(self) -> None:
        """Renew every third of the lease until released or lost."""
        while not self._stop.wait(self.holder.lease_s / 3):
            try:
                self.renew()
            except storage.StorageError as exc:  # a blip: the next renewal may work
                self._log(f"lock: could not renew {self.uri}: {exc}")
            if self._lost is not None:
                return

    def renew(self) -> None:
        """Push the lease forward, or note that another run took the lock over."""
        with self._mutex:
            if self._tag is None:
                return
            renewed = replace(self.holder, renewed_at=time.time())
            tag = storage.replace_if_match(self.uri, renewed.to_bytes(), self._tag)
            if tag is None:
                current = storage.read_versioned(self.uri)
                self._lost = (_parse_holder(current[0]) if current else None) or self.holder
                self._tag = None
                self._log(f"lock: {self.uri} was taken over by {self._lost.describe()}")
                return
            self.holder, self._tag = renewed, tag

    def check(self) -> None:
        """Raise WorkdirBusyError when another run has taken the lock over."""
        if self._lost is not None:
            raise WorkdirBusyError(
                f"this run lost its lock on {self.uri} to {self._lost.describe()} (it stalled "
                f"longer than its {self.holder.lease_s:.0f} s lease); stopping before more "
                "work. Raise run.lock_lease_s if the workdir's storage is slow"
            )

    def release(self) -> None:
        """Stop renewing and remove the lock (only if it is still this run's)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        with self._mutex:
            if self._tag is not None:
                storage.delete_if_match(self.uri, self._tag)
                self._tag = None

    def __enter__(self) -> Self:
        """The lock itself."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Release on the way out, whatever happened."""
        self.release()


def acquire_workdir_lock(
    workdir: str,
    command: str,
    *,
    lease_s: float = 60.0,
    wait_s: float = 0.0,
    poll_s: float = 2.0,
    log: Log = log_to_stderr,
) -> WorkdirLock:
    """Take the workdir's lock, waiting up to `wait_s` for a running holder; else refuse."""
    uri = lock_uri(workdir)
    deadline = time.monotonic() + wait_s
    waiting_logged = False
    while True:
        holder = LockHolder(
            owner=uuid.uuid4().hex,
            command=command,
            host=socket.gethostname(),
            pid=os.getpid(),
            job_id=ray_job_id(),
            started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            renewed_at=time.time(),
            lease_s=lease_s,
        )
        tag = storage.create_if_absent(uri, holder.to_bytes())
        if tag is not None:
            return WorkdirLock(uri, holder, tag, log)
        current = storage.read_versioned(uri)
        if current is None:  # released between our create and our read: try again
            continue
        other = _parse_holder(current[0])
        if other is None or other.expired() or _died_here(other):
            tag = storage.replace_if_match(uri, holder.to_bytes(), current[1])
            if tag is not None:
                what = "an unreadable lock" if other is None else (
                    f"the lock of {other.describe()}, "
                    + ("whose lease ran out" if other.expired() else "which is no longer running"))
                log(f"lock: took over {what} ({uri})")
                return WorkdirLock(uri, holder, tag, log)
            continue  # another run took it over first: look again
        if time.monotonic() >= deadline:
            raise WorkdirBusyError(
                f"{workdir} is in use by {other.describe()}; wait for it to finish (or pass "
                f"--wait SECONDS), stop it, or use another workdir. If that run was killed, "
                f"its lock ({uri}) is taken over once its {other.lease_s:.0f} s lease runs out"
            )
        if not waiting_logged:
            log(f"lock: {workdir} is in use by {other.describe()}; waiting up to {wait_s:.0f} s")
            waiting_logged = True
        time.sleep(min(poll_s, max(deadline - time.monotonic(), 0.0)) or poll_s)


def lock_for_config(cfg: DanceConfig, command: str, log: Log = log_to_stderr) -> WorkdirLock:
    """The lock of cfg.workdir (a local one made absolute) with cfg.run's lease and wait."""
    storage.configure(cfg.storage)
    workdir = cfg.workdir if storage.is_s3(cfg.workdir) else os.path.abspath(cfg.workdir)
    return acquire_workdir_lock(workdir, command, lease_s=cfg.run.lock_lease_s,
                                wait_s=cfg.run.lock_wait_s, log=log)
