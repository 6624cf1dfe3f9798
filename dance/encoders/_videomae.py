"""The frozen VideoMAE backbone f: clips -> features x (docs/method.md section 6)."""

from __future__ import annotations

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
    IMAGENET_MEAN,
    IMAGENET_STD,
    PixelSpec,
    check_clips,
    frames_to_pixels,
    pixel_spec_from_config,
)

_BILINEAR = 2  # PIL code; VideoMAE's processor default


class VideoBackbone:
    """A frozen VideoMAE encoder in eval mode giving one feature vector per clip.

    The feature is what VideoMAEForVideoClassification feeds its classifier: the encoder's
    last hidden states (all (T / tubelet) * (S / patch)^2 tokens; VideoMAE has no CLS
    token) averaged over tokens, then passed through the checkpoint's ``fc_norm``
    LayerNorm. Checkpoints without ``fc_norm`` (a bare VideoMAEModel, or
    ``use_mean_pooling=False`` whose encoder already ends in a LayerNorm applied to every
    token) give the plain token mean.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        fc_norm: torch.nn.Module | None,
        spec: PixelSpec,
        name_or_path: str,
        classifier: torch.nn.Module | None = None,
    ) -> None:
        """Wrap a loaded VideoMAEModel (and optional fc_norm); use `from_pretrained` instead."""
        self._model = model.eval().requires_grad_(False)
        self._fc_norm = fc_norm.eval().requires_grad_(False) if fc_norm is not None else None
        self._spec = spec
        # The whole VideoMAEForVideoClassification (sharing `model`) when the checkpoint has a
        # class head, else None: embed() never uses it; post-hoc explanations of the head do.
        self.classifier = (
            classifier.eval().requires_grad_(False) if classifier is not None else None
        )
        config = model.config
        self.name_or_path = name_or_path
        self.feature_dim: int = int(config.hidden_size)
        self.num_frames: int = int(config.num_frames)
        self.image_size: int = int(config.image_size)
        param = next(model.parameters())
        self.device: torch.device = param.device
        self.dtype: torch.dtype = param.dtype
        check_frame_size(name_or_path, spec.output_size, self.image_size)

    @classmethod
    def from_pretrained(
        cls, name_or_path: str, device: str = "cpu", dtype: torch.dtype = torch.float32
    ) -> VideoBackbone:
        """Load a VideoMAE checkpoint (hub id or local directory, safetensors only), frozen."""
        from transformers import AutoConfig, VideoMAEForVideoClassification, VideoMAEModel

        source = resolve_model_source(name_or_path)
        config = load_pretrained(AutoConfig.from_pretrained, source, weights=False)
        if config.model_type != "videomae":
            raise ModelLoadError(
                f"{name_or_path!r} holds a {config.model_type!r} model, not VideoMAE; pass a "
                "VideoMAE checkpoint (e.g. MCG-NJU/videomae-base-finetuned-kinetics)"
            )
        architectures = config.architectures or []
        is_classifier = any(a.endswith("ForVideoClassification") for a in architectures)
        model_class = VideoMAEForVideoClassification if is_classifier else VideoMAEModel
        model, info = load_pretrained(
            model_class.from_pretrained, source, dtype=dtype, output_loading_info=True
        )
        check_complete(model_class.__name__, source, list(info.get("missing_keys", [])))
        model = model.to(device)
        encoder, fc_norm = (model.videomae, model.fc_norm) if is_classifier else (model, None)
        spec = pixel_spec_from_config(
            read_json_file(source, PREPROCESSOR_FILES),
            image_size=int(config.image_size),
            default_mean=IMAGENET_MEAN,
            default_std=IMAGENET_STD,
            default_resample=_BILINEAR,
            origin=f"preprocessor config of {name_or_path!r}",
        )
        return cls(encoder, fc_norm, spec, name_or_path, model if is_classifier else None)

    @property
    def encoder(self) -> torch.nn.Module:
        """The frozen VideoMAEModel; its `encoder.layer.N` blocks give the token activations."""
        return self._model

    @property
    def pixel_spec(self) -> PixelSpec:
        """How `preprocess` turns frames into pixels (resize, crop, rescale, normalise)."""
        return self._spec

    def preprocess(self, clips: np.ndarray) -> torch.Tensor:
        """(B, T, H, W, 3) uint8 RGB -> (B, T, 3, S, S) model input on the model's device.

        Each frame: shortest edge resized to the processor's size (antialiased, PIL-like),
        centre crop to image_size, rescale 1/255, normalise with the saved mean/std
        (ImageNet mean/std when the checkpoint has no preprocessor config).
        """
        clips = check_clips(clips)
        batch, frames = clips.shape[:2]
        if frames != self.num_frames:
            raise ValueError(
                f"clips have {frames} frames but {self.name_or_path!r} takes exactly "
                f"{self.num_frames}; sample them with backbone_frame_indices and a "
                f"BackboneConfig with num_frames={self.num_frames}"
            )
        flat = clips.reshape(batch * frames, *clips.shape[2:])
        pixels = frames_to_pixels(flat, self._spec, self.device, self.dtype)
        return pixels.view(batch, frames, *pixels.shape[1:])

    @torch.inference_mode()
    def embed(self, clips: np.ndarray) -> np.ndarray:
        """(B, T, H, W, 3) uint8 RGB clips -> (B, feature_dim) float32 mean-pooled normalised tokens."""
        return self.features(self.preprocess(clips)).float().cpu().numpy()

    def features(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, S, S) pixels -> (B, feature_dim) features as `embed` computes them; keeps
        the autograd graph when called outside inference mode (post-hoc gradients)."""
        tokens = self._model(pixel_values=pixels).last_hidden_state
        pooled = tokens.mean(dim=1)
        if self._fc_norm is not None:
            pooled = self._fc_norm(pooled)
        return pooled
