"""Stage records in the jobs: a changed clip length is refused, --force redoes it, and
discover takes L from the preprocess record, not from the config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from preprocess_helpers import job_config
from safetensors.numpy import load_file
from typer.testing import CliRunner

from dance.cli import app
from dance.datasets import prepare_manifest
from dance.workdir import require_done


def _quiet(line: str) -> None:
    del line


def _dance(*args: str):
    return CliRunner().invoke(app, list(args))


def _part_times(work: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in work.glob("*/part-*.parquet")}


@pytest.fixture(scope="module")
def scenario(ray_session, tiny_synth, tmp_path_factory):
    """Preprocess at L=16; then L=8 without and with --force; then discover at the config's L=16."""
    from ray_jobs.preprocess import run_preprocess

    tmp = tmp_path_factory.mktemp("records")
    work = tmp / "work"
    cfg, path = job_config(
        tmp, str(work), tiny_synth, None, discover={"language": {"source": "annotations"}}
    )
    prepare_manifest(cfg, log=_quiet)
    run_preprocess(cfg, log=_quiet)
    before = _part_times(work)
    refused = _dance("preprocess", "--config", str(path), "--set", "clips.clip_length=8")
    untouched = _part_times(work) == before
    forced = _dance("preprocess", "--config", str(path), "--set", "clips.clip_length=8", "--force")
    discovered = _dance("discover", "--config", str(path))
    return {
        "work": work,
        "refused": refused,
        "untouched": untouched,
        "forced": forced,
        "discovered": discovered,
    }


def test_preprocess_refuses_a_changed_clip_length_naming_the_key(scenario) -> None:
    refused = scenario["refused"]
    assert refused.exit_code == 2
    assert "clips.clip_length: 16 -> 8" in refused.output and "--force" in refused.output
    assert "Traceback" not in refused.output


def test_the_refusal_happens_before_any_work(scenario) -> None:
    assert scenario["untouched"]


def test_force_redoes_preprocess_with_the_new_clip_length(scenario) -> None:
    assert scenario["forced"].exit_code == 0, scenario["forced"].output
    record = require_done(str(scenario["work"]), "preprocess")
    assert record.facts["clip_length"] == 8 and record.config["clips.clip_length"] == 8
    clips = pq.read_table(scenario["work"] / "clips").to_pylist()
    assert clips and {len(c["pose"]) for c in clips} == {8 * 17 * 3}


def test_discover_reads_the_clip_length_from_the_preprocess_record(scenario) -> None:
    assert scenario["discovered"].exit_code == 0, scenario["discovered"].output
    record = require_done(str(scenario["work"]), "discover")
    assert record.facts["clip_length"] == 8 and record.facts["motion_feature_dim"] == 8 * 17 * 2
    centroids = load_file(str(scenario["work"] / "concepts/motion/centroids.safetensors"))
    assert np.shape(centroids["centroids"])[1] == 8 * 17 * 2


def test_discover_records_the_preprocess_record_it_read(scenario) -> None:
    work = str(scenario["work"])
    assert require_done(work, "discover").upstream == {
        "preprocess": require_done(work, "preprocess").identity
    }
