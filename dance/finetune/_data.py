"""Decode a manifest's videos once into sampled, resized uint8 clips cached as safetensors.

The cache lives in ``<state_dir>/clips/<fingerprint>/``: ``part-NNNNN.safetensors`` files
(one tensor (T, S, S, 3) uint8 per video, keyed by video_id) and ``index.json`` naming the
part of every cached video and the reason of every video that failed to decode. The
fingerprint covers everything that changes a clip (frames, sampling, resize, crop), so a
different model size gets a different cache; a rerun decodes only videos it has not seen.
Clips are stored resized and cropped but not normalised: uint8 is 4x smaller than float,
and normalising is the cheap last step at batch time (`normalise_clips`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from dance import storage
from dance.config import BackboneConfig, DualEncoderConfig
from dance.encoders import (
    PixelSpec,
    backbone_frame_indices,
    dual_frame_indices,
    frames_to_pixels,
    pixel_spec_from_config,
)
from dance.manifest import Manifest
from dance.storage import StorageError
from dance.video import VideoReadError, open_video

_LOG = logging.getLogger(__name__)
_CACHE_VERSION = 1
_INDEX = "index.json"


@dataclass(frozen=True)
class ClipSpec:
    """Which frames make a clip (backbone sampling) and how they are resized and cropped.

    With `dual` set, the clip is the dual encoder's frames taken from the backbone clip
    (`dual_frame_indices`), as preprocess feeds the dual encoder.
    """

    backbone: BackboneConfig
    pixels: PixelSpec
    dual: DualEncoderConfig | None = None

    @property
    def storage_pixels(self) -> PixelSpec:
        """The resize + crop part of the pixel spec (cached clips stay uint8)."""
        return dataclasses.replace(self.pixels, rescale_factor=None, mean=None, std=None)

    @property
    def normalise_pixels(self) -> PixelSpec:
        """The rescale + normalise part of the pixel spec (applied to cached clips per batch)."""
        return dataclasses.replace(self.pixels, resize=None, crop=None)

    def fingerprint(self) -> str:
        """A short hash of every setting that changes a cached clip."""
        pixels = self.pixels
        settings = {
            "version": _CACHE_VERSION,
            "num_frames": self.backbone.num_frames,
            "sampling": self.backbone.sampling,
            "stride": self.backbone.stride if self.backbone.sampling != "segment_middles" else None,
            "resize": pixels.resize,
            "size": list(pixels.size),
            "crop": list(pixels.crop) if pixels.crop else None,
            "interpolation": pixels.interpolation,
        }
        if self.dual is not None:  # only when set: backbone caches keep their fingerprints
            settings["dual_frames"] = self.dual.num_frames
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
        return digest[:16]


@dataclass(frozen=True)
class CachePart:
    """Videos decoded into one cache file: which ones made it and why the others did not."""

    name: str
    cached: dict[str, str] = field(default_factory=dict)  # video_id -> uri
    failed: dict[str, dict[str, str]] = field(default_factory=dict)  # video_id -> uri, reason


@dataclass(frozen=True)
class ClipCache:
    """An index of cached clips: video_id -> part file, plus the videos that failed."""

    directory: str
    parts: dict[str, str]  # video_id -> part file name
    uris: dict[str, str]  # video_id -> uri (cached and failed)
    failed: dict[str, str]  # video_id -> reason

    def part_uri(self, name: str) -> str:
        """The full uri of a part file of this cache."""
        return storage.join(self.directory, name)

    def to_json(self) -> dict:
        """The index as written to index.json."""
        return {
            "version": _CACHE_VERSION,
            "videos": {
                vid: {"part": self.parts[vid], "uri": self.uris[vid]} for vid in sorted(self.parts)
            },
            "failed": {
                vid: {"uri": self.uris[vid], "reason": self.failed[vid]}
                for vid in sorted(self.failed)
            },
        }


def square_clip_spec(
    processor_config: dict | None,
    image_size: int,
    backbone: BackboneConfig,
    defaults: tuple[Sequence[float], Sequence[float], int],
    origin: str,
    dual: DualEncoderConfig | None = None,
) -> ClipSpec:
    """The clips of a model taking image_size x image_size frames, resized as its processor says.

    defaults: (mean, std, PIL resample code) where the processor config has none; origin
    names the config in errors. A processor config making frames of another size is refused.
    """
    mean, std, resample = defaults
    pixels = pixel_spec_from_config(
        processor_config,
        image_size=image_size,
        default_mean=mean,
        default_std=std,
        default_resample=resample,
        origin=origin,
    )
    if pixels.output_size != (image_size, image_size):
        raise ValueError(
            f"the {origin} makes {pixels.output_size} frames but the model takes "
            f"{image_size}x{image_size}; fix its crop_size"
        )
    return ClipSpec(backbone=backbone, pixels=pixels, dual=dual)


def cache_directory(state_dir: str, spec: ClipSpec) -> str:
    """Where the clip cache for `spec` lives under a fine-tuning state directory."""
    return storage.join(state_dir, "clips", spec.fingerprint())


def read_cache(directory: str) -> ClipCache:
    """The cache index in `directory`; an empty cache when none was written yet."""
    uri = storage.join(directory, _INDEX)
    if not storage.exists(uri):
        return ClipCache(directory, {}, {}, {})
    index = storage.read_json(uri)
    if not isinstance(index, dict) or index.get("version") != _CACHE_VERSION:
        raise ValueError(
            f"clip cache index {uri!r} is not a version-{_CACHE_VERSION} index; delete the "
            "folder and rerun to rebuild the cache"
        )
    parts = {vid: entry["part"] for vid, entry in index["videos"].items()}
    uris = {vid: entry["uri"] for vid, entry in index["videos"].items()}
    failed = {vid: entry["reason"] for vid, entry in index["failed"].items()}
    uris.update({vid: entry["uri"] for vid, entry in index["failed"].items()})
    return ClipCache(directory, parts, uris, failed)


def missing_videos(cache: ClipCache, manifest: Manifest) -> list[tuple[str, str]]:
    """(video_id, uri) of manifest videos the cache has neither decoded nor marked failed.

    A video whose uri changed since it was cached counts as missing (decoded again).
    """
    pairs = zip(manifest.video_ids, manifest.table.column("uri").to_pylist(), strict=True)
    return [(vid, uri) for vid, uri in pairs if cache.uris.get(vid) != uri]


def plan_parts(
    cache: ClipCache, videos: Sequence[tuple[str, str]], part_size: int
) -> list[tuple[str, list[tuple[str, str]]]]:
    """Split videos to decode into named parts of `part_size`, numbered after existing ones."""
    if part_size < 1:
        raise ValueError(f"part_size must be >= 1, got {part_size}")
    used = [int(name[len("part-") : -len(".safetensors")]) for name in set(cache.parts.values())]
    first = max(used, default=-1) + 1
    ordered = sorted(videos)
    return [
        (f"part-{first + i:05d}.safetensors", ordered[start : start + part_size])
        for i, start in enumerate(range(0, len(ordered), part_size))
    ]


def decode_clip(uri: str, spec: ClipSpec) -> np.ndarray:
    """The clip of one video: (T, S, S, 3) uint8 RGB, sampled and resized as `spec`."""
    with open_video(uri) as reader:
        indices = backbone_frame_indices(reader.info.num_frames, spec.backbone)
        if spec.dual is not None:
            indices = dual_frame_indices(indices, spec.dual)
        frames = reader.get_frames(indices.tolist())
    return resize_frames(frames, spec)


def resize_frames(frames: np.ndarray, spec: ClipSpec) -> np.ndarray:
    """(N, H, W, 3) uint8 RGB -> (N, S, S, 3) uint8: the model's resize and crop, not normalised."""
    pixels = frames_to_pixels(frames, spec.storage_pixels, torch.device("cpu"), torch.float32)
    # Without rescale/normalise the values are whole numbers in [0, 255]: uint8 is exact.
    clip = pixels.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    return np.ascontiguousarray(clip.numpy())


