"""Which encoder models the preprocess job loads, and the frame size each one needs."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dance import storage
from dance.config import DanceConfig
from dance.encoders import is_model_directory, local_model_path
from dance.progress import Log


@dataclass(frozen=True)
class EncoderModels:
    """Resolved model locations (None: that encoder is off) and their frame sides."""

    backbone: str | None
    dual: str | None
    backbone_side: int | None
    dual_side: int | None


def _size_edge(value: object) -> int | None:
    """The shorter edge an image-processor `size`/`crop_size` entry resizes to."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, dict):
        if "shortest_edge" in value:
            return int(value["shortest_edge"])
        if "height" in value and "width" in value:
            return min(int(value["height"]), int(value["width"]))
    return None


def model_input_side(name_or_path: str, fallback: int) -> int:
    """Shorter side a model's image processor resizes frames to, read from a local directory.

    Reads preprocessor_config.json (size, else crop_size), else config.json's image_size
    (or vision_config.image_size); `fallback` for hub ids and directories without either.
    """
    local = is_model_directory(name_or_path)
    folder = Path(local_model_path(name_or_path) if local else name_or_path)
    if not folder.is_dir():
        return fallback
    processor = folder / "preprocessor_config.json"
    if processor.is_file():
        settings = json.loads(processor.read_text())
        for key in ("size", "crop_size"):
            edge = _size_edge(settings.get(key))
            if edge:
                return edge
    config = folder / "config.json"
    if config.is_file():
        settings = json.loads(config.read_text())
        size = settings.get("image_size") or (settings.get("vision_config") or {}).get("image_size")
        if isinstance(size, int) and size > 0:
            return size
    return fallback


def tiny_models_dir(cfg: DanceConfig) -> Path:
    """Where tiny stand-in models are written: <workdir>/models locally, else a temp folder."""
    if storage.is_s3(cfg.workdir):
        return Path(tempfile.gettempdir()) / "dance-tiny-models" / cfg.name
    return Path(cfg.workdir) / "models"


def _fallback_on(cfg: DanceConfig) -> bool:
    """Tiny stand-ins allowed: preprocess.tiny_model_fallback, else only on DANCE-Synth."""
    setting = cfg.preprocess.tiny_model_fallback
    return cfg.dataset.name == "synth" if setting is None else setting


def resolve_encoder_models(cfg: DanceConfig, log: Log) -> EncoderModels:
    """The backbone and dual-encoder models to load, building tiny stand-ins where allowed.

    A model that is not a local directory is taken as a hub id, unless the tiny fallback
    is on (preprocess.tiny_model_fallback; default: DANCE-Synth only): then a tiny random
    model is written under tiny_models_dir and used, with a warning.
    """
    from dance.encoders import build_tiny_videomae, build_tiny_xclip

    backbone = dual = None
    if cfg.preprocess.enable_backbone:
        backbone = cfg.backbone.model
        if not is_model_directory(backbone) and _fallback_on(cfg):
            target = tiny_models_dir(cfg) / "tiny_videomae"
            if not (target / "config.json").is_file():
                build_tiny_videomae(str(target), num_frames=cfg.backbone.num_frames)
            log(
                f"WARNING: backbone model {backbone!r} is not a local directory or s3:// "
                f"prefix; using a tiny RANDOM VideoMAE at {target} (features carry no "
                "meaning). Run `dance finetune-backbone --config <your config>` first for "
                "real features, or "
                "set preprocess.tiny_model_fallback=false to load a hub id."
            )
            backbone = str(target)
    if cfg.preprocess.enable_dual:
        dual = cfg.dual_encoder.model
        if not is_model_directory(dual) and _fallback_on(cfg):
            if cfg.dual_encoder.kind != "xclip":
                from dance.encoders import build_tiny_clip

                target = tiny_models_dir(cfg) / "tiny_clip"
                builder = build_tiny_clip
            else:
                target = tiny_models_dir(cfg) / "tiny_xclip"
                builder = build_tiny_xclip
            if not (target / "config.json").is_file():
                builder(str(target))
            log(
                f"WARNING: dual encoder {dual!r} is not a local directory or s3:// prefix (no "
                f"model hub offline); using a tiny RANDOM {cfg.dual_encoder.kind} at {target} "
                "(embeddings carry no meaning). Point dual_encoder.model at a downloaded "
                "checkpoint for real ones."
            )
            dual = str(target)
    fallback = cfg.preprocess.encoder_frame_side
    return EncoderModels(
        backbone=backbone,
        dual=dual,
        backbone_side=model_input_side(backbone, fallback) if backbone else None,
        dual_side=model_input_side(dual, fallback) if dual else None,
    )
