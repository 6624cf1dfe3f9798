"""The fine-tuning loop in plain torch (no Ray): learning, resuming, exporting."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from dance.config import BackboneConfig, FinetuneConfig
from dance.encoders import VideoBackbone
from dance.finetune import (
    MARKER,
    ClipSet,
    ClipSpec,
    TrainState,
    build_classifier,
    clip_spec_for,
    default_processor_config,
    evaluate,
    evaluate_best,
    export_model,
    fit,
    learning_rate,
    load_checkpoint,
    make_optimizer,
    normalise_clips,
    resize_frames,
    save_checkpoint,
    steps_per_epoch,
)

CLASSES = ["a", "b", "c", "d"]
FRAMES = 4
SIZE = 16


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """One intra-op thread: tiny models gain nothing from more, and a busy machine thrashes."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _config(**overrides: object) -> FinetuneConfig:
    """A tiny, fast configuration: 16 px, one layer, no warmup, no flips."""
    settings: dict = {
        "init": "tiny",
        "image_size": SIZE,
        "tiny_patch_size": 8,
        "tiny_hidden_size": 32,
        "tiny_layers": 1,
        "tiny_heads": 2,
        "tiny_intermediate_size": 64,
        "epochs": 30,
        "workers": {"batch_size": 4},
        "lr": 3e-3,
        "warmup_epochs": 0,
        "label_smoothing": 0.0,
        "flip": False,
        "weight_decay": 0.0,
    }
    settings.update(overrides)
    return FinetuneConfig(**settings)


def _clipset(count: int = 8, seed: int = 0) -> ClipSet:
    """Random uint8 clips (T=4, 16x16) with labels cycling over four classes."""
    generator = torch.Generator().manual_seed(seed)
    clips = torch.randint(0, 256, (count, FRAMES, SIZE, SIZE, 3), generator=generator)
    labels = torch.arange(count) % len(CLASSES)
    return ClipSet([f"v{i:02d}" for i in range(count)], clips.to(torch.uint8), labels)


def _setup(config: FinetuneConfig) -> tuple[torch.nn.Module, torch.optim.Optimizer, ClipSpec]:
    model = build_classifier(config, CLASSES, FRAMES)
    return (
        model,
        make_optimizer(model, config),
        clip_spec_for(config, BackboneConfig(num_frames=FRAMES)),
    )


