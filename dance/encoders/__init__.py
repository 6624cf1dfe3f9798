"""Encoders: the VideoMAE backbone (features x) and video-text dual encoders (pseudo labels).

Models load through ``from_pretrained(name_or_path)``: a hub id on a connected machine, a
local directory written by ``save_pretrained`` everywhere; weights are read from
safetensors only (nothing is unpickled). ``build_tiny_*`` write tiny random models in
that same format for tests and the offline demo.

The frame-sampling and model-resolving functions need no torch; the model classes and the
pixel preprocessing load torch and transformers on first use, so a decode worker that only
samples frames never pays for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dance._lazy import lazy_exports
from dance.encoders._loading import (
    PREPROCESSOR_FILES,
    ModelLoadError,
    ModelSource,
    is_model_directory,
    load_pretrained,
    local_model_path,
    read_json_file,
    resolve_model_source,
)
from dance.encoders._sampling import backbone_frame_indices, dual_frame_indices

if TYPE_CHECKING:
    from dance.encoders._dual import DualEncoder, VideoTextEncoder, pooled_features
    from dance.encoders._preprocess import (
        CLIP_MEAN,
        CLIP_STD,
        IMAGENET_MEAN,
        IMAGENET_STD,
        PixelSpec,
        frames_to_pixels,
        pixel_spec_from_config,
        square_crop_processor_config,
        view_box,
    )
    from dance.encoders._tiny import build_tiny_clip, build_tiny_videomae, build_tiny_xclip
    from dance.encoders._videomae import VideoBackbone

# Torch-backed names, imported on first access.
__getattr__ = lazy_exports(
    __name__,
    {
        "dance.encoders._dual": ("DualEncoder", "VideoTextEncoder", "pooled_features"),
        "dance.encoders._preprocess": (
            "CLIP_MEAN",
            "CLIP_STD",
            "IMAGENET_MEAN",
            "IMAGENET_STD",
            "PixelSpec",
            "frames_to_pixels",
            "pixel_spec_from_config",
            "square_crop_processor_config",
            "view_box",
        ),
        "dance.encoders._tiny": ("build_tiny_clip", "build_tiny_videomae", "build_tiny_xclip"),
        "dance.encoders._videomae": ("VideoBackbone",),
    },
)

__all__ = [
    "CLIP_MEAN",
    "CLIP_STD",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "PREPROCESSOR_FILES",
    "DualEncoder",
    "ModelLoadError",
    "ModelSource",
    "PixelSpec",
    "VideoBackbone",
    "VideoTextEncoder",
    "backbone_frame_indices",
    "build_tiny_clip",
    "build_tiny_videomae",
    "build_tiny_xclip",
    "dual_frame_indices",
    "frames_to_pixels",
    "is_model_directory",
    "load_pretrained",
    "local_model_path",
    "pixel_spec_from_config",
    "pooled_features",
    "read_json_file",
    "resolve_model_source",
    "square_crop_processor_config",
    "view_box",
]
