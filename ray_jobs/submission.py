"""Submit dance jobs to a Ray cluster through Ray's Job Submission API, and watch them.

The resolved config travels as a YAML file in a small temporary `working_dir`; the
entrypoint is `python -m dance JOB --config <that file>`, run by the cluster's installed
dance (or by a source checkout's packages, uploaded as `py_modules`). Environment
variables go to the job by name: their values reach the job's runtime_env and are never
printed or written by dance.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dance.config import DanceConfig
from dance.errors import DanceError, InputError

# The commands that take --config and so can run on a cluster from a submitted config.
SUBMITTABLE_JOBS = (
    "run",
    "demo",
    "finetune-backbone",
    "train-dual-encoder",
    "preprocess",
    "discover",
    "train",
    "evaluate",
    "intervene",
    "sanity",
    "concept-clips",
    "tcav",
    "report",
)
CONFIG_FILE_NAME = "dance-job.yaml"
# The packages a source checkout ships to the cluster with --working-dir.
SOURCE_PACKAGES = ("dance", "actors", "ray_jobs")
TERMINAL_STATES = ("SUCCEEDED", "FAILED", "STOPPED")
_TOKEN_FIX = (
    "set RAY_AUTH_TOKEN to the cluster's token (or RAY_AUTH_TOKEN_PATH to a file holding "
    "it; `ray get-auth-token` on the head node prints it)"
)


class SubmissionError(DanceError):
    """The cluster cannot be reached, refuses us, or does not know the job."""


@dataclass(frozen=True)
class JobState:
    """A submitted job's status and Ray's message about it."""

    job_id: str
    status: str
    message: str

    @property
    def finished(self) -> bool:
        """True once the job has succeeded, failed or been stopped."""
        return self.status in TERMINAL_STATES


def resolve_address(address: str | None) -> str:
    """The dashboard address to use: `address`, else $RAY_ADDRESS; an error if neither."""
    resolved = address or os.environ.get("RAY_ADDRESS")
    if not resolved:
        raise InputError(
            "no Ray cluster address: pass --address http://HEAD:8265 (the head node's "
            "dashboard) or set RAY_ADDRESS"
        )
    if not resolved.startswith(("http://", "https://")):
        source = "--address" if address else "RAY_ADDRESS"
        raise InputError(
            f"{source}={resolved}: jobs are submitted to the head node's dashboard; give its "
            "URL, e.g. http://HEAD:8265 (a GCS address HOST:6379 or ray:// takes no jobs)"
        )
    return resolved.rstrip("/")


def job_env_vars(names: Sequence[str]) -> dict[str, str]:
    """The values of `names` from this process's environment; an error naming unset ones."""
    missing = [name for name in names if name not in os.environ]
    if missing:
        raise InputError(
            f"--env {', '.join(missing)}: not set in this environment; export "
            f"{'it' if len(missing) == 1 else 'them'} before submitting or drop the --env"
        )
    return {name: os.environ[name] for name in dict.fromkeys(names)}


def build_entrypoint(job: str, extra_args: Sequence[str] = ()) -> str:
    """The shell command the cluster runs: `python -m dance JOB --config <the file> ...`."""
    if job not in SUBMITTABLE_JOBS:
        raise InputError(
            f"cannot submit {job!r}: JOB must be one of {', '.join(SUBMITTABLE_JOBS)} "
            "(the commands that take --config)"
        )
    words = ["python", "-m", "dance", job, "--config", CONFIG_FILE_NAME, *extra_args]
    return shlex.join(words)


def source_py_modules(working_dir: str) -> list[str]:
    """The dance packages of a source checkout, to upload as runtime_env py_modules."""
    root = Path(working_dir).expanduser().resolve()
    missing = [name for name in SOURCE_PACKAGES if not (root / name / "__init__.py").is_file()]
    if missing:
        raise InputError(
            f"--working-dir {working_dir}: not a dance source checkout (no "
            f"{', '.join(f'{m}/__init__.py' for m in missing)}); pass the repository root"
        )
    return [str(root / name) for name in SOURCE_PACKAGES]


def build_runtime_env(
    config_dir: str, env_vars: dict[str, str], py_modules: Sequence[str] = ()
) -> dict[str, Any]:
    """The job's runtime_env: the config's folder as working_dir, env vars, source modules."""
    runtime_env: dict[str, Any] = {"working_dir": config_dir}
    if env_vars:
        runtime_env["env_vars"] = dict(env_vars)
    if py_modules:
        runtime_env["py_modules"] = list(py_modules)
    return runtime_env


