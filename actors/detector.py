"""ConceptBoxStage: each video's concept-clip window and its boxes (ground truth or RT-DETR)."""

from __future__ import annotations

import pyarrow as pa

from actors._device import assigned_device
from dance import storage
from dance.config import StorageConfig
from dance.posthoc import ObjectDetector, boxes_from_json, locate_concepts

LOCATED_SCHEMA = pa.schema([
    ("video_id", pa.string()), ("uri", pa.string()), ("label", pa.string()),
    ("status", pa.string()), ("error", pa.string()), ("num_frames", pa.int64()),
    ("height", pa.int64()), ("width", pa.int64()), ("window", pa.list_(pa.int64())),
    ("boxes", pa.string()),
])  # fmt: skip


class ConceptBoxStage:
    """Ray Data stage (actor pool): (video_id, uri, label, truth) -> window and boxes per video.

    `detector` is None where the items carry ground-truth boxes (JSON, `truth`); else the
    RT-DETR is loaded once per actor, on Ray's GPU if any.
    """

    def __init__(
        self, detector: str | None, threshold: float, length: int, seed: int,
        storage_config: StorageConfig,
    ) -> None:  # fmt: skip
        """Point storage at the job's S3 settings; load the detector once, if one is used."""
        storage.configure(storage_config)
        self._detector = (
            None if detector is None
            else ObjectDetector.from_pretrained(detector, assigned_device(), threshold)
        )  # fmt: skip
        self._length, self._seed = length, seed

    def __call__(self, batch: pa.Table) -> pa.Table:
        """One located row per video (failed rows carry their reason)."""
        rows = []
        for item in batch.to_pylist():
            truth = boxes_from_json(item["truth"]) if item.get("truth") else None
            row = locate_concepts(item["video_id"], item["uri"], item["label"], truth,
                                  self._detector, self._length, self._seed)  # fmt: skip
            rows.append({**row, "uri": item["uri"]})
        return pa.Table.from_pylist(rows, schema=LOCATED_SCHEMA)
