"""The dual-encoder job: Ray Train on DANCE-Synth's captions, export, resume, CLI errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from dance.config import load_config
from dance.dual import CAPTIONS_FILE
from dance.encoders import DualEncoder
from dance.errors import InputError, StageError
from dance.finetune import MARKER, load_clips, read_cache
from dance.workdir import read_record

REPO = Path(__file__).resolve().parents[1]
EPOCHS = 12  # enough that a kill after the first registered checkpoint lands part-way
# Small enough for a 2-core machine: 16 px clips of 4 frames, two ConvNeXt stages, one text layer.
_TINY_MODEL = [
    "dual_training.image_size=16",
    "dual_training.tiny_patch_size=4",
    "dual_training.tiny_vision_widths=[8,16]",
    "dual_training.tiny_vision_depths=[1,1]",
    "dual_training.tiny_hidden_size=32",
    "dual_training.tiny_heads=2",
    "dual_training.tiny_intermediate_size=64",
    "dual_training.tiny_text_layers=1",
    "dual_training.tiny_projection_dim=16",
    "dual_training.frames_per_step=2",
    "dual_training.warmup_epochs=0",
    "dual_training.eval_every_epochs=1",
    f"dual_training.epochs={EPOCHS}",
    "dual_training.keep_checkpoints=20",
    "dual_training.workers.batch_size=4",
    "dual_training.decode.batch_size=8",
    "backbone.num_frames=8",
    "dual_encoder.num_frames=4",
]


def _write_config(tmp_path: Path, synth: Path) -> Path:
    config = tmp_path / "dual.yaml"
    config.write_text(
        f"name: dual-test\nworkdir: {tmp_path / 'work'}\n"
        f"dataset: {{name: synth, root: {synth}, val_fraction: 0.2}}\n"
        "ray: {num_cpus: 2}\n"
    )
    return config


def _registered_checkpoint(run_dir: Path) -> Path | None:
    """The oldest checkpoint Ray Train has registered (a rerun resumes from those), if any."""
    try:
        snapshot = json.loads((run_dir / "checkpoint_manager_snapshot.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):  # not written yet, or being written
        return None
    names = [result["checkpoint_dir_name"] for result in snapshot["checkpoint_results"]]
    return run_dir / names[0] if names else None


def test_a_killed_run_resumes_from_its_checkpoint_exports_and_is_then_done(
    tiny_synth: Path, tmp_path: Path, ray_session: str
) -> None:
    from ray_jobs.train_dual_encoder import main, run_train_dual_encoder

    config = _write_config(tmp_path, tiny_synth)
    args = ["--config", str(config), *[a for o in _TINY_MODEL for a in ("--set", o)]]
    run_dir = tmp_path / "work" / "dual_training" / "ray_train" / "dual_encoder"
    env = {**os.environ, "RAY_ADDRESS": ray_session, "PYTHONPATH": str(REPO)}
    with open(tmp_path / "killed.log", "wb") as log:
        driver = subprocess.Popen(
            [sys.executable, "-m", "ray_jobs.train_dual_encoder", *args],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 600  # a busy 2-core machine starts Ray Train slowly
            while (registered := _registered_checkpoint(run_dir)) is None:
                assert driver.poll() is None, "the job ended before its first checkpoint"
                assert time.monotonic() < deadline, "no checkpoint registered within 600 s"
                time.sleep(0.05)
        finally:
            os.kill(driver.pid, signal.SIGKILL)  # an exited driver is a zombie until waited
            driver.wait(timeout=30)
    first = json.loads((registered / "state.json").read_text())["history"]
    assert not (tmp_path / "work" / "dual_encoder").exists(), "the kill must land part-way"

    assert main(args) == 0
    output = tmp_path / "work" / "dual_encoder"
    metrics = json.loads((output / "metrics.json").read_text())
    assert [row["epoch"] for row in metrics["epochs"]] == list(range(1, EPOCHS + 1))
    assert metrics["epochs"][: len(first)] == first  # resumed: epoch 1 was not trained again
    assert metrics["num_test"] == 4 and 0.0 <= metrics["test_retrieval"] <= 1.0
    assert (output / MARKER).is_file()
    record = read_record(str(tmp_path / "work"), "dual_encoder")
    assert record is not None and record.done
    assert record.facts["embed_dim"] == 16 and record.facts["model"]["sha256"]
    assert set(record.facts["pseudo_label_auc"]) == {"objects", "scenes"}

    # The export is a clip_frames dual encoder over the cached dual-encoder frames.
    encoder = DualEncoder.from_pretrained(str(output), kind="clip_frames")
    cache = read_cache(str(next((tmp_path / "work" / "dual_training" / "clips").iterdir())))
    clips = load_clips(cache, sorted(cache.parts)[:2]).numpy()
    assert clips.shape == (2, 4, 16, 16, 3)
    assert np.allclose(np.linalg.norm(encoder.embed_videos(clips), axis=1), 1.0, atol=1e-5)

    # Done: a rerun is skipped; another setup is refused before any work (no mixing).
    lines: list[str] = []
    again = run_train_dual_encoder(load_config(str(config), _TINY_MODEL), log=lines.append)
    assert again.output == str(output) and any("done for this config" in line for line in lines)
    changed = [*_TINY_MODEL, "dual_training.tiny_hidden_size=16"]
    with pytest.raises(StageError, match="dual_training.tiny_hidden_size"):
        run_train_dual_encoder(load_config(str(config), changed), log=lambda line: None)


def test_a_dataset_without_captions_is_refused_naming_the_file_and_its_writer(
    tmp_path: Path,
) -> None:
    from dance.dual import read_dataset_captions

    with pytest.raises(InputError, match=CAPTIONS_FILE) as caught:
        read_dataset_captions(str(tmp_path))
    assert "dance synth" in str(caught.value) and "dual_training.corpus" in str(caught.value)


def test_the_cli_command_reports_a_bad_override_without_a_traceback_or_ray() -> None:
    from dance.cli._dual_cmd import train_dual_encoder_command

    app = typer.Typer()
    app.command()(train_dual_encoder_command)
    result = CliRunner().invoke(app, ["--config", "demo", "--set", "dual_training.epochs=0"])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "dual_training.epochs" in result.output
    assert "Traceback" not in result.output


def test_a_configured_corpus_is_what_the_encoder_trains_on(
    tiny_synth: Path, tmp_path: Path, ray_session: str
) -> None:
    from ray_jobs.train_dual_encoder import run_train_dual_encoder

    config = _write_config(tmp_path, tiny_synth)
    corpus = "{preset: tiny, seed: 1, context: mixed, shifted_test: false, workers: 1}"
    config.write_text(config.read_text() + f"dual_training: {{corpus: {corpus}}}\n")
    lines: list[str] = []
    overrides = [*_TINY_MODEL, "dual_training.epochs=1"]
    report = run_train_dual_encoder(load_config(str(config), overrides), log=lines.append)

    root = tmp_path / "work" / "dual_corpus"
    record = read_record(str(tmp_path / "work"), "dual_encoder")
    assert record is not None and record.inputs["manifest"]["id"] == str(root / "manifest.parquet")
    assert record.inputs["captions"]["id"] == str(root)
    assert any(f"captions corpus at {root}" in line for line in lines)
    assert Path(report.output, "config.json").is_file()
