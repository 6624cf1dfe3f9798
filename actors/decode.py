"""DecodeStage: each video decoded once, streaming; emits what the later stages need."""

from __future__ import annotations

import pyarrow as pa

from dance import storage
from dance.config import StorageConfig
from dance.preprocess import DECODED_SCHEMA, DecodePlan, decode_video, failed_row, rows_to_table


class DecodeStage:
    """Ray Data stage: (video_id, uri) rows in, DECODED_SCHEMA rows out, one per video."""

    def __init__(self, plan: DecodePlan, storage_config: StorageConfig) -> None:
        """Keep the decode plan; point this worker's storage at the job's S3 settings."""
        storage.configure(storage_config)
        self._plan = plan

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Decode every video of the batch; a video that fails becomes a failed row."""
        rows = []
        for item in batch.select(["video_id", "uri"]).to_pylist():
            try:
                rows.append(decode_video(item["video_id"], item["uri"], self._plan))
            except Exception as exc:  # noqa: BLE001 - an unexpected decoder error fails one video
                rows.append(
                    failed_row(item["video_id"], "unreadable", f"{type(exc).__name__}: {exc}")
                )
        return rows_to_table(rows, DECODED_SCHEMA)
