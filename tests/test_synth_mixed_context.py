"""context: mixed: each video takes the objects, scene and holding of a class drawn at random."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from dance.config import SynthConfig
from dance.synth import class_catalogue, generate_dataset, load_ground_truth, read_captions

MIXED = SynthConfig.preset_config("tiny", workers=1, context="mixed", shifted_test=False)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny preset rendered with mixed contexts."""
    out = tmp_path_factory.mktemp("synth_mixed")
    generate_dataset(MIXED, str(out))
    return out


def _class_of(mixed: Path) -> dict[str, str]:
    """video_id -> class name, from the manifest."""
    table = pq.read_table(mixed / "manifest.parquet")
    return dict(zip(table["video_id"].to_pylist(), table["label_name"].to_pylist(), strict=True))


def test_some_videos_show_an_object_or_scene_their_class_never_shows(mixed: Path) -> None:
    classes = {c.name: c for c in class_catalogue(MIXED)}
    class_of = _class_of(mixed)
    foreign = [
        video_id
        for video_id, gt in load_ground_truth(str(mixed)).items()
        if gt.object not in classes[class_of[video_id]].objects
        or gt.scene not in classes[class_of[video_id]].scenes
    ]
    assert foreign


def test_every_object_and_scene_comes_from_some_class(mixed: Path) -> None:
    classes = class_catalogue(MIXED)
    objects = {o for c in classes for o in c.objects}
    scenes = {s for c in classes for s in c.scenes}
    for gt in load_ground_truth(str(mixed)).values():
        assert gt.object in objects and gt.scene in scenes


def test_a_video_keeps_the_motion_it_has_with_its_class_context(
    mixed: Path, tiny_synth: Path
) -> None:
    own = load_ground_truth(str(tiny_synth))
    for video_id, gt in load_ground_truth(str(mixed)).items():
        np.testing.assert_array_equal(gt.keypoints, own[video_id].keypoints)


def test_captions_name_the_object_each_video_shows(mixed: Path) -> None:
    captions = read_captions(str(mixed))
    for video_id, gt in load_ground_truth(str(mixed)).items():
        assert any(gt.object in text for text in captions[video_id]), video_id


def test_the_captions_preset_is_a_mixed_corpus_with_its_own_seed() -> None:
    corpus = SynthConfig.preset_config("captions")
    demo = SynthConfig.preset_config("demo")
    assert corpus.context == "mixed" and demo.context == "class"
    assert corpus.seed != demo.seed and corpus.num_classes == demo.num_classes
    assert not corpus.shifted_test
