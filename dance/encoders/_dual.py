"""Video-text dual encoders for pseudo labels (docs/method.md section 5): X-CLIP, CLIP on frames."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import torch

from dance.encoders._loading import (
    PREPROCESSOR_FILES,
    ModelLoadError,
    check_complete,
    check_frame_size,
    load_pretrained,
    read_json_file,
    resolve_model_source,
)
from dance.encoders._preprocess import (
    CLIP_MEAN,
    CLIP_STD,
    PixelSpec,
    check_clips,
    frames_to_pixels,
    pixel_spec_from_config,
)

DualKind = Literal["xclip", "clip_frames"]
# The transformers model types each kind loads. "vision-text-dual-encoder" is any vision
# model and text model with projections (VisionTextDualEncoderModel), e.g. the ConvNeXt +
# CLIP-text model `dance train-dual-encoder` trains; it has CLIPModel's feature methods.
_MODEL_TYPES: dict[str, tuple[str, ...]] = {
    "xclip": ("xclip",),
    "clip_frames": ("clip", "vision-text-dual-encoder"),
}
_BICUBIC = 3  # PIL code; CLIP's processor default
_TEXT_BATCH = 256  # texts per forward pass: bounds memory for long concept lists


@runtime_checkable
class VideoTextEncoder(Protocol):
    """What the pseudo-label stage needs from a video-text model; the plug-in point.

    To use another model (ViCLIP, InternVideo, ...), write a class with these three
    members — ``embed_dim``, ``embed_videos`` taking (B, T, H, W, 3) uint8 RGB clips of
    the dual-encoder frames (see ``dual_frame_indices``) and ``embed_texts`` taking
    strings, both returning L2-normalised float32 rows — plus a
    ``from_pretrained(name_or_path, device=...)`` classmethod. The pseudo label of a
    video and a concept is then the dot product of the two rows (Eq. 3). Wiring a class
    path ("package.module:ClassName") into the dual-encoder config is the intended
    selection mechanism; `isinstance(obj, VideoTextEncoder)` checks the members.
    """

    embed_dim: int

    def embed_videos(self, clips: np.ndarray) -> np.ndarray:
        """(B, T, H, W, 3) uint8 RGB -> (B, embed_dim) L2-normalised float32."""
        ...

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """N strings -> (N, embed_dim) L2-normalised float32."""
        ...


def pooled_features(output: object) -> torch.Tensor:
    """The embedding of a get_*_features call: a Tensor in transformers 4.x, `.pooler_output` in 5.x."""
    if isinstance(output, torch.Tensor):
        return output
    return output.pooler_output  # type: ignore[attr-defined]


def _normalised(rows: torch.Tensor) -> np.ndarray:
    """L2-normalise rows in float32 and return them as a numpy array."""
    rows = rows.float()
    return torch.nn.functional.normalize(rows, dim=-1).cpu().numpy()


class DualEncoder:
    """A frozen video tower and text tower sharing one embedding space.

    - ``xclip``: XCLIPModel.get_video_features (frame CLS tokens, projection, then the
      multi-frame integration transformer) and get_text_features. X-CLIP's video-specific
      prompt generator is NOT applied to the text side: it would make a text embedding
      depend on the video, and the pseudo-label stage embeds each concept once.
    - ``clip_frames``: get_image_features of a CLIPModel (or a VisionTextDualEncoderModel)
      on every frame, averaged over the frames (raw projected features), then
      L2-normalised; get_text_features for text.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: object,
        kind: DualKind,
        spec: PixelSpec,
        name_or_path: str,
    ) -> None:
        """Wrap a loaded model and tokenizer; use `from_pretrained` instead."""
        self._model = model.eval().requires_grad_(False)
        self._tokenizer = tokenizer
        self._spec = spec
        self.kind: DualKind = kind
        self.name_or_path = name_or_path
        config = model.config
        self.embed_dim: int = int(config.projection_dim)
        self.image_size: int = int(config.vision_config.image_size)
        # X-CLIP's frame-integration transformer has one position per frame: T is fixed.
        self.num_frames: int | None = (
            int(config.vision_config.num_frames) if kind == "xclip" else None
        )
        model_max = getattr(tokenizer, "model_max_length", None) or 10**9
        self.max_text_length: int = min(
            int(model_max), int(config.text_config.max_position_embeddings)
        )
        self.device: torch.device = next(model.parameters()).device
        check_frame_size(name_or_path, spec.output_size, self.image_size)

    @classmethod
    def from_pretrained(
        cls, name_or_path: str, kind: DualKind = "xclip", device: str = "cpu"
    ) -> DualEncoder:
        """Load model + tokenizer (hub id or local directory, safetensors only), frozen."""
        from transformers import (
            AutoConfig,
            AutoTokenizer,
            CLIPModel,
            VisionTextDualEncoderModel,
            XCLIPModel,
        )

        if kind not in _MODEL_TYPES:
            raise ValueError(f"kind must be one of {sorted(_MODEL_TYPES)}, got {kind!r}")
        source = resolve_model_source(name_or_path)
        config = load_pretrained(AutoConfig.from_pretrained, source, weights=False)
        if config.model_type not in _MODEL_TYPES[kind]:
            fitting = [k for k, types in _MODEL_TYPES.items() if config.model_type in types]
            hint = f"use kind={fitting[0]!r}" if fitting else "pass an X-CLIP or CLIP checkpoint"
            raise ModelLoadError(
                f"{name_or_path!r} holds a {config.model_type!r} model but kind={kind!r} needs "
                f"one of {list(_MODEL_TYPES[kind])}; {hint}"
            )
        model_class = {
            "xclip": XCLIPModel,
            "clip": CLIPModel,
            "vision-text-dual-encoder": VisionTextDualEncoderModel,
        }[config.model_type]
        model, info = load_pretrained(model_class.from_pretrained, source, output_loading_info=True)
        check_complete(model_class.__name__, source, list(info.get("missing_keys", [])))
        tokenizer = load_pretrained(AutoTokenizer.from_pretrained, source, weights=False)
        if tokenizer.pad_token is None:
            if tokenizer.eos_token is None:
                raise ModelLoadError(
                    f"the tokenizer of {name_or_path!r} has neither a pad nor an eos token; "
                    "save one with pad_token set"
                )
            tokenizer.pad_token = tokenizer.eos_token  # CLIP pads with its end-of-text token
        spec = pixel_spec_from_config(
            read_json_file(source, PREPROCESSOR_FILES),
            image_size=int(config.vision_config.image_size),
            default_mean=CLIP_MEAN,
            default_std=CLIP_STD,
            default_resample=_BICUBIC,
            origin=f"preprocessor config of {name_or_path!r}",
        )
        return cls(model.to(device), tokenizer, kind, spec, name_or_path)

    @torch.inference_mode()
    def embed_videos(self, clips: np.ndarray) -> np.ndarray:
        """(B, T, H, W, 3) uint8 RGB clips -> (B, embed_dim) L2-normalised float32."""
        clips = check_clips(clips)
        batch, frames = clips.shape[:2]
        if self.num_frames is not None and frames != self.num_frames:
            raise ValueError(
                f"clips have {frames} frames but the X-CLIP model {self.name_or_path!r} takes "
                f"exactly {self.num_frames}; sample them with dual_frame_indices and a "
                f"DualEncoderConfig with num_frames={self.num_frames}"
            )
        flat = clips.reshape(batch * frames, *clips.shape[2:])
        pixels = frames_to_pixels(
            flat, self._spec, self.device, next(self._model.parameters()).dtype
        )
        if self.kind == "xclip":
            video = pooled_features(
                self._model.get_video_features(
                    pixel_values=pixels.view(batch, frames, *pixels.shape[1:])
                )
            )
        else:
            per_frame = pooled_features(self._model.get_image_features(pixel_values=pixels))
            video = per_frame.float().view(batch, frames, -1).mean(dim=1)
        return _normalised(video)

    @torch.inference_mode()
    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """N strings -> (N, embed_dim) L2-normalised float32 (N = 0 gives an empty (0, D) array)."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError(
                "texts must be a sequence of strings (wrap a single text in a list), got "
                f"{type(texts).__name__}"
            )
        texts = list(texts)
        rows = [np.empty((0, self.embed_dim), dtype=np.float32)]
        for start in range(0, len(texts), _TEXT_BATCH):
            tokens = self._tokenizer(
                texts[start : start + _TEXT_BATCH],
                padding=True,
                truncation=True,
                max_length=self.max_text_length,
                return_tensors="pt",
            )
            features = self._model.get_text_features(
                input_ids=tokens["input_ids"].to(self.device),
                attention_mask=tokens["attention_mask"].to(self.device),
            )
            rows.append(_normalised(pooled_features(features)))
        return np.concatenate(rows, axis=0)
