"""SynthConfig: presets and validation errors that name the offending field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dance.config import SYNTH_MAX_CLASSES, SynthConfig


def test_tiny_preset_is_small_and_keeps_a_reversal_and_a_context_pair() -> None:
    config = SynthConfig.preset_config("tiny")
    assert config.preset == "tiny"
    assert config.num_classes == 4
    assert config.num_frames == 32


def test_demo_preset_matches_the_documented_size() -> None:
    config = SynthConfig.preset_config("demo")
    assert 8 <= config.num_classes <= 10
    assert 24 <= config.videos_per_class <= 40
    assert config.num_frames == 64
    assert 160 <= config.height <= 256


def test_preset_overrides_apply_on_top() -> None:
    config = SynthConfig.preset_config("tiny", seed=7, workers=1)
    assert (config.seed, config.workers, config.num_classes) == (7, 1, 4)


def test_unknown_preset_names_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown preset 'huge'.*bench.*demo.*tiny"):
        SynthConfig.preset_config("huge")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("num_classes", 0),
        ("num_classes", 99),
        ("videos_per_class", 1),
        ("test_fraction", 1.5),
        ("num_frames", 2),
        ("height", 161),
        ("width", 10),
        ("fps", 0),
        ("seed", -1),
        ("workers", 0),
        ("codec", "vp9"),
        ("container", "mkv"),
        ("person_height", (0.7, 0.9)),
    ],
)
def test_bad_value_fails_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        SynthConfig(**{field: value})
    assert field in str(info.value)


def test_unknown_field_is_rejected_by_name() -> None:
    with pytest.raises(ValidationError, match="num_clases"):
        SynthConfig(num_clases=3)


def test_a_split_without_test_videos_is_rejected() -> None:
    with pytest.raises(ValidationError, match="test_fraction"):
        SynthConfig(videos_per_class=2, test_fraction=0.1)


def test_the_class_bound_is_the_size_of_the_generators_catalogue() -> None:
    from dance.synth import catalogue_names

    assert len(catalogue_names()) == SYNTH_MAX_CLASSES
    assert SynthConfig.preset_config("bench").num_classes == SYNTH_MAX_CLASSES
