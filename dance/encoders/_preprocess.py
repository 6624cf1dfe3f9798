"""Frames to model pixels in torch: resize, centre crop, rescale, normalise (no image processor).

Reads the settings a Hugging Face image processor would use from the model's saved
``preprocessor_config.json`` (both the old ``size: 224`` and the new ``{"shortest_edge":
224}`` forms), so no processor class, PIL or torchvision is needed. The resize mimics
PIL's: antialiased, and rounded back to uint8 values before rescaling.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# PIL resampling codes as saved by image processors -> torch interpolate modes. PIL's
# LANCZOS (1), BOX (4) and HAMMING (5) have no torch twin; bicubic is the closest.
_RESAMPLE_MODES = {
    0: "nearest",
    1: "bicubic",
    2: "bilinear",
    3: "bicubic",
    4: "bicubic",
    5: "bicubic",
}
# Frames resized per torch call: bounds the float copy of full-resolution frames (~128 MiB).
_PIXELS_PER_CHUNK = 1 << 25


@dataclass(frozen=True)
class PixelSpec:
    """How frames become model pixels; see `pixel_spec_from_config` for where each comes from."""

    resize: Literal["shortest_edge", "exact"] | None
    size: tuple[int, int]
    crop: tuple[int, int] | None
    rescale_factor: float | None
    mean: tuple[float, float, float] | None
    std: tuple[float, float, float] | None
    interpolation: str

    @property
    def output_size(self) -> tuple[int, int] | None:
        """(height, width) of every output frame, when fixed by a crop or an exact resize."""
        if self.crop is not None:
            return self.crop
        return self.size if self.resize == "exact" else None


def _size_pair(
    value: object, key: str, origin: str
) -> tuple[Literal["shortest_edge", "exact"], tuple[int, int]]:
    """Parse an image processor `size` / `crop_size` entry into (mode, (h, w))."""
    if isinstance(value, int) and not isinstance(value, bool):
        return "shortest_edge", (value, value)
    if isinstance(value, dict):
        if "shortest_edge" in value:
            edge = int(value["shortest_edge"])
            return "shortest_edge", (edge, edge)
        if "height" in value and "width" in value:
            return "exact", (int(value["height"]), int(value["width"]))
    raise ValueError(
        f"{origin}: unsupported {key} {value!r}; expected an int, {{'shortest_edge': n}} or "
        "{'height': h, 'width': w} — fix the preprocessor config"
    )


def _triple(value: object, key: str, origin: str) -> tuple[float, float, float]:
    """Parse a per-channel mean/std entry (one value or three)."""
    values = [float(value)] * 3 if isinstance(value, (int, float)) else [float(v) for v in value]  # type: ignore[union-attr]
    if len(values) != 3:
        raise ValueError(f"{origin}: {key} must have 3 values (RGB), got {value!r}")
    return values[0], values[1], values[2]


def square_crop_processor_config(
    processor_type: str, image_size: int, mean: Sequence[float], std: Sequence[float], resample: int
) -> dict:
    """A Hugging Face image processor config: shortest edge to image_size, square centre crop,
    rescale to [0, 1] and normalise by (mean, std); what pixel_spec_from_config() reads."""
    return {
        "image_processor_type": processor_type,
        "do_resize": True,
        "size": {"shortest_edge": image_size},
        "resample": resample,
        "do_center_crop": True,
        "crop_size": {"height": image_size, "width": image_size},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": list(mean),
        "image_std": list(std),
    }


def pixel_spec_from_config(
    processor_config: dict | None,
    image_size: int,
    default_mean: Sequence[float],
    default_std: Sequence[float],
    default_resample: int,
    origin: str,
) -> PixelSpec:
    """Build the pixel spec from a saved preprocessor config, else from the model defaults.

    Without a config: shortest edge resized to `image_size`, centre crop image_size x
    image_size, rescale 1/255, normalise with `default_mean` / `default_std`.
    """
    cfg = processor_config or {}
    if "shortest_edge" in cfg and "size" not in cfg:  # very old feature-extractor form
        cfg = {**cfg, "size": cfg["shortest_edge"]}
    do_resize = bool(cfg.get("do_resize", True))
    mode, size = _size_pair(cfg.get("size", image_size), "size", origin)
    crop: tuple[int, int] | None = None
    if cfg.get("do_center_crop", True):
        _, crop = _size_pair(cfg.get("crop_size", image_size), "crop_size", origin)
    rescale = float(cfg.get("rescale_factor", 1 / 255)) if cfg.get("do_rescale", True) else None
    normalise = cfg.get("do_normalize", True)
    resample = cfg.get("resample", default_resample)
    if not isinstance(resample, int) or resample not in _RESAMPLE_MODES:
        raise ValueError(
            f"{origin}: unsupported resample {resample!r}; expected a PIL code 0-5 (2 bilinear, "
            "3 bicubic) — fix the preprocessor config"
        )
    return PixelSpec(
        resize=mode if do_resize else None,
        size=size,
        crop=crop,
        rescale_factor=rescale,
        mean=_triple(cfg.get("image_mean", default_mean), "image_mean", origin)
        if normalise
        else None,
        std=_triple(cfg.get("image_std", default_std), "image_std", origin) if normalise else None,
        interpolation=_RESAMPLE_MODES[resample],
    )


def check_clips(clips: np.ndarray, name: str = "clips") -> np.ndarray:
    """Validate a (B, T, H, W, 3) uint8 RGB array; return it as a contiguous array."""
    if not isinstance(clips, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy array (B, T, H, W, 3) uint8 RGB, got {type(clips).__name__}"
        )
    if clips.ndim != 5 or clips.shape[-1] != 3:
        raise ValueError(
            f"{name} must have shape (B, T, H, W, 3) (RGB frames, channels last), got "
            f"{clips.shape}; stack decoded clips with np.stack"
        )
    if clips.dtype != np.uint8:
        raise ValueError(f"{name} must be uint8 RGB in [0, 255], got dtype {clips.dtype}")
    if min(clips.shape[:4]) == 0:
        raise ValueError(f"{name} must not be empty, got shape {clips.shape}")
    return np.ascontiguousarray(clips)


def _resized_size(height: int, width: int, spec: PixelSpec) -> tuple[int, int]:
    """Output (h, w) of the resize step, as Hugging Face's get_resize_output_image_size."""
    if spec.resize is None:
        return height, width
    if spec.resize == "exact":
        return spec.size
    edge = spec.size[0]
    if width <= height:
        return int(edge * height / width), edge
    return edge, int(edge * width / height)


