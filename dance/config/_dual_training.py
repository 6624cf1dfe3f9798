"""Config of `dance train-dual-encoder`: a small video-text dual encoder trained on captions."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from dance.config._base import Section, StageResources, check_attention_heads
from dance.config._synth import SynthConfig


class DualTrainingConfig(Section):
    """Contrastive training of an image-text model with temporal pooling on captions.

    The video embedding is the mean over the dual-encoder frames (`dual_encoder.num_frames`)
    of the image embeddings, exactly what `dual_encoder.kind: clip_frames` computes, so
    the exported directory serves as `dual_encoder.model`. The loss is CLIP's symmetric
    InfoNCE with a learnable temperature; each step takes one caption per video, drawn
    with the seed. init "tiny" trains from scratch a ConvNeXt image tower and a CLIP text
    tower (a transformers VisionTextDualEncoderModel) sized by image_size and the tiny_*
    fields; the demo trains it on a 960-video captions corpus (`corpus`) in about 3
    minutes on 2 CPU cores.
    """

    init: str = Field(
        "tiny",
        description="'tiny' = a small ConvNeXt + CLIP-text model trained from scratch with "
        "a word-level tokenizer over the captions and concept files; else a CLIP hub id or "
        "from_pretrained directory to fine-tune (its own tokenizer)",
    )
    output: str | None = Field(
        None,
        description="from_pretrained directory written at the end; None = <workdir>/dual_encoder",
    )
    state_dir: str | None = Field(
        None, description="clip cache and Ray Train checkpoints; None = <workdir>/dual_training"
    )
    corpus: SynthConfig | None = Field(
        None,
        description="train on a DANCE-Synth captions corpus rendered into <workdir>/dual_corpus "
        "(e.g. {preset: captions}: its own seed, objects and scenes drawn apart from the "
        "motion) instead of the dataset's own captions; the model never sees the dataset's "
        "videos, as a pretrained dual encoder would not. None = the dataset's captions",
    )
    run_name: str = Field(
        "dual_encoder",
        min_length=1,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Ray Train run name; a rerun with the same name resumes it",
    )
    epochs: int = Field(40, ge=1, description="passes over the train split")
    lr: float = Field(2e-3, gt=0, description="peak AdamW learning rate (after warmup)")
    weight_decay: float = Field(0.05, ge=0, description="AdamW weight decay (matrices only)")
    warmup_epochs: float = Field(2.0, ge=0, description="linear warmup, then cosine decay to 0")
    flip: bool = Field(
        True, description="random horizontal flips (captions do not name left or right)"
    )
    frames_per_step: int | None = Field(
        2,
        ge=1,
        description="frames of each video's clip averaged per training step, a random subset "
        "drawn anew each step (cheaper steps, more variety); None = all. Evaluation and the "
        "exported model always average every frame",
    )
    temperature: float = Field(
        0.07,
        gt=0,
        le=1,
        description="tiny only: the initial softmax temperature of the contrastive loss "
        "(learned from there; CLIP starts at 0.07 and stops at 0.01)",
    )
    max_text_length: int = Field(
        32, ge=4, description="tokens per caption, bos and eos included (tiny only)"
    )
    seed: int = Field(0, ge=0, description="seed of the tiny init, batches, captions, flips")
    eval_every_epochs: int = Field(
        5, ge=1, description="validate (and checkpoint) every n epochs and after the last"
    )
    keep_checkpoints: int = Field(2, ge=1, description="Ray Train checkpoints kept on disk")
    resume: bool = Field(True, description="continue from the run's latest checkpoint")
    workers: StageResources = Field(
        StageResources(pool_size=2, num_cpus=1.0, num_gpus=0.0, batch_size=24),
        description="the Ray Train workers: pool_size workers (DDP), num_cpus/num_gpus each "
        "(torch uses num_cpus threads); batch_size = videos per worker per step, the "
        "in-batch negatives of the contrastive loss",
    )
    decode: StageResources = Field(
        StageResources(pool_size=16, num_cpus=1.0, num_gpus=0.0, batch_size=64),
        description="the clip-decoding Ray tasks: batch_size = videos per clip-cache file "
        "(one task each); pool_size = tasks running at once",
    )
    image_size: int = Field(64, ge=8, description="tiny only: frame side in pixels")
    # The tiny image tower is a ConvNeXt: a small ViT from scratch, given 860 labelled
    # DANCE-Synth videos, told a placed chair from a placed ball at ROC-AUC 0.65; this
    # ConvNeXt reached 0.99 with the same data and steps (docs/method.md section 5).
    tiny_patch_size: int = Field(4, ge=1, description="tiny only: the ConvNeXt stem's patch side")
    tiny_vision_widths: list[int] = Field(
        [32, 64, 128, 256], min_length=1, description="tiny only: ConvNeXt stage widths"
    )
    tiny_vision_depths: list[int] = Field(
        [1, 1, 2, 1], min_length=1, description="tiny only: ConvNeXt blocks per stage"
    )
    tiny_hidden_size: int = Field(128, ge=8, description="tiny only: text tower token width")
    tiny_heads: int = Field(4, ge=1, description="tiny only: text tower attention heads")
    tiny_intermediate_size: int = Field(256, ge=8, description="tiny only: text tower MLP width")
    tiny_text_layers: int = Field(2, ge=1, description="tiny only: text transformer layers")
    tiny_projection_dim: int = Field(128, ge=8, description="tiny only: shared embedding size")

    @field_validator("corpus", mode="before")
    @classmethod
    def _expand_corpus_preset(cls, value: Any) -> Any:
        """`corpus: {preset: captions, videos_per_class: 64}`: the preset with overrides."""
        if isinstance(value, dict) and value.get("preset", "custom") != "custom":
            return SynthConfig.preset_config(value["preset"], **value)
        return value

    @model_validator(mode="after")
    def _tiny_shapes_fit(self) -> DualTrainingConfig:
        if len(self.tiny_vision_widths) != len(self.tiny_vision_depths):
            raise ValueError(
                f"tiny_vision_widths {self.tiny_vision_widths} and tiny_vision_depths "
                f"{self.tiny_vision_depths} must have one entry per ConvNeXt stage each"
            )
        # The stem divides the side by the patch, each later stage by 2.
        stride = self.tiny_patch_size * 2 ** (len(self.tiny_vision_widths) - 1)
        if self.image_size % stride:
            raise ValueError(
                f"image_size {self.image_size} must be a multiple of {stride} (tiny_patch_size "
                f"{self.tiny_patch_size}, halved by each of the {len(self.tiny_vision_widths) - 1} "
                f"later ConvNeXt stages); e.g. image_size: {stride * 2}"
            )
        check_attention_heads(self.tiny_hidden_size, self.tiny_heads)
        return self
