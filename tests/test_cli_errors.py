"""User-fixable errors are one line naming the fix; anything else keeps its traceback."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dance.cli import app


def test_a_bad_config_value_is_one_line_naming_the_key() -> None:
    result = CliRunner().invoke(
        app, ["preprocess", "--config", "demo", "--set", "clips.clip_length=-1"]
    )
    assert result.exit_code == 2
    assert "clips.clip_length" in result.output and "Traceback" not in result.output


def test_a_missing_upstream_stage_is_one_line_naming_the_command(tmp_path: Path) -> None:
    from dance.manifest import Manifest, ManifestRecord

    Manifest.from_records(
        [ManifestRecord(video_id="v", uri="v.mp4", label_name="a", split="train")]
    ).write(str(tmp_path / "manifest.parquet"))
    result = CliRunner().invoke(
        app, ["discover", "--config", "demo", "--set", f"workdir={tmp_path}"]
    )
    assert result.exit_code == 2
    assert "run `dance preprocess" in result.output


@pytest.mark.parametrize(
    ("command", "upstream"), [("train", "dance preprocess"), ("evaluate", "dance train")]
)
def test_train_and_evaluate_without_their_upstream_name_the_command_to_run(
    tmp_path: Path, command: str, upstream: str
) -> None:
    result = CliRunner().invoke(app, [command, "--config", "demo", "--set", f"workdir={tmp_path}"])
    assert result.exit_code == 2
    assert f"run `{upstream}" in result.output and "Traceback" not in result.output


def _internal_bug(*args, **kwargs):
    raise ValueError("internal bug: not a user error")


def test_an_internal_error_inside_a_job_keeps_its_traceback(tmp_path: Path, monkeypatch) -> None:
    import ray_jobs.preprocess
    from dance.manifest import Manifest, ManifestRecord

    Manifest.from_records(
        [ManifestRecord(video_id="v", uri="v.mp4", label_name="a", split="train")]
    ).write(str(tmp_path / "manifest.parquet"))
    monkeypatch.setattr(ray_jobs.preprocess, "resolve_encoder_models", _internal_bug)
    result = CliRunner().invoke(
        app, ["preprocess", "--config", "demo", "--set", f"workdir={tmp_path}"]
    )
    assert result.exit_code == 1 and isinstance(result.exception, ValueError)
    assert "error: internal bug" not in result.output
    shown = "".join(traceback.format_exception(*result.exc_info))
    assert "Traceback" in shown and "_internal_bug" in shown


def test_a_job_entry_point_lets_an_internal_error_through(tmp_path: Path, monkeypatch) -> None:
    import ray_jobs.preprocess
    from dance.manifest import Manifest, ManifestRecord

    Manifest.from_records(
        [ManifestRecord(video_id="v", uri="v.mp4", label_name="a", split="train")]
    ).write(str(tmp_path / "manifest.parquet"))
    monkeypatch.setattr(ray_jobs.preprocess, "resolve_encoder_models", _internal_bug)
    with pytest.raises(ValueError, match="internal bug"):
        ray_jobs.preprocess.main(["--config", "demo", "--set", f"workdir={tmp_path}"])


def test_a_job_entry_point_prints_a_user_error_and_exits_2(capsys) -> None:
    import ray_jobs.preprocess

    assert ray_jobs.preprocess.main(["--config", "demo", "--set", "clips.clip_length=-1"]) == 2
    assert "clips.clip_length" in capsys.readouterr().err
