"""Pseudo labels for object and scene concepts (docs/method.md section 5, Eq. 3).

The label of video v and concept c is the cosine between v's dual-encoder embedding and
the text embedding of the template filled with c: no softmax, no temperature. Text
embeddings are cached under a hash of (concepts, template, encoder id), never a file name.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from dance import storage
from dance.concepts._filters import TextEmbedder, embed_normalised

__all__ = ["pseudo_label_table", "pseudo_labels", "text_embedding_key"]

_CACHE_FORMAT = 1  # bump when the cached array layout changes


def text_embedding_key(concepts: Sequence[str], template: str, encoder_id: str) -> str:
    """sha256 hex of (concept list in order, template, encoder id): the text-embedding cache key."""
    canonical = json.dumps(
        {
            "format": _CACHE_FORMAT,
            "concepts": list(concepts),
            "template": template,
            "encoder_id": encoder_id,
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _check_inputs(
    video_ids: Sequence[str], video_embeddings: np.ndarray, concepts: Sequence[str], template: str
) -> np.ndarray:
    """Validated video embeddings as float64 unit rows; clear errors naming the bad input."""
    ids = list(video_ids)
    if len(set(ids)) != len(ids):
        repeats = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"video_ids repeat {repeats[:3]}; each video must appear once")
    videos = np.asarray(video_embeddings, dtype=np.float64)
    if videos.ndim != 2 or videos.shape[0] != len(ids):
        raise ValueError(
            f"video_embeddings has shape {videos.shape} but there are {len(ids)} video_ids; "
            "pass one (D,) dual embedding row per video, in video_ids order"
        )
    norms = np.linalg.norm(videos, axis=1)
    bad = [ids[i] for i in np.flatnonzero(~np.isfinite(norms) | (norms == 0))]
    if bad:
        raise ValueError(
            f"video embeddings of {bad[:3]} are zero or not finite; re-run preprocess for "
            "those videos or drop them (status=failed rows carry no embedding)"
        )
    if isinstance(concepts, str) or not concepts or not all(isinstance(c, str) for c in concepts):
        raise ValueError("concepts must be a non-empty list of concept name strings")
    if len({c.casefold() for c in concepts}) != len(concepts):
        raise ValueError("concepts repeat a name (ignoring case); filter_concepts removes repeats")
    if "{concept}" not in template:
        raise ValueError(
            f"template {template!r} has no {{concept}} placeholder; write e.g. 'A video of {{concept}}'"
        )
    return videos / norms[:, None]


def _load_cached(path: str, count: int) -> np.ndarray | None:
    """The cached (count, D) text embeddings at `path`, or None when absent."""
    if not storage.exists(path):
        return None
    array = np.load(io.BytesIO(storage.read_bytes(path)), allow_pickle=False)
    if array.ndim != 2 or array.shape[0] != count:
        raise storage.StorageError(
            f"cached text embeddings {path} have shape {array.shape}, expected ({count}, D); "
            "delete the file to recompute them"
        )
    return array


def _text_embeddings(
    concepts: Sequence[str],
    embedder: TextEmbedder,
    template: str,
    encoder_id: str,
    cache_dir: str | None,
) -> np.ndarray:
    """(M, D) unit text embeddings of the filled template, through the cache when given."""
    path = None
    if cache_dir is not None:
        key = text_embedding_key(concepts, template, encoder_id)
        path = storage.join(cache_dir, f"text_embeddings-{key}.npy")
        cached = _load_cached(path, len(concepts))
        if cached is not None:
            return cached.astype(np.float64)
    texts = [template.replace("{concept}", concept) for concept in concepts]
    # rounded to the cache's float32 here too, so a first run and a cached rerun agree exactly
    rows = embed_normalised(embedder, texts, "concept prompts").astype(np.float32)
    if path is not None:
        buffer = io.BytesIO()
        np.save(buffer, rows, allow_pickle=False)
        storage.write_bytes(path, buffer.getvalue())
    return rows.astype(np.float64)


def pseudo_labels(
    video_ids: Sequence[str],
    video_embeddings: np.ndarray,
    concepts: Sequence[str],
    embedder: TextEmbedder,
    template: str,
    encoder_id: str,
    cache_dir: str | None = None,
) -> np.ndarray:
    """(V, M) float32 cosines between each video's embedding and each concept's text (Eq. 3).

    Row v belongs to video_ids[v]; `encoder_id` names the text encoder (e.g. its
    name_or_path) so a cache never mixes encoders.
    """
    videos = _check_inputs(video_ids, video_embeddings, concepts, template)
    texts = _text_embeddings(list(concepts), embedder, template, encoder_id, cache_dir)
    if texts.shape[1] != videos.shape[1]:
        raise ValueError(
            f"text embeddings from {encoder_id!r} have {texts.shape[1]} dimensions but the video "
            f"embeddings have {videos.shape[1]}; use the text tower of the dual encoder that "
            "made the video embeddings"
        )
    return (videos @ texts.T).astype(np.float32)


def pseudo_label_table(video_ids: Sequence[str], labels: np.ndarray, column: str) -> pa.Table:
    """A table keyed by video_id with `column` = each video's label row (list<float32>)."""
    matrix = np.asarray(labels, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(video_ids):
        raise ValueError(
            f"labels has shape {matrix.shape} but there are {len(video_ids)} video_ids; pass "
            "the (V, M) output of pseudo_labels for these ids"
        )
    flat = pa.array(matrix.reshape(-1), pa.float32())
    offsets = pa.array(np.arange(len(video_ids) + 1, dtype=np.int32) * matrix.shape[1])
    rows = pa.ListArray.from_arrays(offsets, flat)
    return pa.table({"video_id": pa.array(list(video_ids), pa.string()), column: rows})
