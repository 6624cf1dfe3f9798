"""`dance intervene`: class-level edits counted on a split and saved beside, never over, model/."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from train_helpers import make_train_workdir

from dance.concepts import read_concept_bundle
from dance.config import DanceConfig, load_config
from dance.errors import InputError
from dance.manifest import Manifest
from dance.preprocess import read_videos
from dance.train import (
    DanceModel,
    bundle_from_progress,
    fit_model,
    join_training_table,
    training_arrays,
)
from dance.workdir import begin_stage, concepts_dir, manifest_uri
from ray_jobs.intervene import parse_edit, run_intervene


def _trained(tmp_path: Path) -> DanceConfig:
    """The helper's workdir (with a shifted set) and a model trained in this process."""
    cfg = load_config(str(make_train_workdir(tmp_path, shifted=True)))
    concepts = read_concept_bundle(concepts_dir(cfg.workdir))
    class_names = Manifest.read(manifest_uri(cfg.workdir)).class_names
    table, _ = join_training_table(
        read_videos(cfg.workdir, columns=["video_id", "status", "backbone"]), concepts.labels,
        class_names,
    )
    arrays = training_arrays(table, {k: len(v) for k, v in concepts.names.items()})
    progress = fit_model(arrays, concepts.names, len(class_names), cfg.train, cfg.seed)
    model = bundle_from_progress(progress, cfg, class_names, concepts.index, {})
    model.save_pretrained(str(Path(cfg.workdir) / "model"))
    begin_stage(cfg.workdir, "train", cfg.model_dump(mode="json"), log=lambda _: None).finish()
    return cfg


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_parse_edit_reads_set_shift_up_and_shift_down():
    assert parse_edit("jump:ball=1.5").value == 1.5
    assert parse_edit("jump:ball+=0.5").shift == 0.5
    assert parse_edit("jump:ball-=0.5").shift == -0.5


@pytest.mark.parametrize("text", ["jump=1", "jump:ball", "jump:ball=x", ":ball=1"])
def test_an_unreadable_edit_names_the_form_to_use(text: str):
    with pytest.raises(InputError, match="CLASS:CONCEPT=VALUE"):
        parse_edit(text)


def test_intervene_counts_the_change_on_the_shifted_split_and_leaves_model_alone(tmp_path: Path):
    cfg = _trained(tmp_path)
    weights = Path(cfg.workdir) / "model" / "model.safetensors"
    before = _sha(weights)
    lines: list[str] = []
    result = run_intervene(cfg, ["jump:ball+=3", "wave:field=0"], "first", "shifted", lines.append)
    outcome = result["outcome"]
    assert outcome.videos == 16
    assert outcome.fixed + outcome.broken + outcome.unchanged_correct + outcome.unchanged_wrong == 16
    assert _sha(weights) == before
    edited = DanceModel.from_pretrained(str(Path(cfg.workdir) / "model_edits" / "first"))
    record = edited.metadata["edits"][-1]
    assert record["parent"]["weights_sha256"] == before
    assert [(e["class_name"], e["concept"]) for e in record["edits"]] == [
        ("jump", "ball"), ("wave", "field")]
    assert any("fixed" in line and "accuracy" in line for line in lines)


def test_intervene_refuses_a_name_that_is_not_a_plain_folder_name(tmp_path: Path):
    cfg = _trained(tmp_path)
    with pytest.raises(InputError, match="edit name"):
        run_intervene(cfg, ["jump:ball=1"], "../../x", "test", lambda _: None)
    assert not (tmp_path / "x").exists()
