"""Which config keys each stage's outputs depend on.

A stage's fingerprint covers exactly these keys: changing one of them makes the stage's
outputs stale; changing any other key (resources, batch sizes that do not change results,
retry settings, output locations) does not. Models are not identified by these keys but by
their content hashes in the record's `inputs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# stage -> (included key prefixes, excluded key prefixes). A key belongs to a stage when
# it starts with an included prefix and with no excluded one (whole path components).
STAGE_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "manifest": (("dataset", "synth"), ("synth.workers",)),
    "finetune": (
        ("finetune", "backbone.num_frames", "backbone.sampling", "backbone.stride"),
        (
            "finetune.output",
            "finetune.state_dir",
            "finetune.run_name",
            "finetune.resume",
            "finetune.keep_checkpoints",
            "finetune.decode",
            "finetune.workers.num_cpus",
            "finetune.workers.num_gpus",
        ),
    ),
    "dual_encoder": (
        (
            "dual_training",
            "dual_encoder.num_frames",
            "backbone.num_frames",  # the dual frames are taken from the backbone clip
            "backbone.sampling",
            "backbone.stride",
        ),
        (
            "dual_training.output",
            "dual_training.state_dir",
            "dual_training.run_name",
            "dual_training.resume",
            "dual_training.keep_checkpoints",
            "dual_training.decode",
            "dual_training.workers.num_cpus",
            "dual_training.workers.num_gpus",
        ),
    ),
    "preprocess": (
        ("keyframes", "clips", "pose", "backbone", "dual_encoder", "preprocess"),
        (
            "keyframes.fused_blur",  # bit-identical keyframes either way
            "pose.resources",
            "backbone.model",  # identified by content hash in the record's inputs
            "backbone.resources",
            "dual_encoder.model",
            "dual_encoder.resources",
            "preprocess.decode",
            "preprocess.decode_chunk_frames",
            "preprocess.spill_dir",
            "preprocess.writer",
            "preprocess.ground_truth",  # only the summary's keypoint error reads it
        ),
    ),
    "discover": (
        ("discover", "pose.normalization", "seed"),
        (
            "discover.motion.resources",
            "discover.motion.neighbors.use_gpu",
            "discover.motion.neighbors.exact_chunk_rows",
            "discover.motion.neighbors.block_bytes",
            "discover.motion.neighbors.memory_limit_bytes",
            "discover.language.api_key_env",
            "discover.language.concurrency",
            "discover.language.requests_per_minute",
            "discover.language.timeout_s",
            "discover.language.max_retries",
            "discover.language.backoff_initial_s",
            "discover.language.backoff_max_s",
        ),
    ),
    "train": (
        ("train", "seed"),
        (
            "train.output",
            "train.state_dir",
            "train.run_name",
            "train.resume",
            "train.keep_checkpoints",
            "train.max_failures",
            "train.resources",
            "train.sweep_lams",  # the sweep reads a trained model; it never changes it
            "train.sweep_max_nonzeros_per_class",
            "train.sweep_tasks",
        ),
    ),
    "evaluate": (("evaluate",), ("evaluate.language_motion_file",)),  # only --table reads it
    "sanity": (("evaluate", "seed"), ("evaluate.language_motion_file",)),
    "tcav": (("tcav", "seed"), ("tcav.resources",)),
    "report": (("evaluate.top_k", "seed"), ()),
    "concept_clips": (("concept_clips", "seed"), ("concept_clips.resources",)),
}


# Keys a resumable stage may change and still continue its partial work: training longer
# continues from the last checkpoint. They stay in the fingerprint, so a change still
# makes the stages below stale.
RESUME_COMPATIBLE_KEYS: dict[str, tuple[str, ...]] = {
    "finetune": ("finetune.epochs", "finetune.eval_every_epochs"),
    "dual_encoder": ("dual_training.epochs", "dual_training.eval_every_epochs"),
}


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a.b.c": value} for every leaf of a nested mapping (lists and tuples are leaves)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = list(value) if isinstance(value, tuple) else value
    return flat


def _under(key: str, prefix: str) -> bool:
    """True if `key` is `prefix` or lies inside it (whole path components)."""
    return key == prefix or key.startswith(prefix + ".")


def stage_config(stage: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The flat {key: value} slice of a JSON-dumped config that `stage` depends on."""
    if stage not in STAGE_KEYS:
        raise ValueError(f"stage {stage!r} declares no config keys; stages: {', '.join(STAGE_KEYS)}")
    include, exclude = STAGE_KEYS[stage]
    return {
        key: value
        for key, value in sorted(flatten(config).items())
        if any(_under(key, p) for p in include) and not any(_under(key, p) for p in exclude)
    }


def changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """'key: old -> new' for every key whose value differs (added and removed keys too)."""
    missing = object()
    lines = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key, missing), new.get(key, missing)
        if before != after:
            shown = ["(unset)" if v is missing else repr(v) for v in (before, after)]
            lines.append(f"{key}: {shown[0]} -> {shown[1]}")
    return lines
