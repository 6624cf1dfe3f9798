"""Encoders: the VideoMAE backbone (features x) and video-text dual encoders (pseudo labels).

Models load through ``from_pretrained(name_or_path)``: a hub id on a connected machine, a
local directory written by ``save_pretrained`` everywhere; weights are read from
safetensors only (nothing is unpickled). ``build_tiny_*`` write tiny random models in
that same format for tests and the offline demo.
"""

from dance.encoders._dual import DualEncoder, VideoTextEncoder
from dance.encoders._loading import ModelLoadError
from dance.encoders._sampling import backbone_frame_indices, dual_frame_indices
from dance.encoders._tiny import build_tiny_clip, build_tiny_videomae, build_tiny_xclip
from dance.encoders._videomae import VideoBackbone

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
