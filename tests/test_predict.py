"""`dance predict`: new videos through the training preprocessing, a class and its concepts.

`tiny_trained` (conftest.py) is DANCE-Synth tiny through preprocess, discover, train and
evaluate, shared with the other tests that need a trained model.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from dance import storage
from dance.cli import app
from dance.config import DanceConfig
from dance.manifest import Manifest
from dance.preprocess import read_videos
from dance.progress import quiet
from dance.train import DanceModel
from dance.workdir import manifest_uri, model_dir, reports_dir
from ray_jobs.predict import Predictor, display_ids, run_predict

NUMBER = r"-?\d+\.\d{3}"
CONCEPT_LINE = re.compile(rf"^  (motion|object|scene)  .+  {NUMBER} x {NUMBER} = {NUMBER}$")


def _videos(cfg: DanceConfig, split: str = "test") -> dict[str, str]:
    """video_id -> file of the manifest's videos in a split."""
    table = Manifest.read(manifest_uri(cfg.workdir)).table
    return {v: u for v, u, s in zip(table["video_id"].to_pylist(), table["uri"].to_pylist(),
                                    table["split"].to_pylist(), strict=True) if s == split}


def _dance(*args: str):
    return CliRunner().invoke(app, list(args))


def _bundle(cfg: DanceConfig) -> str:
    return model_dir(cfg.workdir)


def test_a_synth_video_gets_a_class_and_its_top_3_concepts_with_weight(tiny_trained):
    video = next(iter(_videos(tiny_trained).values()))
    result = _dance("predict", "--model", _bundle(tiny_trained), video)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"video: {Path(video).name}"
    model = DanceModel.from_pretrained(_bundle(tiny_trained))
    predicted = model.class_names.index(lines[1].removeprefix("class: "))
    assert re.fullmatch(r"confidence: [01]\.\d{3}", lines[2])
    # the top 3 contributions, less any concept the sparse layer gives no weight in the class
    shown = lines[4:]
    assert lines[3] == f"top {len(shown)} concepts (activation x weight = contribution):"
    assert 1 <= len(shown) <= 3 and all(CONCEPT_LINE.match(line) for line in shown), lines
    weights = dict(zip(model.concept_names, model.final.weight[predicted].tolist(), strict=True))
    assert all(weights[line.split("  ")[2].removeprefix("NOT ")] != 0 for line in shown)


def test_json_is_one_document_with_every_field_per_video(tiny_trained):
    videos = list(_videos(tiny_trained).values())[:2]
    result = _dance("predict", "--model", _bundle(tiny_trained), "--json", *videos)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [d["uri"] for d in document] == videos
    for entry in document:
        assert {"video", "uri", "status", "error", "class", "confidence", "top_k",
                "top_by_type"} <= entry.keys()
        assert entry["status"] == "ok" and entry["error"] is None
        assert 0 < entry["confidence"] <= 1 and 1 <= len(entry["top_k"]) <= 3
        assert all(concept["weight"] != 0 for concept in entry["top_k"])
        assert {"name", "type", "activation", "weight", "contribution"} <= entry["top_k"][0].keys()
        assert set(entry["top_by_type"]) == {"motion", "object", "scene"}


def test_a_corrupt_video_is_reported_the_others_predicted_and_the_exit_code_is_1(
    tiny_trained, tmp_path
):
    corrupt = tmp_path / "x.mp4"
    corrupt.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    video = next(iter(_videos(tiny_trained).values()))
    result = _dance("predict", "--model", _bundle(tiny_trained), "--json", str(corrupt), video)
    assert result.exit_code == 1, result.output
    failed, ok = json.loads(result.stdout)
    assert failed["status"] == "failed" and failed["class"] is None
    assert failed["error"].split(":")[0] in {"not_a_video", "unreadable", "truncated"}
    assert ok["status"] == "ok" and ok["class"]
    assert "x.mp4" in result.stderr and failed["error"] in result.stderr


def test_a_real_sample_video_is_predicted(tiny_trained, shared_data):
    videos = sorted(p for p in shared_data.iterdir() if p.suffix in {".mp4", ".avi"})
    if not videos:
        pytest.skip(f"no .mp4 or .avi sample video in {shared_data}")
    real = shared_data / "acrobacia.mp4" if (shared_data / "acrobacia.mp4").is_file() else videos[0]
    (result,) = run_predict(_bundle(tiny_trained), [str(real)], log=quiet)
    assert result.status == "ok", result.error
    assert result.class_name in DanceModel.from_pretrained(_bundle(tiny_trained)).class_names
    assert 0 < result.confidence <= 1 and len(result.top) <= 3
    assert all(part.weight != 0 for part in result.top)


def test_an_s3_uri_is_predicted_like_the_local_file(tiny_trained, s3_bucket, s3_endpoint,
                                                   monkeypatch):
    # the bundle's config (no endpoint) replaces the fixture's storage settings: the
    # standard AWS variable is how a user points predict at another S3
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    video = next(iter(_videos(tiny_trained).values()))
    uri = f"{s3_bucket}/incoming/{Path(video).name}"
    storage.write_bytes(uri, Path(video).read_bytes())
    remote, local = run_predict(_bundle(tiny_trained), [uri, video], log=quiet)
    assert remote.status == "ok", remote.error
    assert remote.class_name == local.class_name
    assert remote.confidence == pytest.approx(local.confidence, abs=1e-6)


