"""`dance run`: the whole chain once, then skip-if-done, reruns after a change, and its lock."""

from __future__ import annotations

from pathlib import Path

import pytest
from preprocess_helpers import job_config
from trained_helpers import FAST_TRAIN
from typer.testing import CliRunner

from dance.cli import app
from dance.config import DanceConfig
from dance.errors import InputError
from dance.progress import quiet
from dance.workdir import WorkdirBusyError, acquire_workdir_lock, read_record, record_uri
from ray_jobs.pipeline import STAGE_NAMES, Selection, run_pipeline

# Stages the tiny config runs (the backbone and the dual encoder are given, not trained).
RUN_STAGES = ["manifest", "preprocess", "discover", "train", "evaluate", "sanity", "report"]


def _finished(cfg: DanceConfig) -> dict[str, int]:
    """When each stage's record was last written (ns): a stage that reran has a new time."""
    return {name: Path(record_uri(cfg.workdir, name)).stat().st_mtime_ns for name in RUN_STAGES}


def _with(cfg: DanceConfig, **train: float) -> DanceConfig:
    """The config with train keys changed."""
    return cfg.model_copy(update={"train": cfg.train.model_copy(update=train)})


@pytest.fixture(scope="module")
def tiny_run(ray_session, tiny_synth, tiny_encoders, tmp_path_factory) -> tuple[DanceConfig, Path]:
    """DANCE-Synth tiny through `dance run` once; (config, its YAML)."""
    tmp = tmp_path_factory.mktemp("tiny_run")
    cfg, path = job_config(
        tmp, str(tmp / "work"), tiny_synth, tiny_encoders,
        preprocess={"enable_dual": False},
        discover={"language": {"source": "annotations"}},
        train={**FAST_TRAIN, "resources": {"pool_size": 1}},
        evaluate={"deletion_repeats": 2},
    )
    report = run_pipeline(cfg, log=quiet)
    assert [s.status for s in report.stages if s.name in RUN_STAGES] == ["ran"] * len(RUN_STAGES)
    return cfg, path


def test_a_run_leaves_every_stage_done_with_a_summary(tiny_run) -> None:
    cfg, _ = tiny_run
    assert all(read_record(cfg.workdir, name).done for name in RUN_STAGES)
    assert not Path(cfg.workdir, "run.lock").exists()  # released at the end


def test_rerunning_an_unchanged_config_skips_every_stage(tiny_run) -> None:
    cfg, _ = tiny_run
    before = _finished(cfg)
    report = run_pipeline(cfg, log=quiet)
    assert {s.name: s.status for s in report.stages} == {
        "manifest": "skipped", "finetune": "not configured", "dual_encoder": "not configured",
        "preprocess": "skipped", "discover": "skipped", "train": "skipped",
        "evaluate": "skipped", "sanity": "skipped", "report": "skipped",
    }
    assert _finished(cfg) == before


def test_force_redoes_one_stage_even_when_it_is_done(tiny_run) -> None:
    cfg, _ = tiny_run
    before = _finished(cfg)
    run_pipeline(cfg, log=quiet, selection=Selection(force=frozenset({"report"})))
    after = _finished(cfg)
    assert [name for name in RUN_STAGES if after[name] != before[name]] == ["report"]


def test_a_second_run_on_a_busy_workdir_refuses_before_any_work(tiny_run) -> None:
    cfg, _ = tiny_run
    record = Path(record_uri(cfg.workdir, "report"))
    stamp = record.stat().st_mtime_ns
    with acquire_workdir_lock(cfg.workdir, "dance run", log=quiet) as held, pytest.raises(
        WorkdirBusyError, match=f"pid {held.holder.pid}"
    ):
        run_pipeline(cfg, log=quiet, selection=Selection(force=frozenset({"report"})))
    assert record.stat().st_mtime_ns == stamp


def test_dance_run_prints_the_summary_with_headline_numbers(tiny_run) -> None:
    _, path = tiny_run
    result = CliRunner().invoke(app, ["run", "--config", str(path)])
    assert result.exit_code == 0, result.output
    for line in ["train        skipped", "test top-1:", "linear probe test top-1:",
                 "explanation fidelity:", "reversal-pair rate:", "report: ", "index.html"]:
        assert line in result.stdout


def test_an_unknown_stage_name_lists_the_stages() -> None:
    with pytest.raises(InputError, match="the stages are manifest, finetune"):
        Selection(force=frozenset({"trian"})).check()


def test_only_and_from_together_are_refused() -> None:
    with pytest.raises(InputError, match="not both"):
        Selection(start="train", only=frozenset({"report"})).check()


def test_from_redoes_its_stage_and_every_later_one() -> None:
    selection = Selection(start="evaluate")
    assert [n for n in STAGE_NAMES if selection.forced(n)] == ["evaluate", "sanity", "report"]


# Last of the tests on tiny_run: it leaves the workdir trained with another lam.
def test_changing_train_lam_reruns_train_and_the_stages_that_read_the_model(tiny_run) -> None:
    cfg, _ = tiny_run
    before = _finished(cfg)
    changed = _with(cfg, lam=FAST_TRAIN["lam"] * 2)
    run_pipeline(changed, log=quiet)
    after = _finished(cfg)
    rerun = sorted(name for name in RUN_STAGES if after[name] != before[name])
    # sanity checks the trained model, so it follows train like evaluate and report do
    assert rerun == ["evaluate", "report", "sanity", "train"]
    assert read_record(cfg.workdir, "train").config["train.lam"] == FAST_TRAIN["lam"] * 2


def test_a_stage_command_refuses_a_workdir_a_run_is_using(tmp_path: Path) -> None:
    workdir = str(tmp_path / "work")
    with acquire_workdir_lock(workdir, "dance run", log=quiet):
        result = CliRunner().invoke(app, ["discover", "--set", f"workdir={workdir}"])
    assert result.exit_code == 2
    assert "is in use by `dance run`" in result.output
    assert not Path(workdir, "stages").exists()
