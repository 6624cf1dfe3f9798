"""A plain ViT backbone registered into mmpose's MODELS, and a tiny ViTPose-style config.

Stock mmpose ViTPose configs use `mmpretrain.VisionTransformer`, and mmpretrain drags in
transformers 4.x and torchvision (docs/environment.md, 'mmpose'). `DancePlainViT` is the
same network (patch embedding, learned position embedding, pre-norm encoder layers,
final LayerNorm, patch tokens reshaped to a feature map) with the same parameter names
as mmpretrain's, so a ViTPose config needs only `type='DancePlainViT'` and an `arch`
dict in place of the mmpretrain backbone.

Importing this module registers the backbone; it needs mmpose and mmengine.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from torch import nn

from dance.pose.skeleton import NUM_COCO17_JOINTS

BACKBONE_TYPE = "DancePlainViT"
CONFIG_FILE = "mmpose_config.json"
CHECKPOINT_FILE = "model.safetensors"
_ARCH_KEYS = ("embed_dims", "num_layers", "num_heads", "feedforward_channels")
# ViTPose's input, (width, height), and its 4x-downsampled heatmap.
_INPUT_SIZE = (192, 256)
_HEATMAP_SIZE = (48, 64)
# The ImageNet statistics of mmpose's ViTPose configs, on 0..255 pixels.
_MEAN = [123.675, 116.28, 103.53]
_STD = [58.395, 57.12, 57.375]


def _pair(value: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    """(a, a) for an int, else the two given values."""
    if isinstance(value, int):
        return value, value
    first, second = value
    return int(first), int(second)


class _PatchEmbed(nn.Module):
    """Non-overlapping patches to tokens: one strided convolution (`projection`)."""

    def __init__(self, in_channels: int, embed_dims: int, patch_size: int, padding: int) -> None:
        super().__init__()
        self.projection = nn.Conv2d(
            in_channels, embed_dims, kernel_size=patch_size, stride=patch_size, padding=padding
        )

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """(B, C, H, W) -> (B, N, D) tokens and the (rows, cols) patch grid."""
        features = self.projection(images)
        grid = (int(features.shape[2]), int(features.shape[3]))
        return features.flatten(2).transpose(1, 2), grid


class _Attention(nn.Module):
    """Multi-head self-attention with one fused `qkv` projection and an output `proj`."""

    def __init__(self, embed_dims: int, num_heads: int, qkv_bias: bool) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.proj = nn.Linear(embed_dims, embed_dims)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, N, D) -> (B, N, D)."""
        batch, length, dims = tokens.shape
        qkv = self.qkv(tokens).reshape(batch, length, 3, self.num_heads, dims // self.num_heads)
        query, key, value = qkv.permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(query, key, value)
        return self.proj(attended.transpose(1, 2).reshape(batch, length, dims))


class _FeedForward(nn.Module):
    """Linear -> GELU -> Linear, laid out as mmcv's FFN (`layers.0.0`, `layers.1`)."""

    def __init__(self, embed_dims: int, hidden: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Sequential(nn.Linear(embed_dims, hidden), nn.GELU()), nn.Linear(hidden, embed_dims)
        )

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, N, D) -> (B, N, D)."""
        return self.layers(tokens)


class _EncoderLayer(nn.Module):
    """A pre-norm transformer layer: x + attn(ln1(x)), then x + ffn(ln2(x))."""

    def __init__(
        self, embed_dims: int, num_heads: int, hidden: int, qkv_bias: bool, eps: float
    ) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(embed_dims, eps=eps)
        self.attn = _Attention(embed_dims, num_heads, qkv_bias)
        self.ln2 = nn.LayerNorm(embed_dims, eps=eps)
        self.ffn = _FeedForward(embed_dims, hidden)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, N, D) -> (B, N, D)."""
        tokens = tokens + self.attn(self.ln1(tokens))
        return tokens + self.ffn(self.ln2(tokens))


