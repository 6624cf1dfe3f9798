"""`dance run` with its videos and its workdir on S3 (moto on 127.0.0.1), credentials kept out.

The run is a real `dance run` subprocess on a local Ray instance whose temp dir is the
test's own; its AWS credentials are distinctive fake values, so a leak into its output, the
Ray session's log files or any object it wrote is found by a plain search.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from preprocess_helpers import job_config
from trained_helpers import FAST_TRAIN

pytestmark = [pytest.mark.slow, pytest.mark.s3]

ACCESS_KEY_ID = "AKIADANCE7Q3LEAKTEST"
SECRET_ACCESS_KEY = "dAnCe/LeakTest+9x8c7v6b5n4m3l2k1SecretValue"
CREDENTIALS = (ACCESS_KEY_ID, SECRET_ACCESS_KEY)
RUN_STAGES = ("manifest", "preprocess", "discover", "train", "evaluate", "sanity", "report")


@dataclass(frozen=True)
class S3Run:
    """A finished `dance run` on S3: its process result, bucket, workdir key and Ray temp dir."""

    result: subprocess.CompletedProcess
    bucket: str
    ray_temp_dir: Path


def _s3_client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def _workdir_objects(endpoint: str, bucket: str) -> dict[str, bytes]:
    """Every object under s3://bucket/work/, asked of the server directly (not through dance)."""
    client = _s3_client(endpoint)
    objects = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="work/"):
        for item in page.get("Contents", []):
            objects[item["Key"]] = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return objects


def _upload_folder(endpoint: str, folder: Path, bucket: str, prefix: str) -> None:
    client = _s3_client(endpoint)
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            key = f"{prefix}/{path.relative_to(folder).as_posix()}"
            client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())


@pytest.fixture(scope="module")
def s3_run(s3_endpoint: str, tiny_synth: Path, tiny_encoders: dict[str, str],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Run]:
    """DANCE-Synth tiny uploaded to a fresh bucket, then `dance run` from and into it."""
    bucket = f"run-{uuid.uuid4().hex[:16]}"
    _s3_client(s3_endpoint).create_bucket(Bucket=bucket)
    _upload_folder(s3_endpoint, tiny_synth, bucket, "synth")
    tmp = tmp_path_factory.mktemp("run_s3")
    _, config = job_config(tmp, f"s3://{bucket}/work", f"s3://{bucket}/synth", tiny_encoders,
                           storage={"s3_endpoint": s3_endpoint, "s3_region": "us-east-1"},
                           preprocess={"enable_dual": False},
                           discover={"language": {"source": "annotations"}}, train=FAST_TRAIN)
    # A short path of the test's own: Ray's unix sockets under it must fit 107 characters.
    ray_tmp = Path(tempfile.mkdtemp(prefix="dr", dir="/tmp"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("RAY_ADDRESS", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")}
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
               RAY_TMPDIR=str(ray_tmp))
    try:
        result = subprocess.run(
            [sys.executable, "-m", "dance", "run", "--config", str(config)], env=env,
            capture_output=True, text=True, timeout=540, check=False,
        )
        yield S3Run(result, bucket, ray_tmp)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)


def test_run_with_videos_and_workdir_on_s3_succeeds(s3_run: S3Run) -> None:
    assert s3_run.result.returncode == 0, s3_run.result.stderr[-4000:]


def test_run_on_s3_records_every_stage_done(s3_run: S3Run, s3_endpoint: str) -> None:
    objects = _workdir_objects(s3_endpoint, s3_run.bucket)
    for stage in RUN_STAGES:
        record = json.loads(objects[f"work/stages/{stage}.json"])
        assert record["status"] == "done", stage


def test_run_on_s3_reads_its_videos_from_s3(s3_run: S3Run, s3_endpoint: str) -> None:
    import io

    import pyarrow.parquet as pq

    manifest = _workdir_objects(s3_endpoint, s3_run.bucket)["work/manifest.parquet"]
    uris = pq.read_table(io.BytesIO(manifest)).column("uri").to_pylist()
    assert uris and all(u.startswith(f"s3://{s3_run.bucket}/synth/") for u in uris), uris[:3]


def test_no_credential_in_the_runs_output(s3_run: S3Run) -> None:
    output = s3_run.result.stdout + s3_run.result.stderr
    assert output.strip(), "the run printed nothing: the check would prove nothing"
    for value in CREDENTIALS:
        assert value not in output


def test_no_credential_in_the_ray_session_logs(s3_run: S3Run) -> None:
    logs = [p for p in s3_run.ray_temp_dir.rglob("*") if p.is_file() and "logs" in p.parts]
    assert logs, f"no Ray log files under {s3_run.ray_temp_dir}"
    leaks = [str(p) for p in logs for value in CREDENTIALS if value.encode() in p.read_bytes()]
    assert leaks == []


def test_no_credential_in_any_object_under_the_workdir(s3_run: S3Run, s3_endpoint: str) -> None:
    objects = _workdir_objects(s3_endpoint, s3_run.bucket)
    assert len(objects) > 20, sorted(objects)
    leaks = [key for key, body in objects.items() for value in CREDENTIALS if value.encode() in body]
    assert leaks == []
