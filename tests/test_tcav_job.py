"""`dance tcav` (ray_jobs.tcav) on DANCE-Synth tiny: concept clips in, tcav.json out.

The workdir holds the manifest (its first test video replaced by a corrupt file), a
preprocess record naming a tiny random VideoMAE classifier whose labels are the synth
classes, and the concept clips that `dance concept-clips` cut from the ground truth.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from preprocess_helpers import job_config

from dance import storage
from dance.datasets import prepare_manifest
from dance.errors import InputError
from dance.manifest import Manifest
from dance.posthoc import read_concept_clips
from dance.progress import quiet
from dance.workdir import begin_stage, manifest_uri, model_reference, read_record

SMALL = {"pool_size": 1, "num_cpus": 0.5, "num_gpus": 0, "batch_size": 4}
SETTINGS = {
    "concept_clips": {"clips_per_concept": 3, "random_sets": 3, "random_set_size": 3,
                      "resources": SMALL},
    "tcav": {"examples_per_class": 2, "resources": SMALL},
}


def _classifier(path: Path, class_names: list[str]) -> str:
    """A tiny random VideoMAE classifier whose labels are `class_names`."""
    from transformers import VideoMAEConfig

    from dance.encoders import build_tiny_videomae

    out = build_tiny_videomae(str(path), num_labels=len(class_names))
    config = VideoMAEConfig.from_pretrained(out)
    config.id2label = dict(enumerate(class_names))
    config.label2id = {name: i for i, name in enumerate(class_names)}
    config.save_pretrained(out)
    return out


def _corrupt_first_test_video(cfg, tmp: Path) -> str:
    """Point the manifest's first test video at a corrupt file; return its video_id."""
    manifest = Manifest.read(manifest_uri(cfg.workdir))
    table = manifest.table
    bad_id = table.filter(pc.equal(table["split"], "test"))["video_id"][0].as_py()
    broken = tmp / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    uris = [str(broken) if v == bad_id else u
            for v, u in zip(table["video_id"].to_pylist(), table["uri"].to_pylist(), strict=True)]
    table = table.set_column(table.schema.get_field_index("uri"), "uri", pa.array(uris))
    Manifest(table, manifest.class_names).write(manifest_uri(cfg.workdir))
    return bad_id


@pytest.fixture(scope="module")
def tcav_run(ray_session, tiny_synth, tmp_path_factory):
    """Concept clips, then TCAV: (cfg, tcav.json, the corrupt video's id, the run's log)."""
    from ray_jobs.concept_clips import run_concept_clips
    from ray_jobs.tcav import run_tcav

    tmp = tmp_path_factory.mktemp("tcav")
    cfg, _ = job_config(tmp, str(tmp / "work"), tiny_synth, None, **SETTINGS)
    prepare_manifest(cfg, log=quiet)
    backbone = _classifier(tmp / "classifier", Manifest.read(manifest_uri(cfg.workdir)).class_names)
    begin_stage(cfg.workdir, "preprocess", cfg.model_dump(mode="json"), log=quiet).finish(
        facts={"backbone": model_reference(backbone)})
    run_concept_clips(cfg, log=quiet)
    bad_id = _corrupt_first_test_video(cfg, tmp)
    lines: list[str] = []
    result = run_tcav(cfg, log=lines.append)
    return cfg, result, bad_id, lines


def test_every_class_layer_and_usable_concept_has_one_row(tcav_run):
    _, result, _, _ = tcav_run
    keys = {(r["class"], r["layer"], r["group"], r["concept"]) for r in result["results"]}
    expected = {(c, layer, g, name) for c in result["examples"] for layer in result["layers"]
                for g, concepts in result["concepts"].items() for name in concepts}
    assert keys == expected and len(result["results"]) == result["hypotheses"]
    assert result["layers"] == ["encoder.layer.0", "encoder.layer.1"]


def test_the_table_is_written_to_the_workdir_with_its_stage_record(tcav_run):
    cfg, result, _, _ = tcav_run
    from ray_jobs.tcav import tcav_uri

    assert storage.read_json(tcav_uri(cfg.workdir))["results"] == result["results"]
    record = read_record(cfg.workdir, "tcav")
    assert record.done and record.facts["hypotheses"] == result["hypotheses"]


def test_each_score_is_a_share_and_each_corrected_p_is_bonferronis(tcav_run):
    _, result, _, _ = tcav_run
    for row in result["results"]:
        assert 0.0 <= row["sign_count"] <= 1.0 and row["runs"] == 3
        assert row["p_corrected"] == pytest.approx(min(1.0, row["p"] * result["hypotheses"]))


