"""What Video-TCAV needs from a layer: its activations on clips, and class-logit gradients there.

Both go through captum's layer attribution on the block's (B, C, T', H', W') token grid
(`grid_hooked`): `LayerActivation` for activations, and `LayerGradientXActivation` with
`multiply_by_inputs=False` for the plain gradient of a class logit with respect to them.
Per clip they are returned as one row of features:

- pooling "none": every token's channels flattened (C * T' * H' * W' features), as the
  reference TCAV implementations flatten a layer;
- pooling "mean": the channels averaged over tokens (C features). The matching gradient is
  the sum over tokens: moving every token by v changes the logit by sum_n g_n . v.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from captum.attr import LayerActivation, LayerGradientXActivation

from dance.errors import InputError
from dance.posthoc._gradcam import VideoCam
from dance.posthoc._token_grid import find_layer, grid_hooked

POOLINGS = ("none", "mean")


def _check(clips: Sequence[np.ndarray], pooling: str) -> None:
    """InputError for an unknown pooling or an empty clip list."""
    if pooling not in POOLINGS:
        raise InputError(f"pooling {pooling!r} is unknown; pass one of: {', '.join(POOLINGS)}")
    if len(clips) == 0:
        raise InputError("no clips given; pass at least one (T, H, W, 3) uint8 clip")


def _rows(grid_tensor: torch.Tensor, pooling: str, reduce: str) -> torch.Tensor:
    """(B, C, T', H', W') -> (B, F) float32: flattened, or reduced over the tokens."""
    if pooling == "none":
        return grid_tensor.flatten(1).float()
    tokens = grid_tensor.flatten(2)
    return (tokens.mean(2) if reduce == "mean" else tokens.sum(2)).float()


def layer_activations(
    cam: VideoCam, clips: Sequence[np.ndarray], layer: str, pooling: str = "none",
    batch_size: int = 8,
) -> torch.Tensor:  # fmt: skip
    """(N, F) activations of one encoder block for N clips (T, H, W, 3) uint8."""
    _check(clips, pooling)
    _, module = find_layer(cam.backbone.encoder, layer)
    rows = []
    with grid_hooked(module, cam.grid) as grid, torch.no_grad():
        method = LayerActivation(cam.scores, grid)
        for start in range(0, len(clips), batch_size):
            pixels = cam.backbone.preprocess(np.stack(clips[start : start + batch_size]))
            rows.append(_rows(method.attribute(pixels).detach().cpu(), pooling, "mean"))
    return torch.cat(rows)


def layer_gradients(
    cam: VideoCam, clips: Sequence[np.ndarray], layer: str, class_index: int,
    pooling: str = "none", batch_size: int = 8,
) -> torch.Tensor:  # fmt: skip
    """(N, F) gradients of one class logit with respect to a block's activations, per clip."""
    _check(clips, pooling)
    if not 0 <= class_index < len(cam.class_names):
        raise InputError(
            f"class index {class_index} is not a class of this model (it has "
            f"{len(cam.class_names)}); pass one of its classes"
        )
    _, module = find_layer(cam.backbone.encoder, layer)
    rows = []
    with grid_hooked(module, cam.grid) as grid, torch.enable_grad():
        method = LayerGradientXActivation(cam.scores, grid, multiply_by_inputs=False)
        for start in range(0, len(clips), batch_size):
            pixels = cam.backbone.preprocess(np.stack(clips[start : start + batch_size]))
            gradients = method.attribute(pixels, target=class_index)
            rows.append(_rows(gradients.detach().cpu(), pooling, "sum"))
    return torch.cat(rows)
