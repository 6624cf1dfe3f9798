"""dance.storage against a real S3 server (moto on 127.0.0.1): round trips, atomicity, errors."""

from __future__ import annotations

import gc
import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import av
import boto3
import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from dance import storage
from dance.config import StorageConfig

pytestmark = pytest.mark.s3

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY_VIDEO_FRAMES = 12


def _object_keys(bucket_uri: str) -> list[str]:
    """Every key in the bucket, asked of the server directly (not through dance)."""
    endpoint = storage.current_config().s3_endpoint
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    listing = client.list_objects_v2(Bucket=bucket_uri.removeprefix("s3://"))
    return sorted(item["Key"] for item in listing.get("Contents", []))


def _tiny_video() -> bytes:
    """A 12-frame 64x48 MPEG-4 video made with PyAV, so no shared media is needed."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(TINY_VIDEO_FRAMES):
            image = np.full((48, 64, 3), index * 20, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return buffer.getvalue()


@pytest.fixture
def restored_config() -> Iterator[None]:
    """Put the process-wide storage config back after a test that changes it."""
    previous = storage.current_config()
    yield
    storage.configure(previous)


# --- round trips -------------------------------------------------------------------------


def test_parquet_round_trip_on_s3(s3_bucket: str) -> None:
    table = pa.table({"video_id": ["v1", "v2"], "backbone": [[0.5, 1.0], [2.0, -1.5]]})
    uri = storage.join(s3_bucket, "work", "videos.parquet")
    storage.write_parquet(table, uri)
    assert storage.read_parquet(uri).equals(table)
    assert storage.read_parquet(uri, columns=["video_id"]).column_names == ["video_id"]


def test_parquet_prefix_of_parts_on_s3_reads_in_name_order(s3_bucket: str) -> None:
    parts = storage.join(s3_bucket, "work", "clips")
    storage.write_parquet(pa.table({"video_id": ["z"]}), storage.join(parts, "part-1.parquet"))
    storage.write_parquet(pa.table({"video_id": ["a"]}), storage.join(parts, "part-0.parquet"))
    assert storage.read_parquet(parts).column("video_id").to_pylist() == ["a", "z"]


def test_generated_video_round_trips_and_decodes_from_s3(s3_bucket: str) -> None:
    video = _tiny_video()
    uri = storage.join(s3_bucket, "videos", "tiny.mp4")
    storage.write_bytes(uri, video)
    assert storage.read_bytes(uri) == video
    # open_input must be seekable enough for a real demuxer reading straight from S3.
    with storage.open_input(uri) as handle, av.open(handle) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == TINY_VIDEO_FRAMES


def test_real_video_round_trips_through_s3(s3_bucket: str, shared_data: Path) -> None:
    source = shared_data / "acrobacia.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent from the shared media folder")
    original = source.read_bytes()
    uri = storage.join(s3_bucket, "videos", "acrobacia.mp4")
    with storage.atomic_writer(uri) as handle:
        handle.write(original)
    assert storage.read_bytes(uri) == original
    with storage.open_input(uri) as handle:
        handle.seek(-1000, os.SEEK_END)
        assert handle.read() == original[-1000:]


def test_json_round_trip_on_s3(s3_bucket: str) -> None:
    uri = storage.join(s3_bucket, "model", "config.json")
    storage.write_json({"b": 1, "a": ["x"]}, uri)
    assert storage.read_json(uri) == {"a": ["x"], "b": 1}
    assert storage.read_bytes(uri).startswith(b'{\n  "a"')


def test_filesystem_for_s3_gives_a_cached_filesystem_and_bucket_key_path(s3_bucket: str) -> None:
    uri = storage.join(s3_bucket, "work", "m.parquet")
    storage.write_parquet(pa.table({"video_id": ["v"]}), uri)
    fs, path = storage.filesystem_for(uri)
    assert isinstance(fs, pafs.S3FileSystem)
    assert path == uri.removeprefix("s3://")  # the form Ray Data and pyarrow expect
    assert pq.read_table(path, filesystem=fs).column("video_id").to_pylist() == ["v"]
    assert storage.filesystem_for(uri)[0] is fs


def test_endpoint_comes_from_aws_endpoint_url_when_not_configured(
    s3_bucket: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = storage.join(s3_bucket, "x.bin")
    storage.write_bytes(uri, b"from config")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    storage.configure(StorageConfig())  # s3_bucket restores the previous config
    assert storage.read_bytes(uri) == b"from config"


# --- atomicity ---------------------------------------------------------------------------


def _write_then_fail(uri: str) -> None:
    """Write into an atomic writer, then fail; the traceback is dropped on return."""
    try:
        with storage.atomic_writer(uri) as handle:
            handle.write(b"x" * 3_000_000)
            raise RuntimeError("stage failed")
    except RuntimeError as exc:
        assert str(exc) == "stage failed"
    else:
        raise AssertionError("the body's exception was swallowed")


def test_atomic_writer_on_s3_leaves_no_object_when_the_body_raises(
    s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the local spool goes
    uri = storage.join(s3_bucket, "videos", "part-0.parquet")
    _write_then_fail(uri)
    # pyarrow's S3 stream commits when it is garbage-collected unclosed, so collect every
    # dropped frame before looking: a streaming writer would show its object now.
    gc.collect()
    assert _object_keys(s3_bucket) == []
    assert os.listdir(tmp_path) == []  # and the local spool file is gone too
    assert not storage.exists(uri)


def test_a_killed_s3_writer_leaves_no_object(s3_bucket: str, tmp_path: Path) -> None:
    uri = storage.join(s3_bucket, "videos", "part-0.parquet")
    script = textwrap.dedent(
        """
        import sys, time
        from dance import storage
        from dance.config import StorageConfig
        storage.configure(StorageConfig(s3_endpoint=sys.argv[2]))
        with storage.atomic_writer(sys.argv[1]) as handle:
            handle.write(b"x" * 100_000)
            handle.flush()
            print("written", flush=True)
            time.sleep(60)
        """
    )
    endpoint = storage.current_config().s3_endpoint
    assert endpoint is not None
    writer = subprocess.Popen(
        [sys.executable, "-c", script, uri, endpoint],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # its local spool lands here
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "written"
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait(timeout=30)
    assert _object_keys(s3_bucket) == []
    # The written bytes existed, but only in the writer's local spool.
    (spool,) = tmp_path.iterdir()
    assert spool.stat().st_size == 100_000


# --- listing, existence, removal ---------------------------------------------------------


def test_list_files_on_s3_is_recursive_sorted_and_keeps_the_scheme(s3_bucket: str) -> None:
    for key in ["w/b.parquet", "w/a.json", "w/sub/c.parquet", "other/d.parquet"]:
        storage.write_bytes(storage.join(s3_bucket, key), b"x")
    base = storage.join(s3_bucket, "w")
    assert storage.list_files(base) == [
        f"{s3_bucket}/w/a.json",
        f"{s3_bucket}/w/b.parquet",
        f"{s3_bucket}/w/sub/c.parquet",
    ]
    assert storage.list_files(base, suffix=".parquet") == [
        f"{s3_bucket}/w/b.parquet",
        f"{s3_bucket}/w/sub/c.parquet",
    ]
    assert storage.list_files(storage.join(s3_bucket, "missing")) == []


def test_remove_on_s3_deletes_objects_and_prefixes(s3_bucket: str) -> None:
    for key in ["w/a.bin", "w/sub/b.bin", "keep.bin"]:
        storage.write_bytes(storage.join(s3_bucket, key), b"x")
    storage.remove(storage.join(s3_bucket, "w", "a.bin"))
    assert storage.list_files(storage.join(s3_bucket, "w")) == [f"{s3_bucket}/w/sub/b.bin"]
    storage.remove(storage.join(s3_bucket, "w"))
    assert storage.list_files(s3_bucket) == [f"{s3_bucket}/keep.bin"]
    assert storage.exists(storage.join(s3_bucket, "keep.bin"))
    with pytest.raises(storage.StorageError, match="whole bucket"):
        storage.remove(s3_bucket)


# --- errors ------------------------------------------------------------------------------


def test_missing_object_names_the_uri(s3_bucket: str) -> None:
    missing = storage.join(s3_bucket, "no", "such.parquet")
    for read in (storage.read_bytes, storage.read_parquet):
        with pytest.raises(storage.ObjectNotFoundError, match="no/such.parquet") as caught:
            read(missing)
        assert isinstance(caught.value, FileNotFoundError)
    assert not storage.exists(missing)


def test_writing_into_a_missing_bucket_says_to_create_it(s3_bucket: str) -> None:
    with pytest.raises(storage.StorageError, match="bucket does not exist.*create the bucket"):
        storage.write_bytes("s3://no-such-bucket-for-dance/x.bin", b"x")


def test_unreachable_endpoint_fails_fast_naming_endpoint_and_fix(
    monkeypatch: pytest.MonkeyPatch, restored_config: None
) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    with socket.socket() as sock:  # a port that was just free and now has no listener
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    storage.configure(StorageConfig(s3_endpoint=endpoint))
    started = time.monotonic()
    with pytest.raises(storage.StorageUnreachableError) as caught:
        storage.read_bytes("s3://some-bucket/videos/a.mp4")
    elapsed = time.monotonic() - started
    assert elapsed < 30
    message = str(caught.value)
    assert endpoint in message and "s3://some-bucket/videos/a.mp4" in message
    assert "storage.s3_endpoint" in message and "AWS_ENDPOINT_URL" in message
    assert "testing" not in message  # credentials never appear
