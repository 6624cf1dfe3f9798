"""From a finished training run to what the train stage leaves behind: the bundle and its report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from dance.concepts import LABELS_SCHEMA
from dance.config import DanceConfig
from dance.manifest import Manifest
from dance.train._data import JoinCounts
from dance.train._fit import TrainProgress
from dance.train._model import DanceModel

# concepts.json type keys -> the bundle's concept types
BUNDLE_TYPES = {"motion": "motion", "object": "objects", "scene": "scenes"}


def probe_labels(manifest: Manifest) -> pa.Table:
    """labels.parquet-shaped rows for a linear probe: splits and classes, no concept labels."""
    count = len(manifest)
    table = manifest.table
    return pa.table(
        {
            "video_id": table["video_id"],
            "split": table["split"],
            "label": table["label"].cast(pa.int32()),
            "motion": pa.array([[] for _ in range(count)], pa.list_(pa.uint8())),
            "motion_known": pa.array(np.zeros(count, dtype=bool)),
            "objects": pa.nulls(count, pa.list_(pa.float32())),
            "scenes": pa.nulls(count, pa.list_(pa.float32())),
        }
    ).cast(LABELS_SCHEMA)


def _sources(index: Mapping[str, Any], motion_concepts: str) -> dict[str, str]:
    """Where each concept type came from, as concepts.json and the train config say."""
    language = str(index.get("language_source") or index.get("source") or "language")
    motion = "pose clusters (FINCH)" if motion_concepts == "clusters" else "language phrases"
    return {"motion": motion, "object": language, "scene": language}


def bundle_from_progress(
    progress: TrainProgress,
    cfg: DanceConfig,
    class_names: Sequence[str],
    concept_index: Mapping[str, Any],
    upstream: Mapping[str, str],
) -> DanceModel:
    """The DanceModel of a finished run, with its config, upstream records and cut reports."""
    if progress.final is None or progress.standardizer is None:
        raise ValueError("training has not finished: no final layer in the progress")
    final = progress.final
    metadata = {
        "config": cfg.model_dump(mode="json"),
        "upstream": dict(upstream),
        "cuts": {kind: result.dropped for kind, result in progress.types.items()},
        "solver": {k: v for k, v in final.to_json().items() if k != "history"},
        "backbone": cfg.backbone.model,
        "dual_encoder": concept_index.get("dual_encoder"),
    }
    linear_probe = cfg.train.variant == "linear_probe"
    return DanceModel(
        kind="linear_probe" if linear_probe else "dance",
        concept_weights={} if linear_probe else {
            kind: result.weight for kind, result in progress.types.items() if result.names
        },
        mean=progress.standardizer.mean,
        std=progress.standardizer.std,
        final_weight=np.asarray(final.W, dtype=np.float32),
        final_bias=np.asarray(final.b, dtype=np.float32),
        concept_names={} if linear_probe else {
            kind: result.names for kind, result in progress.types.items() if result.names
        },
        class_names=list(class_names),
        concept_sources=None if linear_probe else _sources(
            concept_index, cfg.train.motion_concepts
        ),
        metadata=metadata,
    )


@dataclass
class TrainReport:
    """What a train run made: where, on how many videos, concepts kept, the final layer."""

    output: str
    variant: str
    videos: int
    failed_videos: int
    concepts: dict[str, int]
    dropped: dict[str, list[dict[str, Any]]]
    objective: float
    train_acc: float
    kkt_residual: float
    converged: bool
    nonzeros: int
    nonzeros_per_type: dict[str, int]
    seconds: float
    layer_histories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def build(
        cls, progress: TrainProgress, output: str, table: pa.Table, counts: JoinCounts,
        seconds: float, variant: str,
    ) -> TrainReport:
        """The report of a finished run."""
        final = progress.final
        assert final is not None  # the caller checked the run finished
        per_type = {str(k): int(v) for k, v in final.nonzeros_per_type.items()}
        return cls(
            output=output,
            variant=variant,
            videos=table.num_rows,
            failed_videos=counts.failed,
            concepts={kind: len(r.names) for kind, r in progress.types.items()},
            dropped={kind: r.dropped for kind, r in progress.types.items()},
            objective=float(final.objective),
            train_acc=float(final.train_accuracy),
            kkt_residual=float(final.kkt_residual),
            converged=bool(final.converged),
            nonzeros=sum(per_type.values()),
            nonzeros_per_type=per_type,
            seconds=round(seconds, 3),
            layer_histories={kind: r.history for kind, r in progress.types.items()},
        )

    def to_facts(self) -> dict[str, Any]:
        """The train record's facts."""
        return {"report": asdict(self)}

    @classmethod
    def from_facts(cls, facts: Mapping[str, Any]) -> TrainReport:
        """The report a train record holds."""
        return cls(**facts["report"])

    def counts(self) -> dict[str, int]:
        """The train record's counts."""
        return {"videos": self.videos, "failed_videos": self.failed_videos,
                **{f"concepts_{k}": v for k, v in self.concepts.items()}}

    def describe(self) -> str:
        """A few lines for the console."""
        kept = ", ".join(f"{k} {v}" for k, v in self.concepts.items()) or "backbone features"
        cut = sum(len(v) for v in self.dropped.values())
        return (
            f"trained {self.variant} on {self.videos} videos ({self.failed_videos} failed in "
            f"preprocessing) in {self.seconds:.1f} s\n"
            f"concepts kept: {kept} ({cut} dropped by the cuts)\n"
            f"final layer: objective {self.objective:.6g}, KKT residual {self.kkt_residual:.2g}"
            f"{'' if self.converged else ' (NOT converged: raise train.proximal_max_iter)'}, "
            f"train accuracy {self.train_acc:.3f}, {self.nonzeros} non-zero weights "
            f"({', '.join(f'{k} {v}' for k, v in self.nonzeros_per_type.items())})\n"
            f"model bundle: {self.output}"
        )
