"""Training a video-text dual encoder on captions, in plain torch (no Ray)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from dance.config import BackboneConfig, DualEncoderConfig, DualTrainingConfig, load_config
from dance.dual import (
    BOS,
    EOS,
    PAD,
    UNK,
    CaptionedClips,
    VideoTextModel,
    build_clip,
    build_tokenizer,
    caption_pool,
    concept_auc,
    concept_file_texts,
    contrastive_loss,
    dual_clip_spec,
    embed_captions,
    embed_clips,
    fit,
    load_text_tokenizer,
    processor_config_for,
    retrieval_chance,
    same_text,
    train_one_epoch,
    vocabulary_words,
)
from dance.encoders import DualEncoder
from dance.finetune import ClipSpec, TrainState, export_model, make_optimizer, steps_per_epoch

SIZE = 16
FRAMES = 4
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}
CAPTIONS = {
    name: [f"a person on a {name} field", f"a {name} scene", f"someone waving in {name}"]
    for name in COLOURS
}


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """One intra-op thread: tiny models gain nothing from more, and a busy machine thrashes."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _config(**overrides: object) -> DualTrainingConfig:
    """A tiny, fast configuration: 16 px frames, two small ConvNeXt stages, one text layer."""
    settings: dict = {
        "image_size": SIZE,
        "tiny_patch_size": 4,
        "tiny_vision_widths": [8, 16],
        "tiny_vision_depths": [1, 1],
        "tiny_hidden_size": 32,
        "tiny_heads": 2,
        "tiny_intermediate_size": 64,
        "tiny_text_layers": 1,
        "tiny_projection_dim": 16,
        "frames_per_step": 2,
        "warmup_epochs": 0,
        "lr": 3e-3,
        "workers": {"pool_size": 1, "num_cpus": 1, "batch_size": 6},
        **overrides,
    }
    return DualTrainingConfig(**settings)


def _coloured_set(per_colour: int = 4, seed: int = 0) -> CaptionedClips:
    """Clips filled with one colour (plus noise), captioned by that colour."""
    rng = np.random.default_rng(seed)
    ids, clips, captions = [], [], []
    for name, rgb in COLOURS.items():
        for index in range(per_colour):
            noise = rng.integers(-20, 20, size=(FRAMES, SIZE, SIZE, 3))
            clips.append(np.clip(np.array(rgb) + noise, 0, 255).astype(np.uint8))
            ids.append(f"{name}_{index}")
            captions.append(CAPTIONS[name])
    return CaptionedClips(ids, torch.from_numpy(np.stack(clips)), captions)


def _words() -> list[str]:
    return vocabulary_words([text for texts in CAPTIONS.values() for text in texts])


def _model(config: DualTrainingConfig) -> tuple[VideoTextModel, object]:
    tokenizer = load_text_tokenizer(config, _words())
    return VideoTextModel(build_clip(config, tokenizer)), tokenizer


def _spec(config: DualTrainingConfig) -> ClipSpec:
    return dual_clip_spec(
        config, BackboneConfig(num_frames=8), DualEncoderConfig(num_frames=FRAMES)
    )


# --- tokenizer ---------------------------------------------------------------------------


def test_the_tokenizer_knows_every_word_of_the_captions_it_was_built_from() -> None:
    texts = ["A person swinging a Bat, on a grass field!", "bat_swing", "a video of racquet"]
    tokenizer = build_tokenizer(vocabulary_words(texts), max_length=32)
    ids = tokenizer(texts)["input_ids"]
    assert all(tokenizer.convert_tokens_to_ids(UNK) not in row for row in ids)
    assert tokenizer.tokenize("A Bat_Swing!") == ["a", "bat", "swing", "!"]


def test_an_unknown_word_becomes_unk_and_every_text_is_wrapped_in_bos_and_eos() -> None:
    tokenizer = build_tokenizer(vocabulary_words(["a bat on a field"]), max_length=32)
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("a zebra on a field")["input_ids"])
    assert tokens == [BOS, "a", UNK, "on", "a", "field", EOS]


