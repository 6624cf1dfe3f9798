"""The train and evaluate jobs: 2 Ray Train workers, a killed worker resumes, the bundle, reports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from train_helpers import make_train_workdir

from dance.concepts import read_concept_bundle
from dance.config import DanceConfig, load_config
from dance.manifest import Manifest
from dance.preprocess import read_videos
from dance.train import DanceModel, fit_model, join_training_table, training_arrays
from dance.workdir import concepts_dir, manifest_uri, read_record

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _train_worker_pids() -> list[int]:
    """Processes Ray titled as Ray Train workers ("ray::RayTrainWorker...")."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().split(b"\0")[0]
            except OSError:  # the process ended meanwhile
                continue
            if title.startswith(b"ray::RayTrainWorker"):
                pids.append(int(entry.name))
    return pids


def _checkpoints(run_dir: Path) -> list[str]:
    """Checkpoints Ray Train has registered for the run (what a restart resumes from)."""
    try:
        snapshot = json.loads((run_dir / "checkpoint_manager_snapshot.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):  # not written yet, or being written
        return []
    return [result["checkpoint_dir_name"] for result in snapshot["checkpoint_results"]]


def _objective_in_one_process(cfg: DanceConfig) -> float:
    """The final objective of the same training, uninterrupted, in this process (no Ray)."""
    bundle = read_concept_bundle(concepts_dir(cfg.workdir))
    table, _ = join_training_table(
        read_videos(cfg.workdir, columns=["video_id", "status", "backbone"]),
        bundle.labels,
        Manifest.read(manifest_uri(cfg.workdir)).class_names,
    )
    arrays = training_arrays(table, {kind: len(names) for kind, names in bundle.names.items()})
    progress = fit_model(arrays, bundle.names, 4, cfg.train, cfg.seed)
    assert progress.final is not None
    return progress.final.objective


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, ray_session: str):
    """One 2-worker training run on a workdir with a shifted test set: (cfg, report, tmp)."""
    from ray_jobs.train import run_train

    tmp_path = tmp_path_factory.mktemp("train_job")
    cfg = load_config(str(make_train_workdir(tmp_path, shifted=True)))
    return cfg, run_train(cfg, log=lambda _: None), tmp_path


def test_two_workers_train_evaluate_tabulate_and_a_rerun_is_skipped(trained):
    from ray_jobs.evaluate import run_evaluate
    from ray_jobs.train import run_train

    cfg, report, tmp_path = trained
    lines: list[str] = []
    assert report.videos == 79 and report.failed_videos == 1
    assert report.converged and report.kkt_residual <= 1e-6
    assert report.concepts == {"motion": 6, "object": 4, "scene": 3}
    record = read_record(cfg.workdir, "train")
    assert record is not None and record.done and set(record.upstream) == {"preprocess", "discover"}

    model = DanceModel.from_pretrained(str(tmp_path / "work" / "model"))
    assert model.concept_types == ["motion"] * 6 + ["object"] * 4 + ["scene"] * 3
    plain = run_evaluate(cfg, log=lines.append)
    assert "table" not in plain and not (tmp_path / "work" / "reports" / "table.json").exists()
    metrics = run_evaluate(cfg, log=lines.append, table=True)
    assert metrics["splits"]["test"]["num_videos"] == 15  # 16 test videos, one failed to decode
    assert metrics["videos_failed_in_preprocessing"] == 1
    assert metrics["splits"]["test"]["top1"] >= 0.9
    assert metrics["splits"]["shifted"]["num_videos"] == 16  # the shifted test set, scored apart
    predictions = pq.read_table(tmp_path / "work" / "reports" / "predictions.parquet")
    assert predictions.num_rows == 79 + 16 and len(set(predictions["video_id"].to_pylist())) == 95
    assert predictions["split"].to_pylist().count("shifted") == 16

    rows = {row["row"]: row for row in metrics["table"]}
    assert set(rows) == {"linear probe", "DANCE", "DANCE without motion",
                         "DANCE without object", "DANCE without scene"}
    assert rows["DANCE"]["test"] == metrics["splits"]["test"]["top1"]  # the same scoring code
    assert rows["DANCE"]["shifted"] == metrics["splits"]["shifted"]["top1"]
    assert rows["DANCE without motion"]["concepts"] == {"object": 4, "scene": 3}
    assert (tmp_path / "work" / "reports" / "table.json").is_file()

    lines.clear()
    again = run_train(cfg, log=lines.append)
    assert again.objective == report.objective
    assert any("done for this config" in line for line in lines)


def test_a_killed_worker_resumes_from_its_checkpoint_to_the_same_objective(
    tmp_path: Path, ray_session: str
):
    steps = "  motion_steps: 800\n"  # enough checkpoints that the kill lands part-way
    config = make_train_workdir(tmp_path / "b", extra_config=steps)
    uninterrupted = _objective_in_one_process(load_config(str(config)))
    run_dir = tmp_path / "b" / "work" / "training" / "ray_train" / "train"
    env = {**os.environ, "RAY_ADDRESS": ray_session, "PYTHONPATH": str(REPO)}
    with open(tmp_path / "driver.log", "wb") as log:
        driver = subprocess.Popen(
            [sys.executable, "-m", "ray_jobs.train", "--config", str(config)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 600
            while not _checkpoints(run_dir):
                assert driver.poll() is None, "the job ended before its first checkpoint"
                assert time.monotonic() < deadline, "no checkpoint within 600 s"
                time.sleep(0.05)
            workers = _train_worker_pids()
            assert workers, "no Ray Train worker process found"
            os.kill(max(workers), signal.SIGKILL)
            assert driver.wait(timeout=600) == 0
        finally:
            if driver.poll() is None:
                os.killpg(driver.pid, signal.SIGKILL)
                driver.wait(timeout=30)
    output = (tmp_path / "driver.log").read_text()
    assert "train: resuming from motion layer" in output, output[-3000:]
    resumed = read_record(str(tmp_path / "b" / "work"), "train")
    assert resumed is not None and resumed.done
    objective = resumed.facts["report"]["objective"]
    assert objective == pytest.approx(uninterrupted, rel=1e-6)


def test_the_bundle_reloads_to_identical_predictions(trained):
    from ray_jobs.train import load_progress

    cfg, _, tmp_path = trained
    run_dir = tmp_path / "work" / "training" / "ray_train" / "train"
    last = max(_checkpoints(run_dir))
    progress = load_progress(str(run_dir / last))
    features = np.random.default_rng(0).normal(size=(32, 16)).astype(np.float32)
    from dance.train import bundle_from_progress

    trained = bundle_from_progress(progress, cfg, ["clap", "jump", "run", "wave"], {}, {})
    loaded = DanceModel.from_pretrained(str(tmp_path / "work" / "model"))
    assert np.array_equal(trained.logits(features).numpy(), loaded.logits(features).numpy())