def test_html_pages_are_named_by_hash_and_escape_a_hostile_video_name(tiny_trained, tmp_path):
    hostile = tmp_path / "<img src=x onerror=alert(1)>.mp4"
    shutil.copy(next(iter(_videos(tiny_trained).values())), hostile)
    out = tmp_path / "pages"
    result = _dance("predict", "--model", _bundle(tiny_trained), "--html", str(out), str(hostile))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["assets", "index.html", "videos"]
    names = [p.name for p in (out / "videos").iterdir()]
    assert len(names) == 1 and re.fullmatch(r"v-[0-9a-f]{24}\.html", names[0]), names
    for page in [out / "index.html", out / "videos" / names[0]]:
        text = page.read_text()
        assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
        assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;.mp4" in text


def test_the_predicted_class_equals_what_evaluate_stored(tiny_trained):
    videos = _videos(tiny_trained)
    stored = {r["video_id"]: r["prediction"] for r in pq.read_table(
        Path(reports_dir(tiny_trained.workdir)) / "predictions.parquet").to_pylist()}
    results = run_predict(_bundle(tiny_trained), list(videos.values()), log=quiet)
    assert [r.class_index for r in results] == [stored[v] for v in videos]


def test_the_features_are_those_the_preprocess_job_stored(tiny_trained):
    videos = _videos(tiny_trained)
    stored = {r["video_id"]: r["backbone"] for r in read_videos(
        tiny_trained.workdir, columns=["video_id", "backbone"]).to_pylist()}
    predictor = Predictor(_bundle(tiny_trained), log=quiet)
    rows = predictor.rows([{"video_id": v, "uri": u} for v, u in videos.items()])
    for video_id in videos:
        np.testing.assert_allclose(rows[video_id]["backbone"], stored[video_id], atol=1e-5)


def test_more_videos_than_the_threshold_run_through_ray_data_with_the_same_results(tiny_trained):
    videos = list(_videos(tiny_trained).values())[:3]
    local = run_predict(_bundle(tiny_trained), videos, log=quiet)
    on_ray = run_predict(_bundle(tiny_trained), videos, ray_threshold=1, log=quiet)
    assert [r.class_name for r in on_ray] == [r.class_name for r in local]
    assert [r.confidence for r in on_ray] == pytest.approx([r.confidence for r in local], abs=1e-5)


def test_a_linear_probe_bundle_prints_the_class_only(tiny_trained, tmp_path):
    model = DanceModel.from_pretrained(_bundle(tiny_trained))
    dim, classes = model.feature_dim, model.num_classes
    rng = np.random.default_rng(0)
    DanceModel(kind="linear_probe", concept_weights={}, mean=np.zeros(dim, np.float32),
               std=np.ones(dim, np.float32), final_weight=rng.normal(size=(classes, dim)).astype(
                   np.float32), final_bias=np.zeros(classes, np.float32), concept_names={},
               class_names=model.class_names, metadata=model.metadata,
               ).save_pretrained(str(tmp_path / "probe"))
    video = next(iter(_videos(tiny_trained).values()))
    result = _dance("predict", "--model", str(tmp_path / "probe"), video)
    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == ["video", "class",
                                                                          "confidence"]


def test_a_bad_model_dir_is_an_error_naming_it(tmp_path):
    result = _dance("predict", "--model", str(tmp_path / "no_model_here"), "video.mp4")
    assert result.exit_code == 2
    assert "no_model_here" in result.stderr and "Traceback" not in result.output


def test_a_backbone_that_cannot_be_found_names_where_it_looked_and_the_fix(tiny_trained, tmp_path):
    model = DanceModel.from_pretrained(_bundle(tiny_trained))
    config = {**model.metadata["config"], "workdir": str(tmp_path / "gone")}
    config["backbone"] = {**config["backbone"], "model": str(tmp_path / "moved_videomae")}
    model.metadata["config"] = config
    model.save_pretrained(str(tmp_path / "copy" / "model"))
    result = _dance("predict", "--model", str(tmp_path / "copy" / "model"), "video.mp4")
    assert result.exit_code == 2, result.output
    assert "moved_videomae" in result.stderr and "--backbone" in result.stderr


def test_a_workdir_moved_with_its_backbone_still_finds_it_by_its_record(tiny_trained, tmp_path):
    old, moved = tmp_path / "old_place", tmp_path / "moved"
    shutil.copytree(tiny_trained.workdir, moved)
    shutil.copytree(tiny_trained.backbone.model, moved / "models" / "tiny_videomae")
    record = json.loads((moved / "stages" / "preprocess.json").read_text())
    record["facts"]["backbone"]["id"] = str(old / "models" / "tiny_videomae")
    (moved / "stages" / "preprocess.json").write_text(json.dumps(record))
    model = DanceModel.from_pretrained(str(moved / "model"))
    config = {**model.metadata["config"], "workdir": str(old)}
    config["backbone"] = {**config["backbone"], "model": str(old / "models" / "tiny_videomae")}
    model.metadata["config"] = config
    model.save_pretrained(str(moved / "model"))
    video = next(iter(_videos(tiny_trained).values()))
    (result,) = run_predict(str(moved / "model"), [video], log=quiet)
    (original,) = run_predict(_bundle(tiny_trained), [video], log=quiet)
    assert result.status == "ok" and result.class_name == original.class_name


def test_repeated_file_names_get_a_numeric_suffix():
    assert display_ids(["a/x.mp4", "b/x.mp4", "s3://bucket/c/x.mp4", "y"]) == [
        "x.mp4", "x_2.mp4", "x_3.mp4", "y"]
