"""An image-text model with temporal pooling: the model to train, its tokenizer and frames.

The model is a CLIP checkpoint to fine-tune, or (init "tiny") a ConvNeXt image tower and a
CLIP text tower from scratch in a transformers VisionTextDualEncoderModel, which has
CLIP's feature methods. The video embedding is the mean over a clip's frames of the
projected image embeddings, then L2-normalised: exactly `DualEncoder` kind
``clip_frames`` (dance.encoders), so the exported directory reproduces the training-side
embeddings. The text embedding is the CLIP text tower's, pooled at the first end-of-text
token and projected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from dance.config import BackboneConfig, DualEncoderConfig, DualTrainingConfig
from dance.dual._tokenizer import build_tokenizer
from dance.encoders import (
    CLIP_MEAN,
    CLIP_STD,
    PREPROCESSOR_FILES,
    load_pretrained,
    pooled_features,
    read_json_file,
    resolve_model_source,
    square_crop_processor_config,
)
from dance.finetune import ClipSpec, normalise_clips, square_clip_spec

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

TINY = "tiny"
_BICUBIC = 3  # PIL code; CLIP's image processor default
_TEXT_BATCH = 256  # texts per forward pass: bounds memory for long caption lists
MAX_LOGIT_SCALE = math.log(100.0)  # CLIP clamps the learned temperature at 1/100


class VideoTextModel(torch.nn.Module):
    """An image-text model (CLIPModel or VisionTextDualEncoderModel) seen as a video-text
    model; `forward` is one training step's embeddings."""

    def __init__(self, clip: PreTrainedModel) -> None:
        """Wrap `clip` (its weights are this module's `clip.*` parameters)."""
        super().__init__()
        self.clip = clip

    def embed_videos(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, S, S) pixels -> (B, D) L2-normalised mean of the frames' image embeddings."""
        batch, frames = pixels.shape[:2]
        per_frame = pooled_features(self.clip.get_image_features(pixel_values=pixels.flatten(0, 1)))
        return F.normalize(per_frame.float().view(batch, frames, -1).mean(dim=1), dim=-1)

    def embed_texts(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token ids -> (N, D) L2-normalised text embeddings."""
        features = self.clip.get_text_features(input_ids=input_ids, attention_mask=attention_mask)
        return F.normalize(pooled_features(features).float(), dim=-1)

    def forward(
        self, pixels: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(video embeddings, text embeddings, logit scale) for one batch of pairs."""
        scale = self.clip.logit_scale.exp()
        return self.embed_videos(pixels), self.embed_texts(input_ids, attention_mask), scale


def contrastive_loss(
    videos: torch.Tensor,
    texts: torch.Tensor,
    scale: torch.Tensor,
    positives: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """CLIP's symmetric InfoNCE over a batch of matching rows; (loss, video->text logits).

    `positives` (N, N) bool marks further matching pairs (row i's text equals row j's):
    their targets share the probability mass instead of counting as negatives. None: only
    the diagonal, CLIP's loss exactly.
    """
    logits = scale * videos @ texts.T
    if positives is None:
        positives = torch.eye(len(videos), dtype=torch.bool, device=videos.device)
    to_texts = positives.float() / positives.sum(dim=1, keepdim=True)
    to_videos = positives.T.float() / positives.T.sum(dim=1, keepdim=True)
    loss = (F.cross_entropy(logits, to_texts) + F.cross_entropy(logits.T, to_videos)) / 2
    return loss, logits


def clamp_logit_scale(model: VideoTextModel) -> None:
    """Keep the learned temperature at most 100, as CLIP does after every step."""
    with torch.no_grad():
        model.clip.logit_scale.clamp_(max=MAX_LOGIT_SCALE)


def load_text_tokenizer(
    config: DualTrainingConfig, words: Sequence[str]
) -> PreTrainedTokenizerBase:
    """init "tiny": a word-level tokenizer over `words`; else the init checkpoint's tokenizer."""
    if config.init == TINY:
        return build_tokenizer(words, config.max_text_length)
    from transformers import AutoTokenizer

    tokenizer = load_pretrained(
        AutoTokenizer.from_pretrained, resolve_model_source(config.init), weights=False
    )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token  # CLIP pads with its end-of-text token
    return tokenizer


def build_clip(config: DualTrainingConfig, tokenizer: PreTrainedTokenizerBase) -> PreTrainedModel:
    """The image-text model to train: init "tiny" = a random ConvNeXt image tower and CLIP text
    tower (a VisionTextDualEncoderModel), seeded by config.seed; else the CLIP checkpoint."""
    from transformers import (
        CLIPModel,
        CLIPTextConfig,
        ConvNextConfig,
        VisionTextDualEncoderConfig,
        VisionTextDualEncoderModel,
    )

    if config.init != TINY:
        return load_pretrained(CLIPModel.from_pretrained, resolve_model_source(config.init))
    if tokenizer.eos_token_id == 2:
        raise ValueError("the tokenizer's eos id is 2, which CLIP would pool at argmax(ids)")
    text = CLIPTextConfig(
        hidden_size=config.tiny_hidden_size,
        intermediate_size=config.tiny_intermediate_size,
        num_attention_heads=config.tiny_heads,
        num_hidden_layers=config.tiny_text_layers,
        vocab_size=len(tokenizer),
        max_position_embeddings=config.max_text_length,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,  # pooling takes the first eos position
    )
    vision = ConvNextConfig(
        num_channels=3,
        patch_size=config.tiny_patch_size,
        num_stages=len(config.tiny_vision_widths),
        hidden_sizes=list(config.tiny_vision_widths),
        depths=list(config.tiny_vision_depths),
        image_size=config.image_size,
        # VisionTextDualEncoderModel sizes its projection by the image tower's hidden_size,
        # which a ConvNeXt names per stage: its pooled output is the last stage's width.
        hidden_size=config.tiny_vision_widths[-1],
    )
    model_config = VisionTextDualEncoderConfig.from_vision_text_configs(
        vision,
        text,
        projection_dim=config.tiny_projection_dim,
        logit_scale_init_value=math.log(1 / config.temperature),
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return VisionTextDualEncoderModel(model_config)


def processor_config_for(config: DualTrainingConfig) -> dict:
    """The image processor config the trained model ships (the init's own, if it has one)."""
    if config.init == TINY:
        return _clip_processor_config(config.image_size)
    source = resolve_model_source(config.init)
    saved = read_json_file(source, PREPROCESSOR_FILES)
    return saved if saved is not None else _clip_processor_config(_init_image_size(config))


def _clip_processor_config(image_size: int) -> dict:
    """CLIPImageProcessor settings: shortest edge to image_size, centre crop, CLIP's statistics."""
    return square_crop_processor_config(
        "CLIPImageProcessor", image_size, CLIP_MEAN, CLIP_STD, _BICUBIC
    )


def _init_image_size(config: DualTrainingConfig) -> int:
    """The vision tower's input side of the init checkpoint (image_size for "tiny")."""
    if config.init == TINY:
        return config.image_size
    from transformers import AutoConfig

    source = resolve_model_source(config.init)
    model_config = load_pretrained(AutoConfig.from_pretrained, source, weights=False)
    return int(model_config.vision_config.image_size)


def dual_clip_spec(
    config: DualTrainingConfig, backbone: BackboneConfig, dual: DualEncoderConfig
) -> ClipSpec:
    """Which frames the dual encoder takes (dual frames of the backbone clip) and their pixels."""
    return square_clip_spec(
        processor_config_for(config),
        _init_image_size(config),
        backbone,
        (CLIP_MEAN, CLIP_STD, _BICUBIC),
        f"preprocessor config of dual_training.init {config.init!r}",
        dual=dual,
    )


@torch.inference_mode()
def embed_clips(
    model: VideoTextModel, clips: torch.Tensor, spec: ClipSpec, batch_size: int
) -> torch.Tensor:
    """(N, T, S, S, 3) uint8 cached clips -> (N, D) video embeddings, as the export computes."""
    model.eval()
    device = next(model.parameters()).device
    rows = [torch.empty((0, model.clip.config.projection_dim), device=device)]
    for start in range(0, len(clips), batch_size):
        pixels = normalise_clips(clips[start : start + batch_size], spec, device)
        rows.append(model.embed_videos(pixels))
    return torch.cat(rows)


@torch.inference_mode()
def embed_captions(
    model: VideoTextModel, tokenizer: PreTrainedTokenizerBase, texts: Sequence[str]
) -> torch.Tensor:
    """Texts -> (N, D) text embeddings, tokenized as the export's DualEncoder tokenizes them."""
    model.eval()
    device = next(model.parameters()).device
    positions = model.clip.config.text_config.max_position_embeddings
    rows = [torch.empty((0, model.clip.config.projection_dim), device=device)]
    for start in range(0, len(texts), _TEXT_BATCH):
        tokens = tokenize(tokenizer, texts[start : start + _TEXT_BATCH], positions)
        ids, mask = tokens["input_ids"].to(device), tokens["attention_mask"].to(device)
        rows.append(model.embed_texts(ids, mask))
    return torch.cat(rows)


def tokenize(
    tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_positions: int
) -> dict[str, torch.Tensor]:
    """Padded, truncated token ids and mask (at most the text tower's positions)."""
    limit = min(int(tokenizer.model_max_length or max_positions), max_positions)
    return tokenizer(
        list(texts), padding=True, truncation=True, max_length=limit, return_tensors="pt"
    )
