"""ConceptClipStage: decode each chosen video's window once and cut its concept and random clips."""

from __future__ import annotations

import pyarrow as pa

from dance import storage
from dance.config import StorageConfig
from dance.posthoc import CONCEPT_CLIPS_SCHEMA, RANDOM_GROUP, cut_video_clips

CUT_SCHEMA = pa.schema([
    *CONCEPT_CLIPS_SCHEMA, ("status", pa.string()), ("error", pa.string()),
])  # fmt: skip


class ConceptClipStage:
    """Ray Data stage (actor pool): planned cuts per video -> clip rows (npy bytes), or a failure."""

    def __init__(self, size: int, length: int, storage_config: StorageConfig) -> None:
        """Remember the clip size and length; point storage at the job's S3 settings."""
        storage.configure(storage_config)
        self._size, self._length = size, length

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Every clip row of every video of the batch; a video that fails gives one failed row."""
        rows = []
        for item in batch.to_pylist():
            rows.extend(cut_video_clips(item, self._size, self._length, RANDOM_GROUP))
        return pa.Table.from_pylist(
            [{name: row.get(name) for name in CUT_SCHEMA.names} for row in rows], schema=CUT_SCHEMA
        )
