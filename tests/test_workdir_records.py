"""Stage records: fingerprints of exactly a stage's keys, done / stale, refuse / replace / force."""

from __future__ import annotations

from pathlib import Path

import pytest

from dance.config import load_config
from dance.errors import StageError
from dance.workdir import (
    STAGE_KEYS,
    begin_stage,
    current_record,
    flatten,
    read_record,
    record_uri,
    require_done,
    stage_config,
)


def _config(tmp_path: Path, *overrides: str) -> dict:
    """The demo preset on a temporary workdir, dumped as JSON, with overrides."""
    cfg = load_config("demo", [f"workdir={tmp_path}", *overrides])
    return cfg.model_dump(mode="json")


def _quiet(line: str) -> None:
    del line


def test_every_declared_stage_key_names_a_config_key() -> None:
    keys = set(flatten(load_config("demo").model_dump(mode="json")))
    prefixes = [p for include, exclude in STAGE_KEYS.values() for p in (*include, *exclude)]
    unknown = [p for p in prefixes if not any(k == p or k.startswith(p + ".") for k in keys)]
    assert unknown == []


def test_a_stage_fingerprint_covers_its_keys_and_ignores_resources(tmp_path: Path) -> None:
    base = stage_config("preprocess", _config(tmp_path))
    resources = stage_config("preprocess", _config(tmp_path, "pose.resources.pool_size=7"))
    length = stage_config("preprocess", _config(tmp_path, "clips.clip_length=8"))
    assert resources == base
    assert length["clips.clip_length"] == 8 and base["clips.clip_length"] == 16


def test_a_finished_stage_records_facts_counts_and_time(tmp_path: Path) -> None:
    run = begin_stage(str(tmp_path), "preprocess", _config(tmp_path), log=_quiet)
    assert read_record(str(tmp_path), "preprocess").status == "running"
    run.finish(facts={"clip_length": 16}, counts={"videos": 3})
    record = require_done(str(tmp_path), "preprocess")
    assert record.facts == {"clip_length": 16} and record.counts == {"videos": 3}
    assert record.seconds is not None and record.dance_version


def test_a_resumable_stage_refuses_a_changed_key_and_names_it(tmp_path: Path) -> None:
    begin_stage(str(tmp_path), "preprocess", _config(tmp_path), log=_quiet).finish()
    (tmp_path / "videos").mkdir()
    with pytest.raises(StageError, match=r"clips\.clip_length: 16 -> 8.*--force"):
        begin_stage(str(tmp_path), "preprocess", _config(tmp_path, "clips.clip_length=8"), log=_quiet)
    assert (tmp_path / "videos").is_dir()
    assert require_done(str(tmp_path), "preprocess").config["clips.clip_length"] == 16


def test_force_removes_the_stage_outputs_and_starts_over(tmp_path: Path) -> None:
    begin_stage(str(tmp_path), "preprocess", _config(tmp_path), log=_quiet).finish()
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "part-1.parquet").write_bytes(b"old")
    changed = _config(tmp_path, "clips.clip_length=8")
    run = begin_stage(str(tmp_path), "preprocess", changed, force=True, log=_quiet)
    assert not (tmp_path / "videos").exists()
    assert run.record.config["clips.clip_length"] == 8 and run.record.status == "running"


def test_a_stage_that_rewrites_its_outputs_replaces_them_and_says_why(tmp_path: Path) -> None:
    begin_stage(str(tmp_path), "discover", _config(tmp_path), log=_quiet).finish()
    lines: list[str] = []
    begin_stage(
        str(tmp_path), "discover", _config(tmp_path, "discover.motion.partition=0"), log=lines.append
    )
    assert any("discover.motion.partition: 1 -> 0" in line for line in lines)


def test_outputs_without_a_record_are_not_resumed(tmp_path: Path) -> None:
    (tmp_path / "clips").mkdir()
    with pytest.raises(StageError, match="without a stage record"):
        begin_stage(str(tmp_path), "preprocess", _config(tmp_path), log=_quiet)


def test_a_missing_upstream_stage_names_the_command_that_makes_it(tmp_path: Path) -> None:
    with pytest.raises(StageError, match="run `dance preprocess"):
        begin_stage(str(tmp_path), "discover", _config(tmp_path), upstream=["preprocess"], log=_quiet)


def test_an_unfinished_upstream_stage_is_not_read(tmp_path: Path) -> None:
    begin_stage(str(tmp_path), "preprocess", _config(tmp_path), log=_quiet)
    with pytest.raises(StageError, match="has not finished"):
        require_done(str(tmp_path), "preprocess")


def test_a_redone_upstream_stage_makes_the_downstream_stage_stale(tmp_path: Path) -> None:
    config = _config(tmp_path)
    begin_stage(str(tmp_path), "preprocess", config, log=_quiet).finish()
    begin_stage(str(tmp_path), "discover", config, upstream=["preprocess"], log=_quiet).finish()
    assert current_record(str(tmp_path), "discover", config, upstream=["preprocess"]) is not None
    redo = _config(tmp_path, "clips.clip_length=8")
    begin_stage(str(tmp_path), "preprocess", redo, force=True, log=_quiet).finish()
    assert current_record(str(tmp_path), "discover", redo, upstream=["preprocess"]) is None


def test_a_changed_model_file_is_a_changed_input(tmp_path: Path) -> None:
    from dance.workdir import model_reference

    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.safetensors").write_bytes(b"one")
    config = _config(tmp_path)
    inputs = {"backbone": model_reference(str(model))}
    begin_stage(str(tmp_path), "preprocess", config, inputs=inputs, log=_quiet).finish()
    (model / "weights.safetensors").write_bytes(b"two")
    with pytest.raises(StageError, match="input backbone"):
        begin_stage(
            str(tmp_path),
            "preprocess",
            config,
            inputs={"backbone": model_reference(str(model))},
            log=_quiet,
        )


def test_a_damaged_record_is_a_clear_error(tmp_path: Path) -> None:
    uri = Path(record_uri(str(tmp_path), "preprocess"))
    uri.parent.mkdir(parents=True)
    uri.write_text('{"format": "something else"}')
    with pytest.raises(StageError, match="not a dance stage record"):
        read_record(str(tmp_path), "preprocess")
