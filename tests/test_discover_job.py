"""The discover job on a local Ray: concepts/ layout, labels keyed by video_id, Eq. 2 and Eq. 3."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from preprocess_helpers import job_config

from dance import storage
from dance.concepts import (
    labels_table,
    motion_clips_from_tables,
    nearest_centroid,
    read_concept_bundle,
)
from dance.datasets import prepare_manifest
from dance.errors import StageError
from dance.manifest import Manifest
from dance.workdir import manifest_uri, require_done

BROKEN = "zz_broken_video"  # sorts last; its file is not a video, so preprocess fails it
LAYOUT = [
    "concepts.json",
    "labels.parquet",
    "motion/centroids.safetensors",
    "motion/concepts.parquet",
    "motion/assignment.parquet",
    "motion/video_labels.parquet",
    "motion/summary.json",
    "language/objects.txt",
    "language/scenes.txt",
    "language/filter_report.json",
]
OBJECTS = ["ball", "tennis racket", "guitar"]
SCENES = ["grass field", "swimming pool"]


def _quiet(line: str) -> None:
    """Drop job log lines (the jobs' own tests check their wording)."""


def _with_broken_video(cfg, tmp: Path) -> Manifest:
    """The tiny synth manifest plus one train video whose file is not a video."""
    manifest = Manifest.read(manifest_uri(cfg.workdir))
    broken = tmp / "broken.mp4"
    broken.write_bytes(b"this is not a video")
    first = manifest.table.slice(0, 1).to_pylist()[0]
    row = {**first, "video_id": BROKEN, "uri": str(broken), "split": "train"}
    table = pa.concat_tables(
        [manifest.table, pa.Table.from_pylist([row], schema=manifest.table.schema)]
    )
    extended = Manifest(table, manifest.class_names)
    extended.write(manifest_uri(cfg.workdir))
    return extended


@pytest.fixture(scope="module")
def preprocessed(ray_session, tiny_synth, tiny_encoders, tmp_path_factory):
    """Preprocess outputs of DANCE-Synth tiny (+ one broken video) with dual embeddings."""
    from ray_jobs.preprocess import run_preprocess

    tmp = tmp_path_factory.mktemp("discover")
    work = tmp / "work"
    cfg, _ = job_config(
        tmp, str(work), tiny_synth, tiny_encoders, preprocess={"enable_backbone": False}
    )
    prepare_manifest(cfg, log=_quiet)
    manifest = _with_broken_video(cfg, tmp)
    run_preprocess(cfg, log=_quiet)
    return tmp, work, manifest


def _discover(tmp: Path, source_work: Path, name: str, tiny_synth, tiny_encoders, language):
    """Copy the preprocess outputs to a fresh workdir and run discover on it."""
    from ray_jobs.discover import run_discover

    work = tmp / name
    shutil.copytree(source_work, work, ignore=shutil.ignore_patterns("concepts"))
    cfg, _ = job_config(tmp, str(work), tiny_synth, tiny_encoders, discover={"language": language})
    return cfg, run_discover(cfg, log=_quiet)


@pytest.fixture(scope="module")
def annotations_run(preprocessed, tiny_synth, tiny_encoders):
    """discover with source=annotations (the offline demo's mode)."""
    tmp, work, manifest = preprocessed
    cfg, summary = _discover(
        tmp, work, "annotations", tiny_synth, tiny_encoders, {"source": "annotations"}
    )
    return cfg, summary, manifest


@pytest.fixture(scope="module")
def files_run(preprocessed, tiny_synth, tiny_encoders):
    """discover with source=files: pseudo labels from the tiny X-CLIP text tower."""
    tmp, work, manifest = preprocessed
    (tmp / "objects.txt").write_text("# objects\n" + "\n".join(OBJECTS) + "\n")
    (tmp / "scenes.txt").write_text("\n".join(SCENES) + "\n\n")
    language = {
        "source": "files",
        "object_file": str(tmp / "objects.txt"),
        "scene_file": str(tmp / "scenes.txt"),
    }
    cfg, summary = _discover(tmp, work, "files", tiny_synth, tiny_encoders, language)
    return cfg, summary, manifest


def _labels(cfg) -> dict[str, dict]:
    rows = pq.read_table(Path(cfg.workdir) / "concepts" / "labels.parquet").to_pylist()
    return {row["video_id"]: row for row in rows}


def _concepts(cfg) -> Path:
    return Path(cfg.workdir) / "concepts"


def test_labels_hold_every_manifest_video_exactly_once_with_its_split_and_label(annotations_run):
    cfg, _, manifest = annotations_run
    ids = pq.read_table(_concepts(cfg) / "labels.parquet")["video_id"].to_pylist()
    assert sorted(ids) == sorted(manifest.video_ids) and len(ids) == len(set(ids))
    labels = _labels(cfg)
    for row in manifest.table.to_pylist():
        assert labels[row["video_id"]]["split"] == row["split"]
        assert labels[row["video_id"]]["label"] == row["label"]


def test_motion_multi_hot_is_the_set_of_concepts_of_the_video_clips(annotations_run):
    cfg, summary, _ = annotations_run
    assignment = pq.read_table(_concepts(cfg) / "motion" / "assignment.parquet").to_pylist()
    per_video: dict[str, set[int]] = {}
    for clip in assignment:
        per_video.setdefault(clip["video_id"], set()).add(clip["concept"])
    for video_id, row in _labels(cfg).items():
        assert len(row["motion"]) == summary.motion_concepts
        assert row["motion_known"] == (video_id in per_video)
        assert set(np.flatnonzero(row["motion"]).tolist()) == per_video.get(video_id, set())


def test_val_and_test_clips_are_assigned_to_their_nearest_centroid(annotations_run):
    cfg, _, manifest = annotations_run
    bundle = read_concept_bundle(str(_concepts(cfg)))
    clips = motion_clips_from_tables(
        storage.read_parquet(str(Path(cfg.workdir) / "clips")),
        manifest.table,
        clip_length=require_done(cfg.workdir, "preprocess").facts["clip_length"],
    )
    features = {
        (v, int(i)): f
        for v, i, f in zip(clips.video_id, clips.clip_index, clips.features, strict=True)
    }
    rows = pq.read_table(_concepts(cfg) / "motion" / "assignment.parquet").to_pylist()
    held_out = [r for r in rows if r["split"] != "train"]
    assert held_out and all(not r["clustered"] for r in held_out)
    assert all(r["clustered"] for r in rows if r["split"] == "train")
    matrix = np.stack([features[(r["video_id"], r["clip_index"])] for r in held_out])
    expected = nearest_centroid(matrix, bundle.centroids)
    assert [r["concept"] for r in held_out] == expected.tolist()


def test_a_video_that_failed_preprocessing_has_unknown_motion_and_null_language_labels(
    annotations_run, files_run
):
    for cfg, _, _ in (annotations_run, files_run):
        row = _labels(cfg)[BROKEN]
        assert row["motion_known"] is False and not any(row["motion"])
        assert row["objects"] is None and row["scenes"] is None


def test_annotations_source_labels_each_video_with_its_annotated_objects_and_scenes(
    annotations_run, tiny_synth
):
    cfg, summary, _ = annotations_run
    bundle = read_concept_bundle(str(_concepts(cfg)))
    in_manifest = set(_labels(cfg))
    annotations = [
        a
        for a in pq.read_table(tiny_synth / "concept_annotations.parquet").to_pylist()
        if a["video_id"] in in_manifest  # the shifted split is not in the manifest
    ]
    assert bundle.names["objects"] == sorted({o for a in annotations for o in a["objects"]})
    assert bundle.names["scenes"] == sorted({s for a in annotations for s in a["scenes"]})
    assert bundle.index["object_scene_labels"] == "annotations"
    labels = _labels(cfg)
    for annotation in annotations:
        row = labels[annotation["video_id"]]
        for kind in ("objects", "scenes"):
            present = [bundle.names[kind][j] for j, v in enumerate(row[kind]) if v == 1.0]
            assert present == sorted(annotation[kind])
            assert set(row[kind]) <= {0.0, 1.0}
    assert summary.label_mode == "annotations" and summary.objects == len(bundle.names["objects"])


def test_files_source_labels_are_cosines_of_the_dual_encoder_text_and_video_embeddings(
    files_run, tiny_encoders
):
    from dance.encoders import DualEncoder

    cfg, summary, _ = files_run
    bundle = read_concept_bundle(str(_concepts(cfg)))
    assert bundle.names["objects"] == OBJECTS and bundle.names["scenes"] == SCENES
    assert bundle.index["dual_encoder"] == tiny_encoders["dual"]
    encoder = DualEncoder.from_pretrained(tiny_encoders["dual"])
    texts = {
        kind: encoder.embed_texts([f"A video of {c}" for c in names])
        for kind, names in (("objects", OBJECTS), ("scenes", SCENES))
    }
    videos = storage.read_parquet(str(Path(cfg.workdir) / "videos")).to_pylist()
    labels = _labels(cfg)
    checked = 0
    for video in videos:
        if video["status"] != "ok":
            continue
        for kind, text in texts.items():
            expected = np.asarray(video["dual"]) @ text.T
            np.testing.assert_allclose(labels[video["video_id"]][kind], expected, atol=1e-5)
        checked += 1
    assert checked == summary.videos_language_known == summary.videos - 1
    assert summary.label_mode == "pseudo_labels"
    assert (_concepts(cfg) / "language" / "cache" / "text").is_dir()


def test_concepts_layout_is_complete_and_consistent(annotations_run):
    cfg, summary, _ = annotations_run
    root = _concepts(cfg)
    for name in LAYOUT:
        assert (root / name).is_file(), name
    bundle = read_concept_bundle(str(root))
    names = bundle.names
    assert names["motion"] == [f"motion_{k:03d}" for k in range(summary.motion_concepts)]
    assert bundle.centroids.shape[0] == summary.motion_concepts
    assert (root / "language" / "objects.txt").read_text().splitlines() == names["objects"]
    assigned = {
        (r["video_id"], r["clip_index"]): r["concept"]
        for r in pq.read_table(root / "motion" / "assignment.parquet").to_pylist()
    }
    for k, concept in enumerate(bundle.index["motion"]):
        for ref in ("medoid", "closest_member"):
            key = (concept[ref]["video_id"], concept[ref]["clip_index"])
            assert assigned[key] == k, (k, ref)
    motion_summary = storage.read_json(str(root / "motion" / "summary.json"))
    assert motion_summary["num_concepts"] == summary.motion_concepts
    for target in ("class", "primitive"):  # tiny synth has ground truth primitives
        assert 0.0 <= summary.nmi[target]["finch"] <= 1.0
        assert 0.0 <= summary.nmi[target]["kmeans"] <= 1.0


def test_a_rerun_writes_byte_identical_outputs(annotations_run):
    from ray_jobs.discover import run_discover

    cfg, _, _ = annotations_run
    root = _concepts(cfg)
    before = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    run_discover(cfg, log=_quiet)
    after = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert after.keys() == before.keys()
    assert [name for name in before if before[name] != after[name]] == []


def test_discover_without_preprocess_outputs_says_to_run_preprocess(tmp_path, tiny_synth):
    from ray_jobs.discover import run_discover

    cfg, _ = job_config(tmp_path, str(tmp_path / "work"), tiny_synth, None)
    prepare_manifest(cfg, log=_quiet)
    with pytest.raises(StageError, match="run `dance preprocess"):
        run_discover(cfg, log=_quiet)


def test_labels_table_writes_null_object_and_scene_rows_for_unknown_videos():
    table = labels_table(
        ["a", "b"],
        ["train", "test"],
        [0, 1],
        np.array([[1, 0], [0, 0]], np.uint8),
        np.array([True, False]),
        np.array([[0.2], [0.0]], np.float32),
        np.zeros((2, 0), np.float32),
        np.array([True, False]),
    )
    rows = table.to_pylist()
    assert rows[0]["objects"] == pytest.approx([0.2]) and rows[0]["scenes"] == []
    assert rows[1]["objects"] is None and rows[1]["scenes"] is None


def test_llm_source_filters_the_answers_and_a_rerun_reads_them_from_the_cache(
    preprocessed, tiny_synth, tiny_encoders, monkeypatch
):
    from openai_server import chat_reply, running_openai_server

    def answer(request):
        objects = "physical objects" in request.last_user_message
        return chat_reply("- ball\n- net\n- water bottle" if objects else "- tennis court\n- park")

    tmp, work, _ = preprocessed
    monkeypatch.setenv("DANCE_TEST_LLM_KEY", "not-a-secret")
    with running_openai_server(answer) as server:
        language = {
            "source": "llm",
            "base_url": server.base_url,
            "api_key_env": "DANCE_TEST_LLM_KEY",
        }
        cfg, summary = _discover(tmp, work, "llm", tiny_synth, tiny_encoders, language)
        sent = server.request_count
        from ray_jobs.discover import run_discover

        run_discover(cfg, log=_quiet)
        assert server.request_count == sent > 0  # every answer came from the cache
    report = storage.read_json(str(_concepts(cfg) / "language" / "filter_report.json"))
    assert report["source"] == "llm" and report["filtered"] is True
    for kind, answered in (
        ("objects", {"ball", "net", "water bottle"}),
        ("scenes", {"tennis court", "park"}),
    ):
        kept = (_concepts(cfg) / "language" / f"{kind}.txt").read_text().splitlines()
        dropped = {d["concept"] for d in report[kind]["dropped"]}
        assert set(kept) | dropped == answered and not set(kept) & dropped
    assert summary.label_mode == "pseudo_labels"
    assert any((_concepts(cfg) / "language" / "cache" / "llm").iterdir())


def test_answers_source_parses_and_filters_like_llm_answers_and_scores_the_labels(
    preprocessed, tiny_synth, tiny_encoders
):
    tmp, work, manifest = preprocessed
    cfg, summary = _discover(
        tmp, work, "answers", tiny_synth, tiny_encoders,
        {"source": "answers", "answers_file": "synth"},
    )  # fmt: skip
    report = storage.read_json(str(_concepts(cfg) / "language" / "filter_report.json"))
    assert report["source"] == "answers" and report["filtered"] is True
    assert set(report["per_class"]) == set(manifest.class_names)
    # raise_arms, a tiny-synth class, answers "$" and "<b></b>" among its objects
    dropped = {(d["concept"], d["rule"]) for d in report["objects"]["dropped"]}
    assert {("$", "no_letters"), ("<b></b>", "markup_only")} <= dropped
    assert summary.language_source == "answers" and summary.label_mode == "pseudo_labels"
    # DANCE-Synth has ground truth, so the summary and the record score the pseudo labels.
    assert set(summary.label_quality) == {"objects", "scenes"}
    for kind in ("objects", "scenes"):
        for split in ("train", "test"):
            figures = summary.label_quality[kind][split]
            assert figures["concepts"] == len(figures["per_concept"])
    record = require_done(cfg.workdir, "discover", "dance discover")
    assert set(record.facts["label_quality"]["objects"]) == {"train", "test"}
    assert "answers" in record.inputs


def _pseudo_label_benchmark():
    """benchmarks/pseudo_labels.py as a module (benchmarks/ is not a package)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "pseudo_labels.py"
    spec = importlib.util.spec_from_file_location("pseudo_labels_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_pseudo_label_benchmark_decodes_videos_as_preprocess_did(
    preprocessed, tiny_synth, tiny_encoders
):
    from dance.encoders import DualEncoder
    from dance.preprocess import dual_embeddings, read_videos

    benchmark = _pseudo_label_benchmark()
    tmp, work, manifest = preprocessed
    cfg, _ = job_config(tmp, str(work), tiny_synth, tiny_encoders)
    stored = dual_embeddings(read_videos(cfg.workdir, columns=["video_id", "status", "dual"]))
    uris = dict(zip(manifest.video_ids, manifest.table["uri"].to_pylist(), strict=True))
    encoder = DualEncoder.from_pretrained(tiny_encoders["dual"])
    fresh = benchmark.decoded_embeddings(
        cfg, encoder, tiny_encoders["dual"], uris, str(tmp / "bench-spill")
    )
    assert set(fresh) == set(stored)  # the broken video fails here too
    for video_id, row in fresh.items():
        np.testing.assert_allclose(row, stored[video_id], atol=1e-5)


def test_the_pseudo_label_benchmark_scores_both_encoders_on_the_same_concepts(
    preprocessed, tiny_synth, tiny_encoders
):
    benchmark = _pseudo_label_benchmark()
    tmp, work, _ = preprocessed
    no_cuts = {"class_similarity_cutoff": 1.0, "duplicate_similarity_cutoff": 1.0}
    cfg, _ = job_config(tmp, str(work), tiny_synth, tiny_encoders, discover={"language": no_cuts})
    result = benchmark.run(cfg, "synth", log=_quiet)
    assert set(result["encoders"]) == {"preprocess", "random"}
    assert result["concepts"]["objects"] and result["filter_audit"]["passed"] is False
    for encoder in result["encoders"].values():
        test = encoder["quality"]["objects"]["test"]
        assert set(test["per_concept"]) <= set(result["concepts"]["objects"])
        assert all(0.0 <= auc <= 1.0 for auc in test["per_concept"].values())
    assert "| random: tiny random xclip" in benchmark.table(result)
