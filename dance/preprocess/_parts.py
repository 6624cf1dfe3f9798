"""Output parts: videos/part-<id>.parquet and clips/part-<id>.parquet, atomic, resumable.

One block of videos is written as a clips part first, then a videos part with the same
id; a video is done once it is in a videos part. The id is a hash of the block's sorted
video_ids, so a retried block overwrites its own files instead of adding a second copy.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from dance import storage
from dance.preprocess._schema import CLIPS_SCHEMA, VIDEOS_SCHEMA, rows_to_table
from dance.workdir import clips_dir, videos_dir

_PREFIX, _SUFFIX = "part-", ".parquet"


def part_id(video_ids: Sequence[str]) -> str:
    """The id of the block holding these videos: 16 hex digits of a hash of the sorted ids."""
    if not video_ids:
        raise ValueError("a part needs at least one video_id")
    digest = hashlib.sha256("\n".join(sorted(video_ids)).encode("utf-8")).hexdigest()
    return digest[:16]


def _part_uri(folder: str, pid: str) -> str:
    return storage.join(folder, f"{_PREFIX}{pid}{_SUFFIX}")


def _part_ids(folder: str) -> dict[str, str]:
    """part id -> uri of every part file in `folder` (none if it does not exist)."""
    found = {}
    for uri in storage.list_files(folder, suffix=_SUFFIX):
        name = uri.rstrip("/").rsplit("/", 1)[-1]
        if name.startswith(_PREFIX) and name.endswith(_SUFFIX):
            found[name[len(_PREFIX) : -len(_SUFFIX)]] = uri
    return found


def write_part(
    workdir: str, videos: Sequence[Mapping[str, Any]], clips: Sequence[Mapping[str, Any]]
) -> str:
    """Write one block: its clips part, then its videos part (the commit); return the id."""
    ids = [str(row["video_id"]) for row in videos]
    if len(set(ids)) != len(ids):
        raise ValueError(f"a block lists a video twice: {sorted(i for i in set(ids) if ids.count(i) > 1)}")
    stray = {str(row["video_id"]) for row in clips} - set(ids)
    if stray:
        raise ValueError(f"clip rows for videos not in the block: {sorted(stray)[:5]}")
    pid = part_id(ids)
    order = sorted(range(len(videos)), key=lambda i: ids[i])
    clip_rows = sorted(clips, key=lambda r: (str(r["video_id"]), int(r["clip_index"])))
    storage.write_parquet(rows_to_table(clip_rows, CLIPS_SCHEMA), _part_uri(clips_dir(workdir), pid))
    storage.write_parquet(
        rows_to_table([videos[i] for i in order], VIDEOS_SCHEMA), _part_uri(videos_dir(workdir), pid)
    )
    return pid


def done_video_ids(workdir: str) -> set[str]:
    """video_ids already committed in a videos part."""
    done: set[str] = set()
    for uri in _part_ids(videos_dir(workdir)).values():
        done.update(storage.read_parquet(uri, columns=["video_id"]).column("video_id").to_pylist())
    return done


def remove_orphan_clip_parts(workdir: str) -> list[str]:
    """Delete clips parts whose videos part was never written (a killed block); return them."""
    committed = _part_ids(videos_dir(workdir))
    orphans = [uri for pid, uri in _part_ids(clips_dir(workdir)).items() if pid not in committed]
    for uri in orphans:
        storage.remove(uri)
    return orphans


def part_pairs(workdir: str) -> list[tuple[str, str | None]]:
    """(videos part uri, clips part uri or None) for every committed part, sorted by id."""
    clips = _part_ids(clips_dir(workdir))
    videos = _part_ids(videos_dir(workdir))
    return [(videos[pid], clips.get(pid)) for pid in sorted(videos)]


def _read_parts(uris: Sequence[str], schema: pa.Schema, columns: Sequence[str] | None) -> pa.Table:
    """The committed parts' rows concatenated (optionally some columns)."""
    tables = [storage.read_parquet(uri, columns=list(columns) if columns else None) for uri in uris]
    if not tables:
        return (schema if columns is None else pa.schema([schema.field(c) for c in columns])).empty_table()
    return pa.concat_tables(tables)


def read_videos(workdir: str, columns: Sequence[str] | None = None) -> pa.Table:
    """Every committed videos/ row of a workdir (optionally some columns)."""
    return _read_parts([v for v, _ in part_pairs(workdir)], VIDEOS_SCHEMA, columns)


def dual_embeddings(videos: pa.Table) -> dict[str, list[float]]:
    """{video_id: dual-encoder embedding} of the ok rows of a videos/ table that have one."""
    return {
        video_id: embedding
        for video_id, status, embedding in zip(
            videos["video_id"].to_pylist(),
            videos["status"].to_pylist(),
            videos["dual"].to_pylist(),
            strict=True,
        )
        if status == "ok" and embedding is not None
    }


def read_clips(workdir: str, columns: Sequence[str] | None = None) -> pa.Table:
    """Every clips/ row of the committed parts of a workdir (optionally some columns)."""
    return _read_parts([c for _, c in part_pairs(workdir) if c], CLIPS_SCHEMA, columns)


def remove_stale_temp_files(workdir: str) -> list[str]:
    """Delete temp files a killed local writer left in videos/ and clips/; return them.

    S3 writes upload whole objects, so only local folders can hold such leftovers.
    """
    removed = []
    for folder in (videos_dir(workdir), clips_dir(workdir)):
        if storage.is_s3(folder) or not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if storage.is_temp_name(name):
                os.remove(os.path.join(folder, name))
                removed.append(os.path.join(folder, name))
    return removed