def test_a_concept_with_fewer_than_two_clips_is_skipped_with_its_reason(tcav_run):
    cfg, result, _, _ = tcav_run
    groups = read_concept_clips(cfg.workdir).groups()
    lonely = {(g, c) for g, cs in groups.items() for c, clips in cs.items() if len(clips) < 2}
    assert lonely, "the tiny set should leave some concept with a single clip"
    skipped = {(s["group"], s["concept"]): s["reason"] for s in result["skipped_concepts"]}
    assert set(skipped) == lonely
    assert all("at least 2" in reason for reason in skipped.values())


def test_a_video_that_fails_to_decode_is_listed_and_the_others_go_on(tcav_run):
    _, result, bad_id, _ = tcav_run
    assert [f["video_id"] for f in result["failed_videos"]] == [bad_id]
    assert result["failed_videos"][0]["error"]
    assert sum(result["examples"].values()) > 0


def test_a_rerun_with_the_same_config_is_skipped(tcav_run):
    from ray_jobs.tcav import run_tcav

    cfg, result, _, _ = tcav_run
    lines: list[str] = []
    assert run_tcav(cfg, log=lines.append)["results"] == result["results"]
    assert any("already done" in line for line in lines)


def test_a_new_alpha_reuses_the_cached_layer_tensors_and_keeps_the_scores(tcav_run, tmp_path):
    from ray_jobs.tcav import run_tcav

    cfg, result, _, _ = tcav_run
    shutil.copytree(cfg.workdir, tmp_path / "work")  # the module's workdir stays as it was
    other = cfg.model_copy(update={"workdir": str(tmp_path / "work"),
                                   "tcav": cfg.tcav.model_copy(update={"alpha": 0.01})})
    lines: list[str] = []
    again = run_tcav(other, log=lines.append)
    assert any("2 cached, 0 to compute" in line for line in lines)
    assert [r["sign_count"] for r in again["results"]] == [
        r["sign_count"] for r in result["results"]]


def test_a_layer_that_does_not_exist_is_refused_naming_the_valid_ones(tcav_run):
    from ray_jobs.tcav import run_tcav

    cfg, _, _, _ = tcav_run
    bad = cfg.model_copy(update={"tcav": cfg.tcav.model_copy(update={"layers": ["encoder.layer.7"]})})
    with pytest.raises(InputError, match="encoder.layer.0, encoder.layer.1"):
        run_tcav(bad, log=quiet)


def _workdir_naming(cfg, tmp: Path, backbone: str):
    """A copy of the module's workdir whose preprocess record names `backbone`."""
    shutil.copytree(cfg.workdir, tmp / "work")
    other = cfg.model_copy(update={"workdir": str(tmp / "work")})
    begin_stage(other.workdir, "preprocess", other.model_dump(mode="json"), log=quiet).finish(
        facts={"backbone": model_reference(backbone)})
    return other


def test_a_backbone_changed_since_preprocess_is_refused(tcav_run, tmp_path):
    from ray_jobs.tcav import run_tcav

    cfg, _, _, _ = tcav_run
    backbone = read_record(cfg.workdir, "preprocess").facts["backbone"]["id"]
    copy = tmp_path / "classifier"
    shutil.copytree(backbone, copy)
    other = _workdir_naming(cfg, tmp_path, str(copy))
    (copy / "config.json").write_text((copy / "config.json").read_text() + "\n")
    with pytest.raises(InputError, match="changed since `dance preprocess`"):
        run_tcav(other, log=quiet, force=True)


def test_a_head_without_the_datasets_classes_is_refused_naming_both(tcav_run, tmp_path):
    from ray_jobs.tcav import run_tcav

    cfg, _, _, _ = tcav_run
    other = _workdir_naming(cfg, tmp_path, _classifier(tmp_path / "kinetics", ["archery", "yoga"]))
    with pytest.raises(InputError, match="its classes: archery, yoga"):
        run_tcav(other, log=quiet, force=True)


def test_an_unexpected_decoder_crash_fails_that_example_video_only(monkeypatch):
    from dance.config import StorageConfig
    from ray_jobs import _tcav_tensors

    def crash(*args):
        raise MemoryError("decoder ran out of memory")

    monkeypatch.setattr(_tcav_tensors, "decode_video", crash)
    clip, reason = _tcav_tensors._decode_clip("v1", "/videos/v1.mp4", None, StorageConfig())
    assert clip is None and reason == "unreadable: MemoryError: decoder ran out of memory"