@MODELS.register_module(name=BACKBONE_TYPE)
class DancePlainViT(BaseModule):
    """Plain ViT returning the last layer's patch tokens as a (B, D, H/p, W/p) feature map.

    arch: {embed_dims, num_layers, num_heads, feedforward_channels}; img_size (H, W) sets
    the position-embedding grid, so inputs must have that size (ViTPose: 256 x 192).
    """

    def __init__(
        self,
        arch: Mapping[str, int],
        img_size: int | tuple[int, int] = (256, 192),
        patch_size: int = 16,
        in_channels: int = 3,
        qkv_bias: bool = True,
        patch_cfg: Mapping[str, Any] | None = None,
        norm_eps: float = 1e-6,
        init_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        """Build the layers; parameter names follow mmpretrain's VisionTransformer."""
        super().__init__(init_cfg=dict(init_cfg) if init_cfg is not None else None)
        missing = [key for key in _ARCH_KEYS if key not in arch]
        if missing:
            raise ValueError(f"{BACKBONE_TYPE} arch is missing {missing}; give all of {_ARCH_KEYS}")
        dims, heads = int(arch["embed_dims"]), int(arch["num_heads"])
        if dims % heads:
            raise ValueError(
                f"{BACKBONE_TYPE}: embed_dims {dims} must be divisible by num_heads {heads}"
            )
        unknown = set(patch_cfg or {}) - {"padding"}
        if unknown:
            raise ValueError(
                f"{BACKBONE_TYPE} patch_cfg supports only 'padding', got {sorted(unknown)}"
            )
        padding = int((patch_cfg or {}).get("padding", 0))
        height, width = _pair(img_size)
        self.patch_embed = _PatchEmbed(in_channels, dims, patch_size, padding)
        self.grid = (
            (height + 2 * padding - patch_size) // patch_size + 1,
            (width + 2 * padding - patch_size) // patch_size + 1,
        )
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid[0] * self.grid[1], dims))
        self.layers = nn.ModuleList(
            _EncoderLayer(dims, heads, int(arch["feedforward_channels"]), qkv_bias, norm_eps)
            for _ in range(int(arch["num_layers"]))
        )
        self.ln1 = nn.LayerNorm(dims, eps=norm_eps)

    def init_weights(self) -> None:
        """Truncated-normal position embedding (as mmpretrain), then any init_cfg."""
        super().init_weights()
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor]:
        """(B, 3, H, W) -> a one-element tuple holding the (B, D, rows, cols) feature map."""
        tokens, grid = self.patch_embed(images)
        if grid != self.grid:
            raise ValueError(
                f"{BACKBONE_TYPE} was built for a {self.grid} patch grid (img_size), got {grid} "
                f"from input {tuple(images.shape[2:])}; resize inputs to the configured img_size"
            )
        tokens = tokens + self.pos_embed
        for layer in self.layers:
            tokens = layer(tokens)
        tokens = self.ln1(tokens)
        feature_map = tokens.transpose(1, 2).reshape(tokens.shape[0], -1, *grid)
        return (feature_map,)


def tiny_vitpose_config(embed_dims: int = 32, num_layers: int = 2) -> dict[str, Any]:
    """A TINY ViTPose-style mmpose config: TopdownPoseEstimator + DancePlainViT + HeatmapHead.

    COCO-17, 192x256 input, UDP heatmap codec, flip test: the layout of mmpose's
    ViTPose-B config with a two-layer, 32-wide backbone and 32-channel deconvolutions.
    """
    codec = {
        "type": "UDPHeatmap",
        "input_size": list(_INPUT_SIZE),
        "heatmap_size": list(_HEATMAP_SIZE),
        "sigma": 2,
    }
    test_pipeline = [
        {"type": "LoadImage"},
        {"type": "GetBBoxCenterScale"},
        {"type": "TopdownAffine", "input_size": codec["input_size"], "use_udp": True},
        {"type": "PackPoseInputs"},
    ]
    return {
        "default_scope": "mmpose",
        "custom_imports": {"imports": [__name__], "allow_failed_imports": False},
        "codec": codec,
        "model": {
            "type": "TopdownPoseEstimator",
            "data_preprocessor": {
                "type": "PoseDataPreprocessor",
                "mean": _MEAN,
                "std": _STD,
                "bgr_to_rgb": True,
            },
            "backbone": {
                "type": BACKBONE_TYPE,
                "arch": {
                    "embed_dims": embed_dims,
                    "num_layers": num_layers,
                    "num_heads": 2,
                    "feedforward_channels": embed_dims * 2,
                },
                "img_size": [_INPUT_SIZE[1], _INPUT_SIZE[0]],
                "patch_size": 16,
                "qkv_bias": True,
                "patch_cfg": {"padding": 2},
            },
            "head": {
                "type": "HeatmapHead",
                "in_channels": embed_dims,
                "out_channels": NUM_COCO17_JOINTS,
                "deconv_out_channels": [32, 32],
                "deconv_kernel_sizes": [4, 4],
                "loss": {"type": "KeypointMSELoss", "use_target_weight": True},
                "decoder": codec,
            },
            "test_cfg": {"flip_test": True, "flip_mode": "heatmap", "shift_heatmap": False},
        },
        "test_pipeline": test_pipeline,
        "test_dataloader": {
            "batch_size": 32,
            "dataset": {
                "type": "CocoDataset",
                "data_mode": "topdown",
                "test_mode": True,
                "pipeline": test_pipeline,
            },
        },
    }


def build_tiny_vitpose(out_dir: str | Path, seed: int = 0) -> Path:
    """Write a tiny random ViTPose-style mmpose model to `out_dir`; return that folder.

    The folder holds `mmpose_config.json` and `model.safetensors` (a plain state dict),
    the layout `MMPoseEstimator.from_folder` loads. Same seed, same weights.
    """
    from mmengine.registry import init_default_scope
    from mmpose.models.builder import build_pose_estimator
    from safetensors.torch import save_file

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    config = tiny_vitpose_config()
    init_default_scope("mmpose")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_pose_estimator(config["model"])
        model.init_weights()
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(folder / CHECKPOINT_FILE))
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    return folder
