"""The `dance` command line: help everywhere, config inspection, errors before work."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from dance.cli import app

runner = CliRunner()

COMMANDS = [
    [],
    ["config"],
    ["config", "show"],
    ["config", "list"],
    ["config", "validate"],
    ["config", "reference"],
    ["synth"],
    ["manifest"],
    ["finetune-backbone"],
    ["preprocess"],
    ["discover"],
    ["train"],
    ["evaluate"],
    ["intervene"],
    ["sanity"],
    ["report"],
    ["predict"],
    ["gradcam"],
    ["concept-clips"],
    ["tcav"],
    ["run"],
    ["demo"],
    ["submit"],
    ["status"],
    ["logs"],
    ["stop"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "dance")
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_console_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dance", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "demo" in result.stdout


def test_config_show_prints_the_paper_settings() -> None:
    result = runner.invoke(app, ["config", "show", "ucf101"])
    assert result.exit_code == 0, result.output
    for line in ["num_clips: 10", "clip_length: 16", "threshold: 0.3", "clip_cut: 0.2",
                 "interpretability_cut: 0.3", "lam: 0.0007", "alpha: 0.99"]:
        assert line in result.output


def test_config_show_applies_overrides() -> None:
    result = runner.invoke(app, ["config", "show", "kth", "--set", "train.alpha=0.5"])
    assert result.exit_code == 0, result.output
    assert "alpha: 0.5" in result.output


def test_config_validate_rejects_an_unknown_key(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("base: demo\ntrain:\n  lamda: 0.1\n")
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 2
    assert "train.lamda" in result.output


def test_demo_with_a_negative_clip_length_fails_before_any_work(tmp_path) -> None:
    workdir = tmp_path / "demo"
    result = runner.invoke(
        app, ["demo", "--set", f"workdir={workdir}", "--set", "clips.clip_length=-1"]
    )
    assert result.exit_code == 2
    assert "clips.clip_length" in result.output
    assert not workdir.exists()
