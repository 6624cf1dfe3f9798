"""DANCE-Synth captions: made from what each video shows, reproducible, in a fixed vocabulary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dance.config import SynthConfig
from dance.errors import InputError
from dance.synth import (
    OBJECT_PHRASES,
    SCENE_PHRASES,
    caption_vocabulary,
    class_catalogue,
    generate_dataset,
    load_ground_truth,
    read_captions,
    video_captions,
)

TINY = SynthConfig.preset_config("tiny", workers=1)
ALL_CLASSES = class_catalogue(SynthConfig.preset_config("bench"))
HOLD_MODES = sorted({cls.hold for cls in ALL_CLASSES})


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny dataset (with its shifted split) shared by the tests of this module."""
    out = tmp_path_factory.mktemp("synth_captions")
    generate_dataset(TINY, str(out))
    return out


def _names(caption: str, phrase: str) -> bool:
    """Whether `phrase` occurs in `caption` as whole words."""
    return f" {phrase} " in f" {caption} "


def _object_named(caption: str, name: str) -> bool:
    return any(_names(caption, phrase) for phrase in OBJECT_PHRASES[name])


def _scene_named(caption: str, name: str) -> bool:
    return any(_names(caption, phrase.concept) for phrase in SCENE_PHRASES[name])


def test_captions_table_has_one_row_per_video_shifted_included(tiny: Path) -> None:
    table = pq.read_table(tiny / "captions.parquet")
    expected = pa.schema([("video_id", pa.string()), ("captions", pa.list_(pa.string()))])
    assert table.schema.remove_metadata().equals(expected)
    ids = table.column("video_id").to_pylist()
    assert ids == sorted(ids)
    assert set(ids) == set(load_ground_truth(str(tiny)))
    assert any(video_id.endswith("_shifted") for video_id in ids)


def test_every_video_gets_several_distinct_captions(tiny: Path) -> None:
    for video_id, captions in read_captions(str(tiny)).items():
        assert 6 <= len(captions) <= 8, video_id
        assert len(set(captions)) == len(captions), video_id


def test_captions_name_the_video_s_own_object_and_scene(tiny: Path) -> None:
    truth = load_ground_truth(str(tiny))
    for video_id, captions in read_captions(str(tiny)).items():
        own = truth[video_id]
        assert any(_object_named(c, own.object) for c in captions), video_id
        assert any(_scene_named(c, own.scene) for c in captions), video_id
        for caption in captions:
            assert not any(_object_named(caption, o) for o in OBJECT_PHRASES if o != own.object)
            assert not any(_scene_named(caption, s) for s in SCENE_PHRASES if s != own.scene)


def test_some_captions_name_only_the_object_or_only_the_scene(tiny: Path) -> None:
    truth = load_ground_truth(str(tiny))
    for video_id, captions in read_captions(str(tiny)).items():
        own = truth[video_id]
        object_only = [c for c in captions if not _scene_named(c, own.scene)]
        scene_only = [c for c in captions if not _object_named(c, own.object)]
        assert any(_object_named(c, own.object) and len(c.split()) <= 5 for c in object_only)
        assert any(_scene_named(c, own.scene) and len(c.split()) <= 5 for c in scene_only)


def test_videos_with_different_objects_get_different_captions(tiny: Path) -> None:
    truth = load_ground_truth(str(tiny))
    captions = read_captions(str(tiny))
    bats = [v for v in captions if truth[v].object == "bat"]
    rackets = [v for v in captions if truth[v].object == "racket"]
    assert bats and rackets
    for bat in bats:
        for racket in rackets:
            assert captions[bat] != captions[racket]
            # What they share (the same swing, maybe the same scene) names no object.
            for shared in set(captions[bat]) & set(captions[racket]):
                assert not any(_object_named(shared, name) for name in OBJECT_PHRASES)


def test_same_seed_gives_identical_caption_bytes_whatever_workers(
    tiny: Path, tmp_path: Path
) -> None:
    generate_dataset(TINY.model_copy(update={"workers": 2}), str(tmp_path))
    assert (tmp_path / "captions.parquet").read_bytes() == (tiny / "captions.parquet").read_bytes()


def test_caption_draws_follow_the_generator_only() -> None:
    def draw(seed: int) -> list[str]:
        rng = np.random.default_rng(seed)
        return video_captions("bat_swing", "right_hand", "right_hand", "bat", "field", rng)

    assert draw(3) == draw(3)
    assert any(draw(3) != draw(seed) for seed in range(4, 8))


def test_every_class_object_scene_and_hold_can_be_captioned_in_the_vocabulary() -> None:
    vocabulary = set(caption_vocabulary())
    rng = np.random.default_rng(0)
    for cls in ALL_CLASSES:
        for hold in HOLD_MODES:
            for obj in OBJECT_PHRASES:
                for scene in SCENE_PHRASES:
                    for caption in video_captions(cls.name, cls.hold, hold, obj, scene, rng):
                        assert set(caption.split()) <= vocabulary, caption


def test_phrase_tables_cover_every_rendered_object_and_scene() -> None:
    objects = {name for cls in ALL_CLASSES for name in cls.objects}
    scenes = {name for cls in ALL_CLASSES for name in cls.scenes}
    assert objects <= set(OBJECT_PHRASES)
    assert scenes <= set(SCENE_PHRASES)


def test_an_unknown_object_is_refused_by_name() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="object 'kite'"):
        video_captions("bat_swing", "right_hand", "right_hand", "kite", "field", rng)


def test_reading_a_folder_without_captions_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="generate_dataset"):
        read_captions(str(tmp_path))
