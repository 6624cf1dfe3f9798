"""The VideoMAE classifier to fine-tune: a hub/local checkpoint, or a tiny one from scratch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from dance.config import BackboneConfig, FinetuneConfig
from dance.encoders import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    PREPROCESSOR_FILES,
    load_pretrained,
    read_json_file,
    resolve_model_source,
    square_crop_processor_config,
)
from dance.finetune._data import ClipSpec, square_clip_spec

if TYPE_CHECKING:
    from transformers import VideoMAEForVideoClassification

TINY = "tiny"
_TUBELET = 2
_BILINEAR = 2  # PIL code; VideoMAE's processor default


def default_processor_config(image_size: int) -> dict:
    """A VideoMAEImageProcessor config: shortest edge to image_size, centre crop, ImageNet stats."""
    return square_crop_processor_config(
        "VideoMAEImageProcessor", image_size, IMAGENET_MEAN, IMAGENET_STD, _BILINEAR
    )

def processor_config_for(config: FinetuneConfig) -> dict:
    """The preprocessor config the fine-tuned model will ship (from `init`, or the tiny one)."""
    if config.init == TINY:
        return default_processor_config(config.image_size)
    source = resolve_model_source(config.init)
    saved = read_json_file(source, PREPROCESSOR_FILES)
    if saved is not None:
        return saved
    from transformers import AutoConfig

    model_config = load_pretrained(AutoConfig.from_pretrained, source, weights=False)
    return default_processor_config(int(model_config.image_size))


def clip_spec_for(config: FinetuneConfig, backbone: BackboneConfig) -> ClipSpec:
    """How clips are sampled and resized for this fine-tuning run."""
    image_size = config.image_size
    if config.init != TINY:
        from transformers import AutoConfig

        source = resolve_model_source(config.init)
        image_size = int(
            load_pretrained(AutoConfig.from_pretrained, source, weights=False).image_size
        )
    return square_clip_spec(
        processor_config_for(config),
        image_size,
        backbone,
        (IMAGENET_MEAN, IMAGENET_STD, _BILINEAR),
        f"preprocessor config of finetune.init {config.init!r}",
    )


def build_classifier(
    config: FinetuneConfig, class_names: Sequence[str], num_frames: int
) -> VideoMAEForVideoClassification:
    """A VideoMAEForVideoClassification for `class_names` taking `num_frames`-frame clips.

    init "tiny": a random model seeded by config.seed (same config, same weights). Else the
    checkpoint's encoder with a new classifier head and mean pooling (VideoMAE's fine-tuning
    recipe); a checkpoint built for another clip length is refused.
    """
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification

    names = list(class_names)
    if len(names) < 2:
        raise ValueError(f"fine-tuning needs at least 2 classes, got {names}")
    labels = {
        "num_labels": len(names),
        "id2label": dict(enumerate(names)),
        "label2id": {name: i for i, name in enumerate(names)},
    }
    if config.init == TINY:
        if num_frames % _TUBELET:
            raise ValueError(
                f"backbone.num_frames must be a multiple of the tubelet size {_TUBELET} for "
                f"VideoMAE, got {num_frames}"
            )
        model_config = VideoMAEConfig(
            image_size=config.image_size,
            patch_size=config.tiny_patch_size,
            num_frames=num_frames,
            tubelet_size=_TUBELET,
            hidden_size=config.tiny_hidden_size,
            num_hidden_layers=config.tiny_layers,
            num_attention_heads=config.tiny_heads,
            intermediate_size=config.tiny_intermediate_size,
            use_mean_pooling=True,
            **labels,
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            return VideoMAEForVideoClassification(model_config)
    source = resolve_model_source(config.init)
    model = load_pretrained(
        VideoMAEForVideoClassification.from_pretrained,
        source,
        use_mean_pooling=True,
        ignore_mismatched_sizes=True,
        **labels,
    )
    if int(model.config.num_frames) != num_frames:
        raise ValueError(
            f"finetune.init {config.init!r} takes {model.config.num_frames}-frame clips but "
            f"backbone.num_frames is {num_frames}; set backbone.num_frames="
            f"{model.config.num_frames}"
        )
    return model
