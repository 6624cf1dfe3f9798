"""What training refuses before it starts, and the validation protocols (library, no Ray)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from train_helpers import CLASSES, make_train_workdir

from dance.concepts import read_concept_bundle
from dance.config import load_config
from dance.preprocess import read_videos
from dance.train import (
    EmptyConceptTypeError,
    TrainingDataError,
    check_validation_rows,
    fit_model,
    join_training_table,
    training_arrays,
)
from dance.workdir import concepts_dir


@pytest.fixture
def workdir(tmp_path: Path):
    """(config, videos table, labels table, concept names) of a fresh training workdir."""
    cfg = load_config(str(make_train_workdir(tmp_path)))
    bundle = read_concept_bundle(concepts_dir(cfg.workdir))
    videos = read_videos(cfg.workdir, columns=["video_id", "status", "backbone"])
    return cfg, videos, bundle.labels, bundle.names


def _arrays(videos: pa.Table, labels: pa.Table, names: dict):
    table, _ = join_training_table(videos, labels, CLASSES)
    return training_arrays(table, {kind: len(values) for kind, values in names.items()})


def test_labels_missing_for_videos_with_features_are_refused_with_count_and_ids(workdir):
    _, videos, labels, _ = workdir
    kept = labels.filter(pc.invert(pc.starts_with(labels["video_id"], "clap_train_0")))
    with pytest.raises(TrainingDataError, match=r"no labels for 10 videos .*'clap_train_00'"):
        join_training_table(videos, kept, CLASSES)


def test_nan_or_infinite_features_are_refused_naming_the_videos(workdir):
    _, videos, labels, _ = workdir
    rows = videos.to_pylist()
    rows[3]["backbone"] = [float("nan")] * 16
    rows[5]["backbone"] = [float("inf")] * 16
    bad = pa.Table.from_pylist(rows, schema=videos.schema)
    with pytest.raises(TrainingDataError, match="2 videos hold NaN or infinite") as error:
        join_training_table(bad, labels, CLASSES)
    assert rows[3]["video_id"] in str(error.value) and rows[5]["video_id"] in str(error.value)


def test_a_class_without_training_videos_is_refused_by_name(workdir):
    _, videos, labels, _ = workdir
    no_wave = pc.and_(pc.equal(labels["split"], "train"), pc.starts_with(labels["video_id"], "wave"))
    moved = labels.set_column(
        1, "split", pc.if_else(no_wave, pa.scalar("test"), labels["split"])
    )
    with pytest.raises(TrainingDataError, match="1 classes have no training video .*'wave'"):
        join_training_table(videos, moved, CLASSES)


def test_failed_videos_are_counted_not_trained_on(workdir):
    _, videos, labels, _ = workdir
    table, counts = join_training_table(videos, labels, CLASSES)
    assert (counts.trained_on, counts.failed) == (79, 1)
    assert table.num_rows == 79


def test_a_concept_type_emptied_by_the_cuts_is_an_error_naming_the_cut(workdir):
    cfg, videos, labels, names = workdir
    settings = cfg.train.model_copy(update={"clip_cut": 0.9, "motion_steps": 20})
    with pytest.raises(EmptyConceptTypeError, match=r"no object concept .*clip_cut \(threshold 0.9\)"):
        fit_model(_arrays(videos, labels, names), names, 4, settings, seed=0)


def test_allow_empty_types_trains_without_the_emptied_types_with_a_warning(workdir):
    cfg, videos, labels, names = workdir
    settings = cfg.train.model_copy(
        update={"clip_cut": 0.9, "motion_steps": 20, "allow_empty_types": True}
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        progress = fit_model(_arrays(videos, labels, names), names, 4, settings, seed=0)
    assert {len(r.names) for k, r in progress.types.items() if k != "motion"} == {0}
    assert any("training without object concepts" in str(w.message) for w in caught)
    assert progress.final is not None and progress.final.W.shape == (4, 6)


def test_the_default_protocol_needs_a_validation_split(workdir):
    _, videos, labels, _ = workdir
    table, _ = join_training_table(videos, labels, CLASSES)
    no_val = table.filter(pc.not_equal(table["split"], "val"))
    with pytest.raises(TrainingDataError, match="no val video has features"):
        check_validation_rows(no_val, paper_protocol=False)


def test_the_paper_protocol_validates_on_the_test_split(workdir):
    cfg, videos, labels, names = workdir
    arrays = _arrays(videos, labels, names)
    without_val = arrays.rows(arrays.splits != "val")
    paper = cfg.train.model_copy(update={"paper_protocol": True, "motion_steps": 100})
    progress = fit_model(without_val, names, 4, paper, seed=0)  # validates on test rows
    test_only = arrays.rows(arrays.splits != "val")
    test_only.splits = np.where(test_only.splits == "test", "val", test_only.splits)
    default = cfg.train.model_copy(update={"motion_steps": 100})
    renamed = fit_model(test_only, names, 4, default, seed=0)
    assert progress.types["motion"].history == renamed.types["motion"].history
