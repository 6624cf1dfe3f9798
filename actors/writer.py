"""PartWriter: a block of finished videos -> clips part, then videos part; small report out."""

from __future__ import annotations

import pyarrow as pa

from dance import storage
from dance.config import StorageConfig
from dance.preprocess import rows_to_table, split_block, summary_rows, write_part

SUMMARY_SCHEMA = pa.schema(
    [
        ("video_id", pa.string()),
        ("status", pa.string()),
        ("error", pa.string()),
        ("num_frames", pa.int64()),
        ("clips", pa.int64()),
        ("clips_kept", pa.int64()),
        ("part", pa.string()),
    ]
)


class PartWriter:
    """Ray Data stage: writes each batch as one atomic part pair under the workdir."""

    def __init__(self, workdir: str, storage_config: StorageConfig) -> None:
        """Remember where parts go; point this worker's storage at the job's S3 settings."""
        storage.configure(storage_config)
        self._workdir = workdir

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Write the batch (clips first, then videos: the commit); return one row per video."""
        rows = batch.to_pylist()
        videos, clips = split_block(rows)
        pid = write_part(self._workdir, videos, clips)
        report = [{**row, "part": pid} for row in summary_rows(rows)]
        return rows_to_table(report, SUMMARY_SCHEMA)
