"""`dance submit`, `status`, `logs`, `stop` against a real local Ray head with token auth.

The submitted `dance run` reads its videos from and writes its workdir to a local S3 server
(moto); the head holds the S3 credentials as a cluster node does (distinctive fake values,
never passed with the job), so a leak into the job's output, the head's log files or any
object the run wrote is found by a plain search.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dance.cli import app

# Every stage `dance run` records when the models are given (no fine-tuning, no dual training).
RUN_STAGES = ("manifest", "preprocess", "discover", "train", "evaluate", "sanity", "report")
ACCESS_KEY_ID = "AKIADANCE7Q3LEAKTEST"
SECRET_ACCESS_KEY = "dAnCe/LeakTest+9x8c7v6b5n4m3l2k1SecretValue"
CREDENTIALS = (ACCESS_KEY_ID, SECRET_ACCESS_KEY)


@pytest.fixture(scope="module")
def ray_head(s3_endpoint: str, tmp_path_factory) -> Iterator:
    """A local Ray head (2 CPUs, dashboard, RAY_AUTH_MODE=token) holding S3 credentials."""
    from ray_head import running_ray_head

    node_env = {"AWS_ACCESS_KEY_ID": ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                "DANCE_CACHE_DIR": str(tmp_path_factory.mktemp("node_cache"))}
    with running_ray_head(num_cpus=2, node_env=node_env) as head:
        yield head


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory, tiny_synth: Path, tiny_encoders: dict[str, str]) -> Path:
    """A whole-pipeline config on DANCE-Synth tiny with the tiny saved models, as YAML."""
    from preprocess_helpers import job_config
    from trained_helpers import FAST_TRAIN

    tmp = tmp_path_factory.mktemp("submit")
    _, path = job_config(tmp, str(tmp / "work"), tiny_synth, tiny_encoders,
                         preprocess={"enable_dual": False},
                         discover={"language": {"source": "annotations"}}, train=FAST_TRAIN)
    return path


def _s3_client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def workdir_objects(endpoint: str, bucket: str) -> dict[str, bytes]:
    """Every object under s3://bucket/work/, asked of the server directly (not through dance)."""
    client = _s3_client(endpoint)
    objects = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="work/"):
        for item in page.get("Contents", []):
            objects[item["Key"]] = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return objects


@pytest.fixture(scope="module")
def s3_config(tmp_path_factory, s3_endpoint: str, tiny_synth: Path,
              tiny_encoders: dict[str, str]) -> tuple[Path, str]:
    """DANCE-Synth tiny and the tiny backbone uploaded to a fresh bucket; a config reading
    and writing there."""
    from preprocess_helpers import job_config
    from trained_helpers import FAST_TRAIN

    bucket = f"run-{uuid.uuid4().hex[:16]}"
    client = _s3_client(s3_endpoint)
    client.create_bucket(Bucket=bucket)
    for path in sorted(tiny_synth.rglob("*")):
        if path.is_file():
            client.put_object(Bucket=bucket, Key=f"synth/{path.relative_to(tiny_synth).as_posix()}",
                              Body=path.read_bytes())
    for path in sorted(Path(tiny_encoders["backbone"]).iterdir()):
        client.put_object(Bucket=bucket, Key=f"models/backbone/{path.name}", Body=path.read_bytes())
    tmp = tmp_path_factory.mktemp("submit_s3")
    _, config = job_config(tmp, f"s3://{bucket}/work", f"s3://{bucket}/synth", tiny_encoders,
                           storage={"s3_endpoint": s3_endpoint, "s3_region": "us-east-1"},
                           preprocess={"enable_dual": False},
                           backbone={"model": f"s3://{bucket}/models/backbone"},
                           discover={"language": {"source": "annotations"}}, train=FAST_TRAIN)
    return config, bucket


