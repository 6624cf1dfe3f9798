"""Tiny random RT-DETR and ViTPose checkpoints for tests and benchmarks (no download).

Both are saved with save_pretrained (safetensors) plus a preprocessor_config.json, so
they load through the same from_pretrained path as real hub checkpoints.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from dance.pose.skeleton import NUM_COCO17_JOINTS

_IMAGENET_MEAN = [0.485, 0.456, 0.406]
_IMAGENET_STD = [0.229, 0.224, 0.225]


def _write_preprocessor(path: Path, settings: dict[str, object]) -> None:
    """Write preprocessor_config.json beside the weights."""
    (path / "preprocessor_config.json").write_text(json.dumps(settings, indent=2, sort_keys=True))


def build_tiny_rtdetr(
    path: str | Path,
    *,
    image_size: int = 64,
    d_model: int = 16,
    num_queries: int = 10,
    seed: int = 0,
) -> str:
    """Save a random RT-DETR person detector (COCO-style "person" = 0) to `path`; return it."""
    from transformers import RTDetrConfig, RTDetrForObjectDetection, RTDetrResNetConfig

    if image_size < 32 or image_size % 32:
        raise ValueError(
            f"image_size must be a positive multiple of 32 (stride 32), got {image_size}"
        )
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    backbone = RTDetrResNetConfig(
        embedding_size=8,
        hidden_sizes=[8, 16, 16, 32],
        depths=[1, 1, 1, 1],
        layer_type="basic",
        out_features=["stage2", "stage3", "stage4"],
    )
    # transformers 5.x: decoder_in_channels must equal [d_model] * 3, and the ResNet
    # backbone must not try to fetch pretrained weights (docs/environment.md).
    config = RTDetrConfig(
        backbone_config=backbone,
        use_pretrained_backbone=False,
        encoder_hidden_dim=d_model,
        encoder_in_channels=[16, 16, 32],
        encoder_ffn_dim=2 * d_model,
        encoder_attention_heads=2,
        d_model=d_model,
        decoder_in_channels=[d_model] * 3,
        decoder_ffn_dim=2 * d_model,
        decoder_layers=1,
        decoder_attention_heads=2,
        num_queries=num_queries,
        num_denoising=0,
        id2label={0: "person", 1: "bicycle"},
        label2id={"person": 0, "bicycle": 1},
    )
    torch.manual_seed(seed)
    RTDetrForObjectDetection(config).eval().save_pretrained(out, safe_serialization=True)
    _write_preprocessor(
        out,
        {
            "image_processor_type": "RTDetrImageProcessor",
            "size": {"height": image_size, "width": image_size},
            "do_resize": True,
            "do_rescale": True,
            "rescale_factor": 1 / 255,
            "do_normalize": False,
            "image_mean": _IMAGENET_MEAN,
            "image_std": _IMAGENET_STD,
        },
    )
    return str(out)


def build_tiny_vitpose(
    path: str | Path,
    *,
    hidden_size: int = 32,
    num_layers: int = 1,
    num_heads: int = 2,
    image_size: tuple[int, int] = (256, 192),
    seed: int = 0,
) -> str:
    """Save a random COCO-17 ViTPose (simple decoder), input (height, width), to `path`."""
    from transformers import VitPoseBackboneConfig, VitPoseConfig, VitPoseForPoseEstimation

    if hidden_size % num_heads:
        raise ValueError(f"hidden_size {hidden_size} must be divisible by num_heads {num_heads}")
    height, width = image_size
    if height % 16 or width % 16:
        raise ValueError(
            f"image_size (height, width) must be multiples of the 16-px patch, got {image_size}"
        )
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    backbone = VitPoseBackboneConfig(
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        mlp_ratio=4,
        image_size=[height, width],
        patch_size=[16, 16],
        out_indices=[num_layers],
    )
    config = VitPoseConfig(
        backbone_config=backbone,
        use_simple_decoder=True,
        num_labels=NUM_COCO17_JOINTS,
    )
    torch.manual_seed(seed)
    VitPoseForPoseEstimation(config).eval().save_pretrained(out, safe_serialization=True)
    _write_preprocessor(
        out,
        {
            "image_processor_type": "VitPoseImageProcessor",
            "size": {"height": height, "width": width},
            "do_rescale": True,
            "rescale_factor": 1 / 255,
            "do_normalize": True,
            "image_mean": _IMAGENET_MEAN,
            "image_std": _IMAGENET_STD,
        },
    )
    return str(out)