def _without_seconds(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


def test_training_reduces_the_loss_and_overfits_a_tiny_set() -> None:
    config = _config(eval_every_epochs=30)
    model, optimizer, spec = _setup(config)
    data = _clipset()
    steps = steps_per_epoch(len(data), 1, config.workers.batch_size)
    state = fit(model, optimizer, data, data, spec, config, TrainState(), steps)
    assert state.history[-1]["train_loss"] < 0.5 * state.history[0]["train_loss"]
    _, accuracy, count = evaluate(model, data, spec, batch_size=4)
    assert (accuracy, count) == (1.0, 8)


class _Killed(Exception):
    """Stands for a job killed right after a checkpoint."""


def test_resuming_from_a_checkpoint_continues_exactly(tmp_path: Path) -> None:
    config = _config(epochs=3, flip=True, warmup_epochs=1)
    data, val = _clipset(), _clipset(4, seed=1)
    steps = steps_per_epoch(len(data), 1, config.workers.batch_size)
    straight, optimizer, spec = _setup(config)
    straight_state = fit(straight, optimizer, data, val, spec, config, TrainState(), steps)

    first, optimizer, _ = _setup(config)

    def checkpoint_then_die(metrics: dict, state: TrainState, evaluated: bool) -> None:
        save_checkpoint(tmp_path / "ckpt", first, optimizer, state)
        if state.epoch == 2:
            raise _Killed

    with pytest.raises(_Killed):
        fit(first, optimizer, data, val, spec, config, TrainState(), steps, checkpoint_then_die)

    resumed, optimizer, _ = _setup(config)
    state = load_checkpoint(tmp_path / "ckpt", resumed, optimizer)
    assert state.epoch == 2
    state = fit(resumed, optimizer, data, val, spec, config, state, steps)

    assert _without_seconds(state.history) == _without_seconds(straight_state.history)
    for (name, a), (_, b) in zip(
        straight.state_dict().items(), resumed.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    assert state.best_epoch == straight_state.best_epoch


def test_the_best_epoch_by_validation_accuracy_is_kept_and_tested() -> None:
    config = _config(epochs=4)
    model, optimizer, spec = _setup(config)
    data = _clipset()
    state = fit(model, optimizer, data, data, spec, config, TrainState(), 2)
    best = max(row["val_acc"] for row in state.history)
    assert state.best_val_acc == best
    assert state.history[state.best_epoch - 1]["val_acc"] == best
    last = {k: v.clone() for k, v in model.state_dict().items()}
    result = evaluate_best(model, state, data, spec, batch_size=4)
    assert result["num_test"] == 8 and state.test == result
    assert all(torch.equal(last[k], v) for k, v in model.state_dict().items())


def test_learning_rate_warms_up_linearly_then_decays_to_zero() -> None:
    assert learning_rate(0, 100, 10, 1.0) == pytest.approx(0.1)
    assert learning_rate(9, 100, 10, 1.0) == pytest.approx(1.0)
    assert learning_rate(55, 100, 10, 1.0) == pytest.approx(0.5)
    assert learning_rate(100, 100, 10, 1.0) == pytest.approx(0.0)


def test_steps_per_epoch_follow_the_largest_worker_shard() -> None:
    assert steps_per_epoch(9, 2, 4) == 2  # shards of 5 and 4 clips
    with pytest.raises(ValueError, match="no decodable videos"):
        steps_per_epoch(0, 1, 4)


def test_the_exported_directory_loads_as_the_backbone_with_matching_logits(tmp_path: Path) -> None:
    config = _config(epochs=1)
    model, _, spec = _setup(config)
    model.eval()
    metrics = {"class_names": CLASSES, "test_acc": 0.5}
    output = export_model(
        str(tmp_path / "backbone"), model, default_processor_config(SIZE), metrics
    )
    # Raw frames larger than the model's input: the backbone must resize exactly as training did.
    raw = np.random.default_rng(0).integers(0, 256, (2, FRAMES, 24, 32, 3), dtype=np.uint8)
    cached = torch.from_numpy(np.stack([resize_frames(clip, spec) for clip in raw]))
    with torch.inference_mode():
        expected = model(pixel_values=normalise_clips(cached, spec, torch.device("cpu"))).logits
    backbone = VideoBackbone.from_pretrained(output)
    features = torch.from_numpy(backbone.embed(raw))
    weights = load_file(str(Path(output) / "model.safetensors"))
    logits = features @ weights["classifier.weight"].T + weights["classifier.bias"]
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=1e-4)
    saved = json.loads((Path(output) / "metrics.json").read_text())
    assert saved == metrics
    assert (Path(output) / MARKER).is_file()


def test_exporting_again_replaces_the_directory_whole(tmp_path: Path) -> None:
    config = _config(epochs=1)
    model, _, _ = _setup(config)
    target = tmp_path / "backbone"
    export_model(str(target), model, default_processor_config(SIZE), {"run": 1})
    (target / "stale.txt").write_text("from an older export")
    export_model(str(target), model, default_processor_config(SIZE), {"run": 2})
    assert json.loads((target / "metrics.json").read_text()) == {"run": 2}
    assert not (target / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backbone"]  # no temp or old dirs


def test_a_model_config_that_does_not_fit_is_refused_naming_the_keys() -> None:
    with pytest.raises(ValueError, match="image_size 20 must be a multiple of tiny_patch_size 8"):
        FinetuneConfig(init="tiny", image_size=20, tiny_patch_size=8)
    with pytest.raises(ValueError, match="multiple of the tubelet size"):
        build_classifier(_config(), CLASSES, 5)
    assert math.isclose(FinetuneConfig().lr, 5e-4)
