"""BackboneStage: VideoMAE features of each video's backbone clip, batched across videos."""

from __future__ import annotations

import pyarrow as pa

from actors._device import assigned_device
from dance import storage
from dance.config import StorageConfig
from dance.encoders import VideoBackbone
from dance.preprocess import embed_batch, rows_to_table, with_fields, without


class BackboneStage:
    """Ray Data stage (actor pool): adds `backbone` (list<float32>), drops the clip frames."""

    def __init__(self, model: str, storage_config: StorageConfig) -> None:
        """Load the frozen backbone from a local directory or hub id, on Ray's GPU if any."""
        storage.configure(storage_config)
        self._model = VideoBackbone.from_pretrained(model, device=assigned_device())

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Embed every ok video's backbone frames; a failing video fails as backbone_error."""
        rows = embed_batch(
            batch.to_pylist(),
            self._model.embed,
            "backbone_frames",
            "backbone_shape",
            "backbone",
            "backbone_error",
        )
        schema = with_fields(
            without(batch.schema, ["backbone_frames", "backbone_shape"]),
            [("backbone", pa.list_(pa.float32()))],
        )
        return rows_to_table(rows, schema)