def view_box(height: int, width: int, spec: PixelSpec) -> tuple[float, float, float, float]:
    """The part of a height x width frame the model sees after resize and centre crop, as
    fractions (top, left, bottom, right) of the frame; the same arithmetic as frames_to_pixels."""
    out_h, out_w = _resized_size(height, width, spec)
    crop_h, crop_w = spec.crop if spec.crop is not None else (out_h, out_w)
    top, left = (out_h - crop_h) // 2, (out_w - crop_w) // 2
    return top / out_h, left / out_w, (top + crop_h) / out_h, (left + crop_w) / out_w


def frames_to_pixels(
    frames: np.ndarray, spec: PixelSpec, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """(N, H, W, 3) uint8 RGB -> (N, 3, h, w) normalised pixels on `device` in `dtype`."""
    n, height, width, _ = frames.shape
    out_h, out_w = _resized_size(height, width, spec)
    crop_h, crop_w = spec.crop if spec.crop is not None else (out_h, out_w)
    if crop_h > out_h or crop_w > out_w:
        raise ValueError(
            f"crop {crop_h}x{crop_w} is larger than the resized frame {out_h}x{out_w}; the "
            "preprocessor config's crop_size must not exceed its size"
        )
    top, left = (out_h - crop_h) // 2, (out_w - crop_w) // 2
    out = torch.empty((n, 3, crop_h, crop_w), dtype=torch.float32, device=device)
    chunk = max(1, _PIXELS_PER_CHUNK // (height * width * 3))
    for start in range(0, n, chunk):
        block = torch.from_numpy(frames[start : start + chunk]).to(device)
        block = block.permute(0, 3, 1, 2).float()
        if (out_h, out_w) != (height, width):
            if spec.interpolation == "nearest":
                block = F.interpolate(block, size=(out_h, out_w), mode="nearest-exact")
            else:
                block = F.interpolate(
                    block,
                    size=(out_h, out_w),
                    mode=spec.interpolation,
                    align_corners=False,
                    antialias=True,
                )
            # PIL resizes uint8 images: round and clamp as it does.
            block = block.round_().clamp_(0, 255)
        out[start : start + chunk] = block[:, :, top : top + crop_h, left : left + crop_w]
    if spec.rescale_factor is not None:
        out.mul_(spec.rescale_factor)
    if spec.mean is not None and spec.std is not None:
        mean = torch.tensor(spec.mean, device=device).view(1, 3, 1, 1)
        std = torch.tensor(spec.std, device=device).view(1, 3, 1, 1)
        out.sub_(mean).div_(std)
    return out.to(dtype)
