"""The torch device a model-backed pose estimator runs on."""

from __future__ import annotations

import torch


def resolve_device(device: str) -> torch.device:
    """A torch device, or a clear error when CUDA is asked for but absent."""
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was requested but CUDA is not available; use 'cpu'")
    return resolved
