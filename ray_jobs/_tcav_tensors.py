"""The TCAV job's tensors: class example clips, and each layer's activations and gradients.

A layer's tensors come from one Ray task (the stage's resources: a GPU where configured)
that loads the backbone once and runs every concept clip forward and every class's
example clips forward and backward. They are cached under
<workdir>/posthoc/tcav_cache/<key>.safetensors, the key a hash of the clips' bytes, the
backbone's (and DANCE model's) content hash, the layer and the pooling: a rerun with
other runs, alpha or classes shown reuses them; another model or other clips misses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from dance import storage
from dance.config import DanceConfig, StorageConfig
from dance.manifest import Manifest
from dance.preprocess import DecodePlan, decode_video, unpack
from dance.progress import Log
from dance.workdir import json_sha256
from ray_jobs._placement import task_options
from ray_jobs._predict_bundle import predict_plan
from ray_jobs._runtime import ensure_ray

CONCEPTS = "concepts"  # the cache entry of the concept clips' activations


@dataclass(frozen=True)
class ModelSpec:
    """What scores the clips: the backbone, and the DANCE bundle when it is the target."""

    backbone: str
    backbone_sha256: str | None
    target: str  # "backbone" | "dance"
    dance_model: str | None = None
    dance_sha256: str | None = None

    def load(self) -> Any:
        """The VideoCam of this target, on the GPU when there is one."""
        from dance.encoders import VideoBackbone
        from dance.posthoc import VideoCam
        from dance.train import DanceModel

        device = "cuda" if torch.cuda.is_available() else "cpu"
        backbone = VideoBackbone.from_pretrained(self.backbone, device=device)
        if self.target == "backbone":
            return VideoCam.for_backbone_head(backbone)
        return VideoCam.for_dance(backbone, DanceModel.from_pretrained(str(self.dance_model)))


def class_examples(
    cfg: DanceConfig, manifest: Manifest, backbone: str, class_names: Sequence[str], log: Log
) -> tuple[dict[str, list[np.ndarray]], dict[str, str]]:
    """({class: backbone clips}, {video_id: failure reason}) of the split's videos, seeded."""
    rows = manifest.split(cfg.tcav.split).table.to_pylist()
    by_class: dict[str, list[dict]] = {name: [] for name in class_names}
    for row in sorted(rows, key=lambda r: r["video_id"]):
        if row["label_name"] in by_class:
            by_class[row["label_name"]].append(row)
    rng = np.random.default_rng(cfg.seed)
    chosen: dict[str, list[dict]] = {}
    for name, videos in by_class.items():
        if len(videos) > cfg.tcav.examples_per_class:
            keep = rng.choice(len(videos), cfg.tcav.examples_per_class, replace=False)
            videos = [videos[i] for i in sorted(keep)]
        chosen[name] = videos
    decoded = _decoded_clips(cfg, [row for videos in chosen.values() for row in videos],
                             predict_plan(cfg, backbone), log)
    clips: dict[str, list[np.ndarray]] = {}
    failed: dict[str, str] = {}
    for name, videos in chosen.items():
        for row in videos:
            frames, error = decoded[row["video_id"]]
            if frames is None:
                failed[row["video_id"]] = error
            else:
                clips.setdefault(name, []).append(frames)
    log(f"tcav: {sum(map(len, clips.values()))} example clips of {len(clips)} classes "
        f"({cfg.tcav.split} split), {len(failed)} failed to decode")
    return clips, failed


def _decode_clip(
    video_id: str, uri: str, plan: DecodePlan, storage_config: StorageConfig
) -> tuple[np.ndarray | None, str]:
    """(the backbone's frames, "") of one video, or (None, why it cannot be used)."""
    storage.configure(storage_config)  # a Ray worker: the job's S3 settings, as decode actors
    try:
        decoded = decode_video(video_id, uri, plan)
    except Exception as exc:  # noqa: BLE001 - an unexpected decoder error fails this video only
        return None, f"unreadable: {type(exc).__name__}: {exc}"
    if decoded["status"] != "ok" or decoded.get("backbone_frames") is None:
        return None, decoded.get("error") or "unreadable: no frames"
    return unpack(decoded["backbone_frames"], decoded["backbone_shape"], np.uint8), ""