def dance(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the `dance` command line in a subprocess with `env`."""
    return subprocess.run([sys.executable, "-m", "dance", *args], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def job_id_of(result: subprocess.CompletedProcess) -> str:
    """The job id `dance submit` printed (its first stdout line)."""
    assert result.returncode in (0, 1), result.stderr
    return result.stdout.splitlines()[0].strip()


@pytest.fixture(scope="module")
def succeeded_run(ray_head, s3_config: tuple[Path, str]) -> tuple[subprocess.CompletedProcess, str]:
    """`dance submit run --follow` of the tiny config on S3, once for the module."""
    config, bucket = s3_config
    result = dance("submit", "run", "--config", str(config), "--address", ray_head.address,
                   "--follow", env=ray_head.env, timeout=480)
    return result, bucket


@pytest.mark.slow
def test_submitted_run_follows_the_job_to_succeeded(succeeded_run) -> None:
    result, _ = succeeded_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.splitlines()[0].startswith("raysubmit_")
    assert "job finished: SUCCEEDED" in result.stderr


@pytest.mark.slow
def test_submitted_run_writes_every_stage_record_done_on_s3(succeeded_run, s3_endpoint) -> None:
    objects = workdir_objects(s3_endpoint, succeeded_run[1])
    for stage in RUN_STAGES:
        assert json.loads(objects[f"work/stages/{stage}.json"])["status"] == "done", stage


@pytest.mark.slow
def test_submitted_run_reads_its_videos_from_s3(succeeded_run, s3_endpoint) -> None:
    import pyarrow.parquet as pq

    bucket = succeeded_run[1]
    manifest = workdir_objects(s3_endpoint, bucket)["work/manifest.parquet"]
    uris = pq.read_table(io.BytesIO(manifest)).column("uri").to_pylist()
    assert uris and all(u.startswith(f"s3://{bucket}/synth/") for u in uris), uris[:3]


@pytest.mark.slow
def test_submitted_run_loads_its_backbone_from_s3(succeeded_run, s3_endpoint,
                                                  tiny_encoders: dict[str, str]) -> None:
    from dance.workdir import path_sha256

    bucket = succeeded_run[1]
    record = json.loads(workdir_objects(s3_endpoint, bucket)["work/stages/preprocess.json"])
    backbone = record["inputs"]["backbone"]
    assert backbone["id"] == f"s3://{bucket}/models/backbone"
    assert backbone["sha256"] == path_sha256(tiny_encoders["backbone"])


@pytest.mark.slow
def test_no_credential_in_what_dance_submit_printed(succeeded_run) -> None:
    output = succeeded_run[0].stdout + succeeded_run[0].stderr
    assert "== train ==" in output  # the job's own log lines are part of it
    for value in CREDENTIALS:
        assert value not in output


@pytest.mark.slow
def test_no_credential_in_the_heads_log_files(ray_head, succeeded_run) -> None:
    logs = [p for p in Path(ray_head.temp_dir).rglob("*") if p.is_file() and "logs" in p.parts]
    assert len(logs) > 10, logs
    leaks = [str(p) for p in logs for value in CREDENTIALS if value.encode() in p.read_bytes()]
    assert leaks == []


@pytest.mark.slow
def test_no_credential_in_any_object_under_the_workdir(succeeded_run, s3_endpoint) -> None:
    objects = workdir_objects(s3_endpoint, succeeded_run[1])
    assert len(objects) > 20, sorted(objects)
    leaks = [key for key, body in objects.items() for value in CREDENTIALS if value.encode() in body]
    assert leaks == []


@pytest.mark.slow
def test_logs_print_what_the_job_printed(ray_head, succeeded_run) -> None:
    job_id = job_id_of(succeeded_run[0])
    result = dance("logs", job_id, "--address", ray_head.address, env=ray_head.env)
    assert result.returncode == 0, result.stderr
    assert "python -m dance run --config dance-job.yaml" in result.stdout
    assert "== train ==" in result.stdout


@pytest.mark.slow
def test_status_of_a_finished_job_is_succeeded(ray_head, succeeded_run) -> None:
    job_id = job_id_of(succeeded_run[0])
    result = dance("status", job_id, "--address", ray_head.address, env=ray_head.env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "SUCCEEDED"


def _wait_for_status(ray_head, job_id: str, wanted: set[str], timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    status = ""
    while time.monotonic() < deadline:
        result = dance("status", job_id, "--address", ray_head.address, env=ray_head.env)
        assert result.returncode == 0, result.stderr
        status = result.stdout.strip()
        if status in wanted:
            return status
        time.sleep(1.0)
    return status


@pytest.mark.slow
def test_a_stopped_job_ends_stopped(ray_head, tiny_config: Path, tmp_path: Path) -> None:
    submitted = dance("submit", "run", "--config", str(tiny_config), "--set",
                      f"workdir={tmp_path / 'stopped'}", "--address", ray_head.address,
                      env=ray_head.env)
    job_id = job_id_of(submitted)
    assert _wait_for_status(ray_head, job_id, {"RUNNING"}, 60) == "RUNNING"
    stopped = dance("stop", job_id, "--address", ray_head.address, env=ray_head.env)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.strip() == f"stopping {job_id}"
    finished = {"STOPPED", "SUCCEEDED", "FAILED"}
    assert _wait_for_status(ray_head, job_id, finished, 60) == "STOPPED"


@pytest.mark.slow
def test_the_job_gets_env_values_and_dance_prints_names_only(ray_head, tmp_path: Path) -> None:
    from ray.job_submission import JobSubmissionClient

    secret = "dance-test-value-7f3a9c2e"
    env = {**ray_head.env, "DANCE_TEST_SECRET": secret}
    # `report` on an empty workdir fails at once: only the submission is under test here.
    result = dance("submit", "report", "--config", "demo", "--set", f"workdir={tmp_path}",
                   "--env", "DANCE_TEST_SECRET", "--address", ray_head.address, "--follow",
                   env=env)
    job_id = job_id_of(result)
    assert "environment passed to the job (names only): DANCE_TEST_SECRET" in result.stderr
    assert "runtime_env_agent.log" in result.stderr  # the warning that Ray keeps the value
    assert secret not in result.stdout + result.stderr
    client = JobSubmissionClient(ray_head.address,
                                 headers={"Authorization": f"Bearer {ray_head.token}"})
    assert client.get_job_info(job_id).runtime_env["env_vars"]["DANCE_TEST_SECRET"] == secret


@pytest.mark.slow
def test_without_env_no_variable_is_passed(ray_head, tmp_path: Path) -> None:
    from ray.job_submission import JobSubmissionClient

    env = {**ray_head.env, "AWS_REGION": "eu-west-3"}
    result = dance("submit", "report", "--config", "demo", "--set", f"workdir={tmp_path}",
                   "--address", ray_head.address, "--follow", env=env)
    job_id = job_id_of(result)
    assert "environment passed to the job (names only): none" in result.stderr
    client = JobSubmissionClient(ray_head.address,
                                 headers={"Authorization": f"Bearer {ray_head.token}"})
    assert "AWS_REGION" not in (client.get_job_info(job_id).runtime_env or {}).get("env_vars", {})


@pytest.mark.slow
def test_working_dir_runs_the_checkouts_code(ray_head, tmp_path: Path) -> None:
    import shutil

    repo = Path(__file__).resolve().parents[1]
    checkout = tmp_path / "checkout"
    for package in ("dance", "actors", "ray_jobs"):
        shutil.copytree(repo / package, checkout / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    marker = "dance imported from the uploaded checkout"
    with open(checkout / "dance" / "__init__.py", "a") as init:
        init.write(f"\nprint({marker!r})\n")
    result = dance("submit", "report", "--config", "demo", "--set",
                   f"workdir={tmp_path / 'work'}", "--working-dir", str(checkout),
                   "--address", ray_head.address, "--follow", env=ray_head.env)
    assert marker in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.mark.slow
def test_a_wrong_token_is_a_clear_error(ray_head) -> None:
    env = {**ray_head.env, "RAY_AUTH_TOKEN": "not-the-cluster-token"}
    result = dance("status", "raysubmit_anything", "--address", ray_head.address, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: the Ray cluster at {ray_head.address} rejected")
    assert "set RAY_AUTH_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_missing_token_is_a_clear_error(ray_head) -> None:
    env = {k: v for k, v in ray_head.env.items() if not k.startswith("RAY_AUTH")}
    env["HOME"] = str(Path(ray_head.temp_dir) / "home")  # no ~/.ray/auth_token either
    result = dance("status", "raysubmit_anything", "--address", ray_head.address, env=env)
    assert result.returncode == 2
    assert "requires a token" in result.stderr and "set RAY_AUTH_TOKEN" in result.stderr


@pytest.mark.slow
def test_an_unknown_job_id_is_a_clear_error(ray_head) -> None:
    result = dance("status", "raysubmit_nosuchjob", "--address", ray_head.address,
                   env=ray_head.env)
    assert result.returncode == 2
    assert "no job 'raysubmit_nosuchjob'" in result.stderr


# --- errors before any cluster is reached ------------------------------------------------

runner = CliRunner()


def test_an_unreachable_address_names_it_and_the_fix() -> None:
    from s3_server import free_port

    address = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(app, ["status", "raysubmit_x", "--address", address])
    assert result.exit_code == 2
    assert f"cannot reach a Ray dashboard at {address}" in result.output
    assert "--address" in result.output


def test_no_address_asks_for_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    result = runner.invoke(app, ["submit", "run", "--config", "demo"])
    assert result.exit_code == 2
    assert "pass --address http://HEAD:8265" in result.output and "RAY_ADDRESS" in result.output


def test_a_gcs_address_is_refused_with_the_dashboard_url_to_use() -> None:
    result = runner.invoke(app, ["status", "raysubmit_x", "--address", "10.0.0.5:6379"])
    assert result.exit_code == 2
    assert "--address=10.0.0.5:6379" in result.output and "http://HEAD:8265" in result.output


def test_working_dir_must_be_a_dance_checkout(tmp_path: Path) -> None:
    result = runner.invoke(app, ["submit", "run", "--working-dir", str(tmp_path),
                                 "--address", "http://127.0.0.1:1"])
    assert result.exit_code == 2
    assert f"--working-dir {tmp_path}: not a dance source checkout" in result.output


def test_a_command_without_a_config_cannot_be_submitted() -> None:
    result = runner.invoke(app, ["submit", "predict", "--address", "http://127.0.0.1:1"])
    assert result.exit_code == 2
    assert "cannot submit 'predict'" in result.output


def test_an_unset_env_name_is_refused_before_submitting(monkeypatch) -> None:
    monkeypatch.delenv("DANCE_TEST_UNSET", raising=False)
    result = runner.invoke(app, ["submit", "run", "--env", "DANCE_TEST_UNSET",
                                 "--address", "http://127.0.0.1:1"])
    assert result.exit_code == 2
    assert "--env DANCE_TEST_UNSET: not set" in result.output
