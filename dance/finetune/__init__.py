"""Fine-tuning the VideoMAE backbone to classify (the paper's baseline; docs/method.md section 6).

Plain functions, no Ray: decode a manifest once into a cache of sampled clips
(`build_part`, `merge_parts`, `load_clips`), train (`build_classifier`, `fit`,
`evaluate_best`), checkpoint (`save_checkpoint`, `load_checkpoint`) and export a
from_pretrained directory (`export_model`). `ray_jobs.finetune_backbone` distributes them
with Ray Train.
"""

from dance.finetune._checkpoint import load_checkpoint, read_state, save_checkpoint
from dance.finetune._data import (
    CachePart,
    ClipCache,
    ClipSpec,
    build_part,
    cache_directory,
    decode_clip,
    load_clips,
    merge_parts,
    missing_videos,
    normalise_clips,
    plan_parts,
    read_cache,
    resize_frames,
)
from dance.finetune._export import MARKER, export_model
from dance.finetune._loop import (
    ClipSet,
    Shard,
    TrainState,
    evaluate,
    evaluate_best,
    fit,
    format_epoch,
    learning_rate,
    make_optimizer,
    split_shard,
    steps_per_epoch,
    train_one_epoch,
    unwrap,
)
from dance.finetune._model import (
    TINY,
    build_classifier,
    clip_spec_for,
    default_processor_config,
    processor_config_for,
)

__all__ = [
    "MARKER",
    "TINY",
    "CachePart",
    "ClipCache",
    "ClipSet",
    "ClipSpec",
    "Shard",
    "TrainState",
    "build_classifier",
    "build_part",
    "cache_directory",
    "clip_spec_for",
    "decode_clip",
    "default_processor_config",
    "evaluate",
    "evaluate_best",
    "export_model",
    "fit",
    "format_epoch",
    "learning_rate",
    "load_checkpoint",
    "load_clips",
    "make_optimizer",
    "merge_parts",
    "missing_videos",
    "normalise_clips",
    "plan_parts",
    "processor_config_for",
    "read_cache",
    "read_state",
    "resize_frames",
    "save_checkpoint",
    "split_shard",
    "steps_per_epoch",
    "train_one_epoch",
    "unwrap",
]
