"""Config: presets carry the paper's settings; bad keys and values fail naming the key."""

from __future__ import annotations

import pytest

from dance.config import ConfigError, DanceConfig, list_presets, load_config


def test_every_shipped_preset_loads() -> None:
    assert {"demo", "ucf101", "haa500", "penn_action", "kth"} <= set(list_presets())
    for name in list_presets():
        assert isinstance(load_config(name), DanceConfig)


def test_ucf101_preset_carries_the_paper_settings() -> None:
    cfg = load_config("ucf101")
    assert cfg.clips.num_clips == 10
    assert cfg.clips.clip_length == 16
    assert cfg.keyframes.threshold == 0.3
    assert cfg.train.clip_cut == 0.2
    assert cfg.train.interpretability_cut == 0.3
    assert cfg.train.lam == pytest.approx(7e-4)
    assert cfg.train.alpha == 0.99
    assert cfg.discover.language.temperature == 0.2
    assert cfg.backbone.sampling == "stride_around_middle"


def test_override_sets_a_nested_value() -> None:
    cfg = load_config("ucf101", ["train.lam=1e-3", "clips.clip_length=10"])
    assert cfg.train.lam == pytest.approx(1e-3)
    assert cfg.clips.clip_length == 10


def test_unknown_key_names_the_key_and_the_allowed_ones() -> None:
    with pytest.raises(ConfigError) as err:
        load_config("demo", ["clips.lenght=8"])
    assert "clips.lenght" in str(err.value)
    assert "clip_length" in str(err.value)


def test_negative_clip_length_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"clips\.clip_length"):
        load_config("demo", ["clips.clip_length=-4"])


def test_bad_choice_lists_the_allowed_values() -> None:
    with pytest.raises(ConfigError) as err:
        load_config("demo", ["pose.backend=openpose"])
    assert "pose.backend" in str(err.value)
    assert "mediapipe" in str(err.value)


def test_user_file_extends_a_preset_through_base(tmp_path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("base: kth\nname: mine\ntrain:\n  lam: 0.002\n")
    cfg = load_config(str(path))
    assert cfg.name == "mine"
    assert cfg.train.lam == pytest.approx(0.002)
    assert cfg.dataset.name == "kth"


def test_base_loop_is_reported(tmp_path) -> None:
    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(ConfigError, match="loops"):
        load_config(str(tmp_path / "a.yaml"))


def test_unknown_preset_lists_the_presets() -> None:
    with pytest.raises(ConfigError, match="ucf101"):
        load_config("ucf1O1")


def test_malformed_override_shows_the_expected_form() -> None:
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config("demo", ["train.lam"])


def test_override_into_a_value_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"train\.lam"):
        load_config("ucf101", ["train.lam.x=1"])


def test_synth_section_requires_the_synth_dataset() -> None:
    with pytest.raises(ConfigError, match="dataset.name"):
        load_config("demo", ["dataset.name=kth"])


def test_even_blur_kernel_is_rejected() -> None:
    with pytest.raises(ConfigError, match="keyframes"):
        load_config("demo", ["keyframes.blur_kernel=8"])


def test_resolved_config_round_trips_through_yaml(tmp_path) -> None:
    cfg = load_config("penn_action")
    path = tmp_path / "resolved.yaml"
    path.write_text(cfg.to_yaml())
    assert load_config(str(path)) == cfg