def _decoded_clips(
    cfg: DanceConfig, rows: Sequence[dict], plan: DecodePlan, log: Log
) -> dict[str, tuple[np.ndarray | None, str]]:
    """_decode_clip of every row, by video_id: one Ray task each, placed as preprocess decodes."""
    import ray

    ensure_ray(cfg, log)
    # Not on the driver one by one: at examples_per_class 20, UCF-101 is 2,020 videos.
    task = ray.remote(_decode_clip).options(**task_options(cfg.preprocess.decode))
    plan_ref = ray.put(plan)
    futures = {
        row["video_id"]: task.remote(row["video_id"], row["uri"], plan_ref, cfg.storage)
        for row in rows
    }
    return dict(zip(futures, ray.get(list(futures.values())), strict=True))


def clips_sha256(clips: Sequence[np.ndarray]) -> str:
    """sha256 of clips in order: their shapes and bytes."""
    digest = hashlib.sha256()
    for clip in clips:
        digest.update(repr(clip.shape).encode())
        digest.update(np.ascontiguousarray(clip).tobytes())
    return digest.hexdigest()


def _layer_task(
    spec: ModelSpec, layer: str, pooling: str, concept_clips: Sequence[np.ndarray],
    examples: Mapping[int, Sequence[np.ndarray]], batch_size: int,
) -> dict[str, torch.Tensor]:  # fmt: skip
    """One layer: concept activations and each class's gradients (key: class index)."""
    from dance.posthoc import layer_activations, layer_gradients

    cam = spec.load()
    out = {CONCEPTS: layer_activations(cam, concept_clips, layer, pooling, batch_size)}
    for index, clips in examples.items():
        out[str(index)] = layer_gradients(cam, clips, layer, index, pooling, batch_size)
    return {name: tensor.contiguous() for name, tensor in out.items()}


def layer_tensors(
    cfg: DanceConfig, spec: ModelSpec, layers: Sequence[str], concept_clips: Sequence[np.ndarray],
    examples: Mapping[int, Sequence[np.ndarray]], cache_dir: str, log: Log,
) -> dict[str, dict[str, torch.Tensor]]:  # fmt: skip
    """{layer: {"concepts": (N, F), "<class index>": (M, F)}}, from the cache or Ray tasks."""
    data = {
        "concepts": clips_sha256(concept_clips),
        "examples": {str(i): clips_sha256(c) for i, c in sorted(examples.items())},
    }
    out: dict[str, dict[str, torch.Tensor]] = {}
    missing: dict[str, str] = {}
    for layer in layers:
        key = json_sha256({
            "data": data, "backbone": spec.backbone_sha256 or spec.backbone, "target": spec.target,
            "dance": spec.dance_sha256, "layer": layer, "pooling": cfg.tcav.pooling,
        })
        uri = storage.join(cache_dir, f"{key}.safetensors")
        if storage.exists(uri):
            out[layer] = load_tensors(storage.read_bytes(uri))
        else:
            missing[layer] = uri
    log(f"tcav: activations of {len(layers)} layer(s): {len(layers) - len(missing)} cached, "
        f"{len(missing)} to compute")
    if missing:
        import ray

        ensure_ray(cfg, log)
        task = ray.remote(_layer_task).options(**task_options(cfg.tcav.resources))
        clips_ref, examples_ref = ray.put(list(concept_clips)), ray.put(dict(examples))
        batch = cfg.tcav.resources.batch_size
        futures = {
            layer: task.remote(spec, layer, cfg.tcav.pooling, clips_ref, examples_ref, batch)
            for layer in missing
        }
        for layer, future in futures.items():
            out[layer] = ray.get(future)
            storage.write_bytes(missing[layer], save_tensors(out[layer]))
            log(f"tcav: {layer}: {out[layer][CONCEPTS].shape[1]} features per clip")
    return out
