"""Tiny random VideoMAE / X-CLIP / CLIP models saved like hub checkpoints (tests, offline demo).

Each builder seeds torch, so the same call writes the same weights; the directory holds
``config.json``, ``model.safetensors`` and a ``preprocessor_config.json`` in the hub's
format, plus a tokenizer for the dual encoders, and loads through the same
``from_pretrained`` as a real checkpoint. The weights are random: the embeddings carry
no meaning.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch

from dance.encoders._preprocess import (
    CLIP_MEAN,
    CLIP_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    square_crop_processor_config,
)

_SEED = 0
_WIDTH = 32  # hidden size of every tiny tower
_PROJECTION = 16  # shared video-text embedding size
_TINY_TOWER = {
    "hidden_size": _WIDTH,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
}
_BOS, _EOS = "<|startoftext|>", "<|endoftext|>"
_MAX_TEXT = 77


def _seeded(build: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """Build a model under a fixed seed without disturbing the caller's random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_SEED)
        return build()


def _write_preprocessor_config(
    path: Path, processor_type: str, image_size: int, mean: tuple, std: tuple, resample: int
) -> None:
    """Write preprocessor_config.json as a Hugging Face image processor saves it."""
    config = square_crop_processor_config(processor_type, image_size, mean, std, resample)
    (path / "preprocessor_config.json").write_text(json.dumps(config, indent=2) + "\n")


def _tiny_text_config() -> dict:
    """A tiny CLIP-style text tower whose special ids match `_save_tiny_tokenizer`.

    The end-of-text id is the largest in the vocabulary, as in OpenAI CLIP: X-CLIP pools
    the text at argmax(input_ids), CLIP at the first eos id; both then find the same token.
    """
    return dict(
        **_TINY_TOWER,
        vocab_size=258,
        max_position_embeddings=_MAX_TEXT,
        bos_token_id=256,
        eos_token_id=257,
        pad_token_id=257,
    )


def _save_tiny_tokenizer(path: Path) -> None:
    """Save a byte-level tokenizer (256 byte tokens, no merges, bos/eos) built offline."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {symbol: i for i, symbol in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab[_BOS] = len(vocab)
    vocab[_EOS] = len(vocab)
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{_BOS} $A {_EOS}", special_tokens=[(_BOS, vocab[_BOS]), (_EOS, vocab[_EOS])]
    )
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=_BOS,
        eos_token=_EOS,
        pad_token=_EOS,
        unk_token=_EOS,
        model_max_length=_MAX_TEXT,
    )
    wrapped.save_pretrained(str(path))


def build_tiny_videomae(
    path: str, num_labels: int | None = None, image_size: int = 32, num_frames: int = 16
) -> str:
    """Save a tiny random VideoMAE (a classifier when num_labels is given) to `path`; return it."""
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification, VideoMAEModel

    patch = 8
    if image_size < patch or image_size % patch:
        raise ValueError(f"image_size must be a positive multiple of {patch}, got {image_size}")
    if num_frames < 2 or num_frames % 2:
        raise ValueError(
            f"num_frames must be a positive multiple of the tubelet size 2, got {num_frames}"
        )
    if num_labels is not None and num_labels < 1:
        raise ValueError(f"num_labels must be >= 1 or None, got {num_labels}")
    config = VideoMAEConfig(
        **_TINY_TOWER,
        image_size=image_size,
        patch_size=patch,
        num_frames=num_frames,
        tubelet_size=2,
        use_mean_pooling=True,
        **({"num_labels": num_labels} if num_labels else {}),
    )
    model_class = VideoMAEForVideoClassification if num_labels else VideoMAEModel
    model = _seeded(lambda: model_class(config))
    out = Path(path)
    model.save_pretrained(str(out))
    _write_preprocessor_config(
        out, "VideoMAEImageProcessor", image_size, IMAGENET_MEAN, IMAGENET_STD, 2
    )
    return str(out)


def build_tiny_xclip(path: str) -> str:
    """Save a tiny random X-CLIP (8 frames, 32 px) with a byte-level tokenizer to `path`; return it."""
    from transformers import XCLIPConfig, XCLIPModel

    config = XCLIPConfig(
        projection_dim=_PROJECTION,
        prompt_layers=1,
        prompt_num_attention_heads=2,
        text_config=_tiny_text_config(),
        vision_config=dict(
            **_TINY_TOWER,
            image_size=32,
            patch_size=8,
            num_frames=8,
            # transformers 5.x: the frame-integration transformer runs on projected features.
            mit_hidden_size=_PROJECTION,
            mit_intermediate_size=32,
            mit_num_hidden_layers=1,
            mit_num_attention_heads=2,
        ),
    )
    out = Path(path)
    _seeded(lambda: XCLIPModel(config)).save_pretrained(str(out))
    _save_tiny_tokenizer(out)
    _write_preprocessor_config(out, "VideoMAEImageProcessor", 32, CLIP_MEAN, CLIP_STD, 2)
    return str(out)


def build_tiny_clip(path: str) -> str:
    """Save a tiny random CLIP (32 px) with a byte-level tokenizer to `path`; return it."""
    from transformers import CLIPConfig, CLIPModel

    config = CLIPConfig(
        projection_dim=_PROJECTION,
        text_config=_tiny_text_config(),
        vision_config=dict(**_TINY_TOWER, image_size=32, patch_size=8),
    )
    out = Path(path)
    _seeded(lambda: CLIPModel(config)).save_pretrained(str(out))
    _save_tiny_tokenizer(out)
    _write_preprocessor_config(out, "CLIPImageProcessor", 32, CLIP_MEAN, CLIP_STD, 3)
    return str(out)