def _auth_headers() -> dict[str, str] | None:
    """An Authorization header from $RAY_AUTH_TOKEN / $RAY_AUTH_TOKEN_PATH, when set.

    Ray's client adds the token itself only when RAY_AUTH_MODE=token; sending it whenever
    the user gave one lets `RAY_AUTH_TOKEN=... dance submit` work without that flag too.
    """
    token = os.environ.get("RAY_AUTH_TOKEN", "").strip()
    token_path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    if not token and token_path:
        try:
            token = Path(token_path).expanduser().read_text().strip()
        except OSError as err:
            raise InputError(
                f"RAY_AUTH_TOKEN_PATH={token_path}: cannot read the token ({err.strerror}); "
                "point it at the file `ray get-auth-token` wrote, or set RAY_AUTH_TOKEN"
            ) from None
    return {"Authorization": f"Bearer {token}"} if token else None


def _call(address: str, action: Callable[[], Any], job_id: str | None = None) -> Any:
    """Run one client call, turning Ray's connection, auth and 404 errors into ours."""
    import aiohttp
    import requests
    from ray.exceptions import AuthenticationError

    # The first request's failure reaches us as ConnectionError; later ones (the head gone
    # meanwhile) as requests' or, streaming logs, aiohttp's.
    unreachable = (
        ConnectionError, requests.exceptions.ConnectionError, aiohttp.ClientConnectionError
    )
    try:
        return action()
    except AuthenticationError as err:
        refused = "rejected the token" if "403" in str(err) or "Invalid" in str(err) else (
            "requires a token"
        )
        raise SubmissionError(
            f"the Ray cluster at {address} {refused} (token authentication is on): {_TOKEN_FIX}"
        ) from None
    except unreachable:
        raise SubmissionError(
            f"cannot reach a Ray dashboard at {address}: check the address (the head node's "
            "dashboard, e.g. http://HEAD:8265; `ray start --head` serves it on port 8265) "
            "and pass it with --address or RAY_ADDRESS"
        ) from None
    except RuntimeError as err:
        if job_id is not None and ("404" in str(err) or "does not exist" in str(err)):
            raise SubmissionError(
                f"no job {job_id!r} on the Ray cluster at {address}: use the id `dance submit` "
                "printed (or `ray job list`)"
            ) from None
        raise


def connect(address: str | None) -> tuple[Any, str]:
    """(JobSubmissionClient, resolved address) for `address` or $RAY_ADDRESS, authenticated
    when a token is set."""
    from ray.job_submission import JobSubmissionClient

    resolved = resolve_address(address)
    return _call(resolved, lambda: JobSubmissionClient(resolved, headers=_auth_headers())), resolved


def submit_job(
    cfg: DanceConfig,
    job: str,
    address: str | None,
    env_names: Sequence[str],
    working_dir: str | None = None,
    extra_args: Sequence[str] = (),
) -> str:
    """Submit `dance JOB` on `cfg` to the cluster; returns the job id."""
    entrypoint = build_entrypoint(job, extra_args)
    env_vars = job_env_vars(env_names)
    py_modules = source_py_modules(working_dir) if working_dir else []
    client, resolved = connect(address)
    # The folder is uploaded (zipped into the cluster's GCS) during submit_job; it holds
    # the config only, never the environment.
    with tempfile.TemporaryDirectory(prefix="dance-submit-") as config_dir:
        (Path(config_dir) / CONFIG_FILE_NAME).write_text(cfg.to_yaml())
        runtime_env = build_runtime_env(config_dir, env_vars, py_modules)
        return _call(
            resolved,
            lambda: client.submit_job(
                entrypoint=entrypoint,
                runtime_env=runtime_env,
                metadata={"dance_job": job, "dance_config": cfg.name},
            ),
        )


def _state(client: Any, address: str, job_id: str) -> JobState:
    """The job's state, asked through an open client."""
    info = _call(address, lambda: client.get_job_info(job_id), job_id)
    return JobState(job_id, str(info.status.value), info.message or "")


def job_state(address: str | None, job_id: str) -> JobState:
    """The job's status (PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED) and message."""
    client, resolved = connect(address)
    return _state(client, resolved, job_id)


def stop_job(address: str | None, job_id: str) -> bool:
    """Ask the cluster to stop the job; False when it had already finished."""
    client, resolved = connect(address)
    return bool(_call(resolved, lambda: client.stop_job(job_id), job_id))


def job_logs(address: str | None, job_id: str) -> str:
    """Everything the job's driver has printed so far."""
    client, resolved = connect(address)
    return str(_call(resolved, lambda: client.get_job_logs(job_id), job_id))


def follow_job(address: str | None, job_id: str, write: Callable[[str], None]) -> JobState:
    """Stream the job's logs to `write` until it finishes; returns its final state."""
    client, resolved = connect(address)
    state = _state(client, resolved, job_id)  # an unknown id fails here, not in the stream

    async def tail() -> None:
        async for chunk in client.tail_job_logs(job_id):
            write(chunk)

    _call(resolved, lambda: asyncio.run(tail()), job_id)
    # The log stream closes as the driver exits; the status may lag it by a moment.
    deadline = time.monotonic() + 30.0
    state = _state(client, resolved, job_id)
    while not state.finished and time.monotonic() < deadline:
        time.sleep(0.2)
        state = _state(client, resolved, job_id)
    return state
