"""Encoders: the VideoMAE backbone (features x) and video-text dual encoders (pseudo labels).

Models load through ``from_pretrained(name_or_path)``: a hub id on a connected machine, a
local directory written by ``save_pretrained`` everywhere; weights are read from
safetensors only (nothing is unpickled). ``build_tiny_*`` write tiny random models in
that same format for tests and the offline demo.

The frame-sampling functions need only numpy; the model classes load torch and
transformers on first use, so a decode worker that only samples frames never pays for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dance.encoders._sampling import backbone_frame_indices, dual_frame_indices

if TYPE_CHECKING:
    from dance.encoders._dual import DualEncoder, VideoTextEncoder
    from dance.encoders._loading import ModelLoadError
    from dance.encoders._tiny import build_tiny_clip, build_tiny_videomae, build_tiny_xclip
    from dance.encoders._videomae import VideoBackbone

_LAZY = {
    "DualEncoder": "dance.encoders._dual",
    "VideoTextEncoder": "dance.encoders._dual",
    "ModelLoadError": "dance.encoders._loading",
    "VideoBackbone": "dance.encoders._videomae",
    "build_tiny_clip": "dance.encoders._tiny",
    "build_tiny_videomae": "dance.encoders._tiny",
    "build_tiny_xclip": "dance.encoders._tiny",
}


def __getattr__(name: str) -> Any:
    """Import a torch-backed name on first access."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DualEncoder",
    "ModelLoadError",
    "VideoBackbone",
    "VideoTextEncoder",
    "backbone_frame_indices",
    "build_tiny_clip",
    "build_tiny_videomae",
    "build_tiny_xclip",
    "dual_frame_indices",
]
