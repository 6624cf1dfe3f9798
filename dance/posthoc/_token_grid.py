"""VideoMAE token activations as a (B, C, T', H', W') grid, so captum's layer methods apply.

VideoMAE embeds a clip as tubelets with a Conv3d of stride (tubelet, patch, patch) and
flattens its (T', H', W') output in that order: token n sits at t' = n // (H' W'),
h' = (n // W') % H', w' = n % W' (T' = num_frames / tubelet_size, H' = W' = image_size /
patch_size; there is no CLS token). Captum's LayerGradCam averages gradients over every
dimension after the channel one, so it needs the channels second and the grid after them.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import torch

from dance.errors import InputError

_LAYER_NAME = re.compile(r"encoder\.layer\.\d+")


class TokenGrid(torch.nn.Module):
    """(B, N, C) tokens -> (B, C, T', H', W') grid; the module captum's layer methods hook."""

    def __init__(self, frames: int, height: int, width: int) -> None:
        """A grid of `frames` x `height` x `width` tokens (T', H', W')."""
        super().__init__()
        self.shape = (int(frames), int(height), int(width))

    @classmethod
    def for_config(cls, config: Any) -> TokenGrid:
        """The token grid of a VideoMAE config: num_frames / tubelet_size, image / patch."""
        image = _pair(config.image_size)
        patch = _pair(config.patch_size)
        return cls(
            config.num_frames // config.tubelet_size, image[0] // patch[0], image[1] // patch[1]
        )

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, N, C) tokens in VideoMAE's order -> (B, C, T', H', W')."""
        count = self.shape[0] * self.shape[1] * self.shape[2]
        if tokens.ndim != 3 or tokens.shape[1] != count:
            raise ValueError(
                f"expected (B, {count}, C) tokens for a {self.shape} grid, got "
                f"{tuple(tokens.shape)}; the layer is not a VideoMAE encoder block of this model"
            )
        return tokens.transpose(1, 2).unflatten(2, self.shape)

    @staticmethod
    def to_tokens(grid: torch.Tensor) -> torch.Tensor:
        """(B, C, T', H', W') -> (B, N, C), the inverse of forward."""
        return grid.flatten(2).transpose(1, 2)


def _pair(value: Any) -> tuple[int, int]:
    """An int or (h, w) config entry as (h, w)."""
    if isinstance(value, (list, tuple)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def layer_names(encoder: torch.nn.Module) -> list[str]:
    """The encoder blocks of a VideoMAEModel by name ("encoder.layer.0", ...), in depth order."""
    return [name for name, _ in encoder.named_modules() if _LAYER_NAME.fullmatch(name)]


def find_layer(encoder: torch.nn.Module, name: str | None) -> tuple[str, torch.nn.Module]:
    """(name, module) of an encoder block; None picks the last. InputError names the valid ones."""
    names = layer_names(encoder)
    if not names:
        raise ValueError("the model has no encoder.layer.N blocks; it is not a VideoMAEModel")
    chosen = names[-1] if name is None else name
    if chosen not in names:
        raise InputError(
            f"--layer {name!r} is not a layer of this VideoMAE backbone; pass one of: "
            + ", ".join(names)
        )
    return chosen, encoder.get_submodule(chosen)


@contextlib.contextmanager
def grid_hooked(layer: torch.nn.Module, grid: TokenGrid) -> Iterator[TokenGrid]:
    """While open, `layer`'s token output passes through `grid` (values unchanged).

    The block's output is replaced by grid -> tokens, an identity in value, so the module
    captum hooks (`grid`) sees the activations as (B, C, T', H', W') and the gradients of
    everything downstream flow through it; the model itself is not modified.
    """

    def through_grid(module: torch.nn.Module, args: Any, output: Any) -> Any:
        if isinstance(output, tuple):  # older transformers return (hidden_states, ...)
            return (TokenGrid.to_tokens(grid(output[0])), *output[1:])
        return TokenGrid.to_tokens(grid(output))

    handle = layer.register_forward_hook(through_grid)
    try:
        yield grid
    finally:
        handle.remove()
