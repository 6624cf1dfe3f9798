"""The RT-DETR detector of `dance concept-clips`: loading, boxes per frame, the job's detector path.

A tiny random RT-DETR (small dims, three labels) is saved like a hub checkpoint and loaded
through the same `from_pretrained` call as a real one; its boxes are arbitrary, so the
tests check shapes, ranges and the threshold, not what is found.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import yaml

from dance.config import load_config
from dance.errors import InputError
from dance.manifest import Manifest
from dance.posthoc import ObjectDetector, read_concept_clips
from dance.progress import quiet
from dance.workdir import begin_stage, manifest_uri, model_reference, read_record

LABELS = {0: "person", 1: "ball", 2: "cup"}


def build_tiny_rtdetr(path: Path) -> str:
    """A random RT-DETR with small dims and LABELS, saved with its (PIL) image processor."""
    from transformers import (
        RTDetrConfig,
        RTDetrForObjectDetection,
        RTDetrImageProcessorPil,
        RTDetrResNetConfig,
    )

    backbone = RTDetrResNetConfig(
        embedding_size=8, hidden_sizes=[8, 16, 16, 16], depths=[1, 1, 1, 1], layer_type="basic",
        out_features=["stage2", "stage3", "stage4"],
    )
    config = RTDetrConfig(
        backbone_config=backbone, d_model=16, encoder_hidden_dim=16,
        encoder_in_channels=[16, 16, 16], feat_strides=[8, 16, 32], encoder_ffn_dim=32,
        encoder_attention_heads=2, encoder_layers=1, decoder_ffn_dim=32,
        decoder_attention_heads=2, decoder_layers=1, decoder_in_channels=[16, 16, 16],
        num_queries=12, num_labels=len(LABELS), id2label=LABELS,
        label2id={name: i for i, name in LABELS.items()},
    )  # fmt: skip
    RTDetrForObjectDetection(config).save_pretrained(str(path))
    RTDetrImageProcessorPil(size={"height": 64, "width": 64}).save_pretrained(str(path))
    return str(path)


@pytest.fixture(scope="module")
def tiny_rtdetr(tmp_path_factory) -> str:
    return build_tiny_rtdetr(tmp_path_factory.mktemp("rtdetr") / "rtdetr")


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (3, 48, 80, 3), dtype=np.uint8)


def test_a_saved_rt_detr_loads_and_gives_one_detections_per_frame(tiny_rtdetr, frames):
    detector = ObjectDetector.from_pretrained(tiny_rtdetr, threshold=0.01)
    detections = detector.detect(frames)
    assert len(detections) == 3
    for found in detections:
        assert found.boxes.shape == (len(found), 4) and found.scores.shape == (len(found),)
        assert set(found.labels) <= set(LABELS.values())
        assert (found.boxes[:, 0] >= 0).all() and (found.boxes[:, 2] <= 80).all()
        assert (found.boxes[:, 1] >= 0).all() and (found.boxes[:, 3] <= 48).all()
        assert (found.boxes[:, 2] > found.boxes[:, 0]).all()
        assert (np.diff(found.scores) <= 0).all()  # best first
    assert sum(len(found) for found in detections) > 0


def test_a_higher_threshold_keeps_only_detections_scoring_above_it(tiny_rtdetr, frames):
    low = ObjectDetector.from_pretrained(tiny_rtdetr, threshold=0.01).detect(frames)
    cut = float(np.median(np.concatenate([d.scores for d in low])))
    high = ObjectDetector.from_pretrained(tiny_rtdetr, threshold=cut).detect(frames)
    for few, many in zip(high, low, strict=True):
        assert (few.scores >= cut).all() and len(few) <= len(many)


def test_a_missing_detector_directory_is_an_input_error_naming_it_and_the_fix(tmp_path):
    missing = str(tmp_path / "no_such_detector")
    with pytest.raises(InputError, match="no_such_detector.*concept_clips.detector"):
        ObjectDetector.from_pretrained(missing)


def test_a_model_that_is_not_rt_detr_is_refused(tmp_path):
    from dance.encoders import build_tiny_videomae

    path = build_tiny_videomae(str(tmp_path / "videomae"))
    with pytest.raises(InputError, match="not RT-DETR"):
        ObjectDetector.from_pretrained(path)


def test_the_job_cuts_concept_clips_from_detector_boxes(
    ray_session, tiny_synth, tiny_rtdetr, tmp_path
):
    from dance.encoders import build_tiny_videomae
    from ray_jobs.concept_clips import run_concept_clips

    manifest = Manifest.read(str(tiny_synth / "manifest.parquet"))
    table = manifest.table.filter(pa.compute.equal(manifest.table["split"], "train")).slice(0, 2)
    table = table.set_column(table.schema.get_field_index("uri"), "uri", pa.array(
        [str(tiny_synth / "videos" / Path(u).name) for u in table["uri"].to_pylist()]))
    raw = {
        "name": "detector-test", "workdir": str(tmp_path / "work"), "ray": {"num_cpus": 2},
        "dataset": {"name": "synth", "root": str(tiny_synth)},
        "concept_clips": {
            "boxes": "detector", "detector": tiny_rtdetr, "detector_threshold": 0.01,
            "clips_per_concept": 2, "random_sets": 2, "random_set_size": 2,
            "resources": {"pool_size": 1, "num_cpus": 0.25, "batch_size": 2},
        },
    }  # fmt: skip
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(raw))
    cfg = load_config(str(tmp_path / "config.yaml"))
    Manifest(table, manifest.class_names).write(manifest_uri(cfg.workdir))
    backbone = build_tiny_videomae(str(tmp_path / "videomae"))
    begin_stage(cfg.workdir, "preprocess", cfg.model_dump(mode="json"), log=quiet).finish(
        facts={"backbone": model_reference(backbone)})
    run_concept_clips(cfg, log=quiet)
    clips = read_concept_clips(cfg.workdir)
    record = read_record(cfg.workdir, "concept_clips")
    assert record.facts["box_source"] == "detector"
    assert record.facts["detector"]["id"] == tiny_rtdetr and record.facts["detector"]["sha256"]
    assert len(clips.status) == 2 and not clips.failed
    groups = clips.groups()
    assert "scene" not in groups  # a detector names no scene
    assert {c.removesuffix("_moving") for c in groups.get("object", {})} <= {"ball", "cup"}
    assert all(c.shape == (16, 32, 32, 3) for concepts in groups.values()
               for stack in concepts.values() for c in stack)  # fmt: skip
    assert [len(s) for s in clips.random_sets()] == [2, 2]