def test_a_saved_tokenizer_loads_back_with_autotokenizer_and_the_same_ids(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = build_tokenizer(_words(), max_length=32)
    tokenizer.save_pretrained(str(tmp_path))
    loaded = AutoTokenizer.from_pretrained(str(tmp_path))
    text = ["a red scene", "an unseen word"]
    assert loaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert (loaded.pad_token, loaded.eos_token, loaded.unk_token) == (PAD, EOS, UNK)


def test_a_long_caption_is_cut_but_keeps_its_eos() -> None:
    tokenizer = build_tokenizer(["a"], max_length=5)
    ids = tokenizer(["a a a a a a a a"], truncation=True, max_length=5)["input_ids"][0]
    assert len(ids) == 5 and ids[-1] == tokenizer.eos_token_id


# --- model -------------------------------------------------------------------------------


def test_the_text_tower_pools_at_the_tokenizers_eos_token() -> None:
    config = _config()
    model, tokenizer = _model(config)
    text_config = model.clip.config.text_config
    assert text_config.eos_token_id == tokenizer.eos_token_id != 2  # 2 would pool at argmax(ids)
    # Padding after the eos changes nothing: the embedding is read at the eos position.
    alone = embed_captions(model, tokenizer, ["a red scene"])
    padded = embed_captions(model, tokenizer, ["a red scene", "someone waving in a red field"])
    torch.testing.assert_close(alone[0], padded[0], rtol=0, atol=1e-6)


def test_the_same_seed_builds_the_same_tiny_clip() -> None:
    first, _ = _model(_config(seed=3))
    second, _ = _model(_config(seed=3))
    other, _ = _model(_config(seed=4))
    weights = first.state_dict()
    assert all(torch.equal(weights[k], v) for k, v in second.state_dict().items())
    assert not torch.equal(
        weights["clip.visual_projection.weight"],
        other.state_dict()["clip.visual_projection.weight"],
    )


def test_a_repeated_caption_in_a_batch_counts_as_a_positive_not_a_negative() -> None:
    videos = torch.eye(2, 4)  # two different videos, both captioned "a red scene"
    caption = torch.nn.functional.normalize(torch.ones(1, 4), dim=-1)
    scale = torch.tensor(10.0)
    texts = caption.repeat(2, 1).requires_grad_(True)
    contrastive_loss(videos, texts, scale, same_text(["a red scene"] * 2, "cpu"))[0].backward()
    assert torch.count_nonzero(texts.grad) == 0  # nothing to gain from telling them apart
    plain = caption.repeat(2, 1).requires_grad_(True)
    contrastive_loss(videos, plain, scale)[0].backward()  # CLIP's loss pulls them apart
    assert torch.count_nonzero(plain.grad) > 0


# --- training ----------------------------------------------------------------------------


def test_the_contrastive_loss_falls_and_retrieval_beats_chance_on_a_tiny_set() -> None:
    config = _config(epochs=12, lr=1e-2)
    model, tokenizer = _model(config)
    data = _coloured_set()
    optimizer = make_optimizer(model, config)
    steps = steps_per_epoch(len(data), 1, config.workers.batch_size)
    state = fit(
        model, optimizer, tokenizer, data, data, caption_pool(data.captions), _spec(config),
        config, TrainState(), steps,
    )  # fmt: skip
    losses = [row["train_loss"] for row in state.history]
    assert losses[-1] < 0.6 * losses[0]
    assert state.best_val_acc > 2 * retrieval_chance(data.captions)


def test_an_epoch_is_the_same_whether_or_not_training_stopped_before_it() -> None:
    config = _config(epochs=2)
    data = _coloured_set(per_colour=2)
    spec = _spec(config)
    straight, tokenizer = _model(config)
    optimizer = make_optimizer(straight, config)
    for epoch in range(2):
        train_one_epoch(straight, optimizer, tokenizer, data, spec, config, epoch, 1)
    resumed, _ = _model(config)
    first_optimizer = make_optimizer(resumed, config)
    train_one_epoch(resumed, first_optimizer, tokenizer, data, spec, config, 0, 1)
    second_optimizer = make_optimizer(resumed, config)
    second_optimizer.load_state_dict(first_optimizer.state_dict())
    train_one_epoch(resumed, second_optimizer, tokenizer, data, spec, config, 1, 1)
    for name, value in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], value, rtol=0, atol=0)


def test_the_export_loads_as_a_clip_frames_dual_encoder_with_the_same_embeddings(
    tmp_path: Path,
) -> None:
    config = _config()
    model, tokenizer = _model(config)
    data = _coloured_set(per_colour=2)
    optimizer = make_optimizer(model, config)
    train_one_epoch(model, optimizer, tokenizer, data, _spec(config), config, 0, 1)
    output = export_model(
        str(tmp_path / "dual"), model.clip, processor_config_for(config), {}, tokenizer
    )
    encoder = DualEncoder.from_pretrained(output, kind="clip_frames")

    videos = embed_clips(model, data.clips, _spec(config), batch_size=4)
    np.testing.assert_allclose(encoder.embed_videos(data.clips.numpy()), videos.numpy(), atol=1e-6)
    texts = ["a red scene", "A video of an unseen zebra", "someone waving in blue"]
    np.testing.assert_allclose(
        encoder.embed_texts(texts), embed_captions(model, tokenizer, texts).numpy(), atol=1e-6
    )
    assert encoder.embed_dim == config.tiny_projection_dim


# --- figures and texts -------------------------------------------------------------------


def test_concept_auc_is_one_for_a_perfect_score_and_undefined_for_a_constant_truth() -> None:
    videos = np.eye(3, dtype=np.float32)
    texts = np.eye(3, dtype=np.float32)[:2]
    truth = np.array([[1, 1], [0, 1], [0, 1]], dtype=np.float32)
    assert concept_auc(videos, texts, truth) == [1.0, None]


def test_retrieval_chance_is_the_share_of_the_pool_a_video_owns() -> None:
    assert retrieval_chance([["a", "b"], ["c", "d"], ["a", "e"]]) == pytest.approx(2 / 5)


def test_concept_file_texts_are_the_list_items_of_json_and_the_lines_of_text(
    tmp_path: Path,
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(
        json.dumps(
            {"format": "v1", "classes": {"swing": {"objects": ["bat"], "scenes": ["court"]}}}
        )
    )
    lines = tmp_path / "objects.txt"
    lines.write_text("ball\nwooden bat\n")
    assert concept_file_texts(str(answers)) == ["bat", "court"]
    assert concept_file_texts(str(lines)) == ["ball", "wooden bat"]


def test_the_dual_training_section_is_part_of_every_config_and_checks_its_shapes() -> None:
    assert load_config("demo").dual_training.init == "tiny"
    with pytest.raises(ValueError, match="tiny_patch_size"):
        DualTrainingConfig(image_size=60, tiny_patch_size=8)


def test_convnext_widths_and_depths_must_name_the_same_stages() -> None:
    with pytest.raises(ValueError, match="one entry per ConvNeXt stage"):
        DualTrainingConfig(tiny_vision_widths=[8, 16, 32], tiny_vision_depths=[1, 1])