def build_part(
    directory: str, name: str, videos: Sequence[tuple[str, str]], spec: ClipSpec
) -> CachePart:
    """Decode `videos` into the cache file `name`; a video that fails is recorded, not raised."""
    clips: dict[str, torch.Tensor] = {}
    part = CachePart(name)
    for video_id, uri in videos:
        try:
            clips[video_id] = torch.from_numpy(decode_clip(uri, spec))
        except (VideoReadError, StorageError, OSError, ValueError, RuntimeError) as error:
            reason = f"{type(error).__name__}: {error}"
            _LOG.warning("skipping video %s (%s): %s", video_id, uri, reason)
            part.failed[video_id] = {"uri": uri, "reason": reason}
            continue
        part.cached[video_id] = uri
    if clips:
        storage.write_bytes(storage.join(directory, name), save_safetensors(clips))
    return part


def merge_parts(cache: ClipCache, parts: Sequence[CachePart]) -> ClipCache:
    """The cache with newly built parts added; writes index.json atomically."""
    parts_of, uris, failed = dict(cache.parts), dict(cache.uris), dict(cache.failed)
    for part in parts:
        for vid, uri in part.cached.items():
            parts_of[vid], uris[vid] = part.name, uri
            failed.pop(vid, None)
        for vid, entry in part.failed.items():
            uris[vid], failed[vid] = entry["uri"], entry["reason"]
            parts_of.pop(vid, None)
    merged = ClipCache(cache.directory, parts_of, uris, failed)
    storage.write_json(merged.to_json(), storage.join(cache.directory, _INDEX))
    return merged


def load_clips(cache: ClipCache, video_ids: Sequence[str]) -> torch.Tensor:
    """Cached clips of `video_ids`, in that order: (N, T, S, S, 3) uint8.

    Reads only the part files that hold the requested videos.
    """
    unknown = [vid for vid in video_ids if vid not in cache.parts]
    if unknown:
        raise KeyError(
            f"{len(unknown)} video(s) are not in the clip cache {cache.directory!r} "
            f"(e.g. {unknown[:3]}); build the cache for this manifest first"
        )
    wanted: dict[str, list[str]] = {}
    for vid in video_ids:
        wanted.setdefault(cache.parts[vid], []).append(vid)
    found: dict[str, torch.Tensor] = {}
    for name, ids in sorted(wanted.items()):
        tensors = load_safetensors(storage.read_bytes(cache.part_uri(name)))
        found.update({vid: tensors[vid] for vid in ids})
    if not video_ids:
        raise ValueError("load_clips needs at least one video_id")
    return torch.stack([found[vid] for vid in video_ids])


def normalise_clips(clips: torch.Tensor, spec: ClipSpec, device: torch.device) -> torch.Tensor:
    """(B, T, S, S, 3) uint8 clips -> (B, T, 3, S, S) float32 model input on `device`."""
    batch, frames = clips.shape[:2]
    flat = clips.reshape(batch * frames, *clips.shape[2:]).cpu().numpy()
    pixels = frames_to_pixels(flat, spec.normalise_pixels, device, torch.float32)
    return pixels.view(batch, frames, *pixels.shape[1:])
