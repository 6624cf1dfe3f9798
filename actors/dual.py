"""DualEncoderStage: video embeddings of each video's dual-encoder frames, batched."""

from __future__ import annotations

import pyarrow as pa

from actors._device import assigned_device
from dance import storage
from dance.config import StorageConfig
from dance.encoders import DualEncoder
from dance.preprocess import embed_batch, rows_to_table, with_fields, without


class DualEncoderStage:
    """Ray Data stage (actor pool): adds `dual` (list<float32>), drops the dual frames."""

    def __init__(self, model: str, kind: str, storage_config: StorageConfig) -> None:
        """Load the frozen video-text model (X-CLIP, or CLIP over frames), on Ray's GPU if any."""
        storage.configure(storage_config)
        device = assigned_device()
        self._model = DualEncoder.from_pretrained(model, kind=kind, device=device)  # type: ignore[arg-type]

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Embed every ok video's dual frames; a failing video fails as dual_error."""
        rows = embed_batch(
            batch.to_pylist(),
            self._model.embed_videos,
            "dual_frames",
            "dual_shape",
            "dual",
            "dual_error",
        )
        schema = with_fields(
            without(batch.schema, ["dual_frames", "dual_shape"]), [("dual", pa.list_(pa.float32()))]
        )
        return rows_to_table(rows, schema)
