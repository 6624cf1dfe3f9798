"""`dance submit`, `status`, `logs`, `stop`: dance jobs on a Ray cluster (Job Submission API)."""

from __future__ import annotations

from typing import Annotated

import typer

from dance.cli._errors import user_errors
from dance.cli._options import ConfigOption, SetOption
from dance.config import load_config

AddressOption = Annotated[
    str | None,
    typer.Option(
        "--address",
        help="the Ray head's dashboard, e.g. http://HEAD:8265 (default: $RAY_ADDRESS)",
        show_default=False,
    ),
]
JobIdArgument = Annotated[str, typer.Argument(help="the id `dance submit` printed")]
FollowOption = Annotated[
    bool, typer.Option("--follow", "-f", help="stream the logs until the job ends")
]


def _echo_chunk(chunk: str) -> None:
    typer.echo(chunk, nl=False)


def _follow(address: str | None, job_id: str) -> str:
    """Stream the job's logs until it ends; its final status. Ctrl-C leaves it running."""
    from ray_jobs.submission import follow_job

    try:
        return follow_job(address, job_id, _echo_chunk).status
    except KeyboardInterrupt:
        typer.echo(f"\nstopped following; {job_id} keeps running (`dance stop {job_id}` "
                   "ends it)", err=True)
        raise typer.Exit(code=130) from None


def _exit_with(status: str) -> None:
    """Print the final status; exit non-zero unless the job succeeded."""
    typer.echo(f"job finished: {status}", err=True)
    if status != "SUCCEEDED":
        raise typer.Exit(code=1)


def submit_command(
    job: Annotated[
        str, typer.Argument(help="the command to run: run, preprocess, discover, train, ...")
    ],
    extra_args: Annotated[
        list[str] | None,
        typer.Argument(help="more options for the command, after --, e.g. -- --table"),
    ] = None,
    config: ConfigOption = "demo",
    overrides: SetOption = None,
    address: AddressOption = None,
    env: Annotated[
        list[str] | None,
        typer.Option(
            "--env",
            help="an environment variable the job gets, by name (repeatable; default: none, "
            "the cluster uses its own credentials). dance never prints the value, but Ray "
            "keeps it in the job's runtime_env, which its dashboard and logs show",
            metavar="NAME",
        ),
    ] = None,
    follow: FollowOption = False,
    working_dir: Annotated[
        str | None,
        typer.Option(
            "--working-dir",
            help="a dance source checkout whose dance/, actors/ and ray_jobs/ the job runs "
            "instead of the cluster's installed dance",
        ),
    ] = None,
) -> None:
    """Submit a dance job to a Ray cluster; prints its id (--follow: its logs, then its status)."""
    from ray_jobs.submission import submit_job

    with user_errors():
        cfg = load_config(config, overrides or [])
        names = list(env or [])
        job_id = submit_job(cfg, job, address, names, working_dir, extra_args or [])
        typer.echo(f"environment passed to the job (names only): {', '.join(names) or 'none'}",
                   err=True)
        if names:
            typer.echo("note: Ray 2.60 keeps these values in the job's runtime_env, shown by "
                       "its dashboard and written to runtime_env_agent.log on the cluster; "
                       "prefer the nodes' own credentials (docs/submit.md)", err=True)
        typer.echo(job_id)
        if follow:
            _exit_with(_follow(address, job_id))


def status_command(job_id: JobIdArgument, address: AddressOption = None) -> None:
    """Print a submitted job's status (PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED)."""
    from ray_jobs.submission import job_state

    with user_errors():
        state = job_state(address, job_id)
    typer.echo(state.status)
    if state.message:
        typer.echo(state.message, err=True)


def logs_command(
    job_id: JobIdArgument, address: AddressOption = None, follow: FollowOption = False
) -> None:
    """Print a submitted job's logs (--follow: until it ends, then exit with its status)."""
    from ray_jobs.submission import job_logs

    with user_errors():
        if not follow:
            typer.echo(job_logs(address, job_id), nl=False)
            return
        _exit_with(_follow(address, job_id))


def stop_command(job_id: JobIdArgument, address: AddressOption = None) -> None:
    """Ask the cluster to stop a submitted job."""
    from ray_jobs.submission import stop_job

    with user_errors():
        stopping = stop_job(address, job_id)
    typer.echo(f"stopping {job_id}" if stopping else f"{job_id} had already finished")
