"""dance.storage on local paths and file:// URIs: round trips, atomicity, listing, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pytest
from pydantic import ValidationError

from dance import storage
from dance.config import StorageConfig

REPO_ROOT = Path(__file__).resolve().parents[1]


def _table(ids: list[str]) -> pa.Table:
    """A small table keyed by video_id, with a list column like the real outputs."""
    return pa.table(
        {
            "video_id": ids,
            "num_frames": pa.array([10 * (i + 1) for i in range(len(ids))], pa.int32()),
            "keyframes": pa.array([[0, i] for i in range(len(ids))], pa.list_(pa.int32())),
        }
    )


def _leftovers(directory: Path) -> list[str]:
    """Every name in `directory`, hidden ones included."""
    return sorted(os.listdir(directory))


# --- round trips -----------------------------------------------------------------------


def test_bytes_round_trip_creates_missing_parent_directories(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "blob.bin"
    payload = bytes(range(256)) * 10
    storage.write_bytes(str(target), payload)
    assert storage.read_bytes(str(target)) == payload
    assert target.read_bytes() == payload


def test_file_uri_and_plain_path_name_the_same_file(tmp_path: Path) -> None:
    target = tmp_path / "with space" / "x.bin"
    storage.write_bytes(target.as_uri(), b"via uri")
    assert target.read_bytes() == b"via uri"
    assert storage.read_bytes(str(target)) == b"via uri"
    assert storage.exists(target.as_uri())


def test_write_bytes_replaces_existing_content(tmp_path: Path) -> None:
    target = str(tmp_path / "x.bin")
    storage.write_bytes(target, b"old")
    storage.write_bytes(target, b"new")
    assert storage.read_bytes(target) == b"new"
    assert _leftovers(tmp_path) == ["x.bin"]


def test_write_bytes_rejects_text_naming_the_fix(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="needs bytes.*encode"):
        storage.write_bytes(str(tmp_path / "x.txt"), "text")  # type: ignore[arg-type]


def test_json_is_written_utf8_with_sorted_keys_and_indent_two(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    document = {"zeta": [1, 2.5], "alpha": {"name": "acrobacia—señal", "ok": True, "x": None}}
    storage.write_json(document, str(target))
    expected = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert target.read_bytes() == expected.encode("utf-8")
    assert storage.read_json(str(target)) == document


def test_json_refuses_nan_naming_the_target(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    with pytest.raises(ValueError, match=r"metrics\.json.*NaN"):
        storage.write_json({"accuracy": float("nan")}, str(target))
    assert _leftovers(tmp_path) == []


def test_invalid_json_raises_storage_error_naming_the_file(tmp_path: Path) -> None:
    target = tmp_path / "broken.json"
    target.write_text("{not json", encoding="utf-8")
    with pytest.raises(storage.StorageError, match="broken.json.*not valid"):
        storage.read_json(str(target))


def test_parquet_file_round_trip_keeps_types_and_selects_columns(tmp_path: Path) -> None:
    target = str(tmp_path / "videos.parquet")
    table = _table(["v1", "v2", "v3"])
    storage.write_parquet(table, target)
    assert storage.read_parquet(target).equals(table)
    picked = storage.read_parquet(target, columns=["num_frames", "video_id"])
    assert picked.column_names == ["num_frames", "video_id"]
    assert picked.column("video_id").to_pylist() == ["v1", "v2", "v3"]


def test_parquet_directory_concatenates_parts_sorted_by_name(tmp_path: Path) -> None:
    parts = tmp_path / "videos"
    # Written out of name order: the read order must follow names, not write order.
    storage.write_parquet(_table(["c"]), str(parts / "part-00002.parquet"))
    storage.write_parquet(_table(["a", "b"]), str(parts / "part-00000.parquet"))
    storage.write_parquet(_table(["b2"]), str(parts / "part-00001.parquet"))
    (parts / "_SUCCESS").write_text("", encoding="utf-8")
    table = storage.read_parquet(str(parts))
    assert table.column("video_id").to_pylist() == ["a", "b", "b2", "c"]


def test_parquet_parts_with_an_all_null_column_concatenate(tmp_path: Path) -> None:
    parts = tmp_path / "clips"
    storage.write_parquet(
        pa.table({"video_id": ["a"], "error": ["boom"]}), str(parts / "p0.parquet")
    )
    storage.write_parquet(pa.table({"video_id": ["b"], "error": [None]}), str(parts / "p1.parquet"))
    table = storage.read_parquet(str(parts))
    assert table.schema.field("error").type == pa.string()
    assert table.column("error").to_pylist() == ["boom", None]


def test_parquet_unknown_column_is_named_in_the_error(tmp_path: Path) -> None:
    target = str(tmp_path / "videos.parquet")
    storage.write_parquet(_table(["v1"]), target)
    with pytest.raises(storage.StorageError, match=r"\['fps'\].*videos\.parquet"):
        storage.read_parquet(target, columns=["video_id", "fps"])


def test_parquet_directory_without_parts_is_not_found(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(storage.ObjectNotFoundError, match="no \\*\\.parquet files"):
        storage.read_parquet(str(tmp_path / "empty"))


def test_write_parquet_rejects_non_tables(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="needs a pyarrow.Table"):
        storage.write_parquet({"video_id": ["a"]}, str(tmp_path / "x.parquet"))  # type: ignore[arg-type]


def test_open_input_gives_random_access(tmp_path: Path) -> None:
    target = str(tmp_path / "clip.bin")
    storage.write_bytes(target, bytes(range(200)))
    with storage.open_input(target) as handle:
        handle.seek(150)
        assert handle.read(3) == bytes([150, 151, 152])
        assert handle.tell() == 153
        handle.seek(-2, os.SEEK_END)
        assert handle.read() == bytes([198, 199])


# --- atomicity -------------------------------------------------------------------------


def test_atomic_writer_leaves_nothing_when_the_body_raises(tmp_path: Path) -> None:
    target = tmp_path / "out" / "part-0.parquet"
    with (
        pytest.raises(RuntimeError, match="stage failed"),
        storage.atomic_writer(str(target)) as handle,
    ):
        handle.write(b"half a file")
        raise RuntimeError("stage failed")
    assert not target.exists()
    assert _leftovers(target.parent) == []  # no temp file either


def test_atomic_writer_keeps_the_old_content_when_the_body_raises(tmp_path: Path) -> None:
    target = tmp_path / "model.json"
    storage.write_bytes(str(target), b"old complete content")
    with pytest.raises(KeyboardInterrupt), storage.atomic_writer(str(target)) as handle:
        handle.write(b"new but ")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old complete content"
    assert _leftovers(tmp_path) == ["model.json"]


def test_atomic_writer_survives_a_body_that_closes_the_handle(tmp_path: Path) -> None:
    target = tmp_path / "x.bin"
    with storage.atomic_writer(str(target)) as handle:
        handle.write(b"done")
        handle.close()
    assert target.read_bytes() == b"done"


def test_a_killed_writer_leaves_no_file_at_the_target(tmp_path: Path) -> None:
    target = tmp_path / "videos" / "part-00000.parquet"
    script = textwrap.dedent(
        """
        import sys, time
        from dance import storage
        with storage.atomic_writer(sys.argv[1]) as handle:
            handle.write(b"x" * 100_000)
            handle.flush()
            print("written", flush=True)
            time.sleep(60)
        """
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", script, str(target)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "written"
        writer.send_signal(signal.SIGKILL)
        assert writer.wait(timeout=30) == -signal.SIGKILL
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait(timeout=30)
    assert not target.exists()
    # The partial bytes reached disk, but only under a hidden temp name...
    (leftover,) = _leftovers(target.parent)
    assert leftover.startswith(".part-00000.parquet.tmp-")
    assert (target.parent / leftover).stat().st_size == 100_000
    # ...which neither listings nor Parquet directory reads ever pick up.
    assert storage.list_files(str(target.parent)) == []
    with pytest.raises(storage.ObjectNotFoundError):
        storage.read_parquet(str(target.parent))


# --- listing, existence, removal ---------------------------------------------------------


def test_list_files_is_recursive_sorted_and_filters_by_suffix(tmp_path: Path) -> None:
    for name in ["b.parquet", "a.json", "sub/c.parquet", "sub/deeper/a.parquet", "0.parquet"]:
        storage.write_bytes(str(tmp_path / name), b"x")
    base = str(tmp_path)
    assert storage.list_files(base) == [
        os.path.join(base, name)
        for name in ["0.parquet", "a.json", "b.parquet", "sub/c.parquet", "sub/deeper/a.parquet"]
    ]
    assert storage.list_files(base, suffix=".parquet") == [
        os.path.join(base, name)
        for name in ["0.parquet", "b.parquet", "sub/c.parquet", "sub/deeper/a.parquet"]
    ]


def test_list_files_keeps_the_callers_uri_form(tmp_path: Path) -> None:
    storage.write_bytes(str(tmp_path / "d" / "x.bin"), b"x")
    assert storage.list_files((tmp_path / "d").as_uri()) == [(tmp_path / "d" / "x.bin").as_uri()]


def test_list_files_of_a_missing_directory_is_empty(tmp_path: Path) -> None:
    assert storage.list_files(str(tmp_path / "nothing-here")) == []


def test_list_files_of_a_file_lists_that_file(tmp_path: Path) -> None:
    target = str(tmp_path / "one.parquet")
    storage.write_bytes(target, b"x")
    assert storage.list_files(target) == [target]
    assert storage.list_files(target, suffix=".json") == []


def test_exists_makedirs_and_remove(tmp_path: Path) -> None:
    directory = str(tmp_path / "reports" / "assets")
    assert not storage.exists(directory)
    storage.makedirs(directory)
    assert storage.exists(directory) and os.path.isdir(directory)
    file_uri = storage.join(directory, "plot.png")
    storage.write_bytes(file_uri, b"png")
    storage.remove(file_uri)
    assert not storage.exists(file_uri)
    storage.write_bytes(file_uri, b"png")
    storage.remove(str(tmp_path / "reports"))  # directories go recursively
    assert not storage.exists(str(tmp_path / "reports"))


def test_remove_of_a_missing_file_is_silent_unless_asked(tmp_path: Path) -> None:
    missing = str(tmp_path / "gone.bin")
    storage.remove(missing)
    with pytest.raises(storage.ObjectNotFoundError, match="gone.bin"):
        storage.remove(missing, missing_ok=False)


# --- errors ------------------------------------------------------------------------------


def test_reading_a_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = str(tmp_path / "no" / "such.parquet")
    for read in (storage.read_bytes, storage.read_parquet, storage.read_json):
        with pytest.raises(storage.ObjectNotFoundError, match="no/such.parquet") as caught:
            read(missing)
        assert isinstance(caught.value, FileNotFoundError)
    with (
        pytest.raises(storage.ObjectNotFoundError, match="no/such.parquet"),
        storage.open_input(missing),
    ):
        pass


def test_reading_a_directory_as_a_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(storage.StorageError, match="is a directory"):
        storage.read_bytes(str(tmp_path))


@pytest.mark.parametrize("uri", ["gs://bucket/key", "http://host/x.mp4", "hdfs://nn/x"])
def test_unsupported_schemes_name_the_supported_ones(uri: str) -> None:
    with pytest.raises(storage.StorageError, match=r"unsupported URI scheme.*s3://bucket/key"):
        storage.read_bytes(uri)


def test_s3_uri_without_bucket_is_rejected() -> None:
    with pytest.raises(storage.StorageError, match="has no bucket"):
        storage.exists("s3:///key")


# --- join and parent ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "parts", "expected"),
    [
        ("s3://bucket", ("videos", "part-0.parquet"), "s3://bucket/videos/part-0.parquet"),
        ("s3://bucket/work/", ("model/", "config.json"), "s3://bucket/work/model/config.json"),
        ("s3://bucket/work", ("clips/part-1.parquet",), "s3://bucket/work/clips/part-1.parquet"),
        ("/data/work", ("videos", "a.parquet"), "/data/work/videos/a.parquet"),
        ("work", ("videos",), "work/videos"),
        ("file:///data/work", ("a b.json",), "file:///data/work/a%20b.json"),
        ("s3://bucket/work", (), "s3://bucket/work"),
    ],
)
def test_join(base: str, parts: tuple[str, ...], expected: str) -> None:
    assert storage.join(base, *parts) == expected


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/work/videos/a.parquet", "s3://bucket/work/videos"),
        ("s3://bucket/work/", "s3://bucket"),
        ("s3://bucket", "s3://bucket"),
        ("/data/work/a.parquet", "/data/work"),
        ("/data/work/", "/data"),
        ("a.parquet", "."),
        ("file:///data/work/a.json", "file:///data/work"),
    ],
)
def test_parent(uri: str, expected: str) -> None:
    assert storage.parent(uri) == expected


def test_join_refuses_an_absolute_part() -> None:
    with pytest.raises(storage.StorageError, match="absolute"):
        storage.join("s3://bucket/work", "/etc/passwd")


def test_is_s3() -> None:
    assert storage.is_s3("s3://bucket/key")
    assert not storage.is_s3("/tmp/s3://x")
    assert not storage.is_s3("file:///tmp/x")


def test_filesystem_for_a_local_path_is_local_and_absolute(tmp_path: Path) -> None:
    fs, path = storage.filesystem_for(str(tmp_path / "x.parquet"))
    assert isinstance(fs, pafs.LocalFileSystem)
    assert path == str(tmp_path / "x.parquet")
    _, from_uri = storage.filesystem_for((tmp_path / "x.parquet").as_uri())
    assert from_uri == path


# --- configuration -----------------------------------------------------------------------


def test_config_defaults() -> None:
    config = StorageConfig()
    assert config.s3_endpoint is None and config.s3_region is None
    assert (config.connect_timeout_s, config.request_timeout_s, config.max_attempts) == (
        5.0,
        20.0,
        3,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("s3_endpoint", "127.0.0.1:9000"),  # no scheme
        ("s3_endpoint", "ftp://host"),
        ("connect_timeout_s", 0),
        ("request_timeout_s", -1),
        ("max_attempts", 0),
        ("s3_region", ""),
        ("unknown_key", 1),
    ],
)
def test_config_rejects_bad_values_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        StorageConfig(**{field: value})


def test_configure_sets_the_process_wide_config() -> None:
    previous = storage.current_config()
    try:
        storage.configure(StorageConfig(s3_endpoint="http://127.0.0.1:9000"))
        assert storage.current_config().s3_endpoint == "http://127.0.0.1:9000"
    finally:
        storage.configure(previous)
    assert storage.current_config() == previous


def test_configure_rejects_a_plain_dict() -> None:
    with pytest.raises(TypeError, match="StorageConfig"):
        storage.configure({"s3_endpoint": "http://x:1"})  # type: ignore[arg-type]
