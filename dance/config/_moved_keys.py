"""Config keys that moved: an old key fails naming the key that replaced it.

One table for every rename, so an old preset or `--set` line gets the fix, not only the
list of allowed keys. Values are never converted silently: the user edits the key.
"""

from __future__ import annotations

_NEIGHBOR_KEYS = (
    "ann_threshold",
    "ann_index",
    "ivf_nprobe",
    "hnsw_m",
    "ef_search",
    "exact_chunk_rows",
    "use_gpu",
    "seed",
)

# old dotted key -> (new dotted key, how the value carries over when not as it is)
MOVED_KEYS: dict[str, tuple[str, str]] = {
    "discover.motion.search": ("discover.motion.neighbors.mode", ""),
    **{
        f"discover.motion.{key}": (f"discover.motion.neighbors.{key}", "") for key in _NEIGHBOR_KEYS
    },
    "discover.motion.neighbors.exact_block_bytes": (
        "discover.motion.neighbors.block_bytes",
        "now caps every scan's tiles, not only exact ones",
    ),
    "discover.motion.num_cpus": ("discover.motion.resources.num_cpus", ""),
    "discover.motion.num_gpus": ("discover.motion.resources.num_gpus", ""),
    "preprocess.writer_num_cpus": ("preprocess.writer.num_cpus", ""),
    "preprocess.rows_per_part": ("preprocess.writer.batch_size", "videos per part"),
    "finetune.num_workers": ("finetune.workers.pool_size", "Ray Train workers"),
    "finetune.cpus_per_worker": ("finetune.workers.num_cpus", "CPUs per worker"),
    "finetune.use_gpu": ("finetune.workers.num_gpus", "GPUs per worker: true is 1"),
    "finetune.batch_size": ("finetune.workers.batch_size", "clips per worker per step"),
    "finetune.decode_cpus": ("finetune.decode.num_cpus", "CPUs per decode task"),
    "finetune.cache_part_videos": ("finetune.decode.batch_size", "videos per cache file"),
    "train.num_workers": ("train.resources.pool_size", "Ray Train workers"),
    "train.use_gpu": ("train.resources.num_gpus", "GPUs per worker: true is 1"),
}


def moved_key_message(dotted: str) -> str | None:
    """'KEY is now NEW (...)' for a key that moved; None for a key that never existed."""
    moved = MOVED_KEYS.get(dotted)
    if moved is None:
        return None
    new, note = moved
    return f"'{dotted}' is now '{new}'" + (f" ({note})" if note else "") + f"; set {new} instead"
