"""What the preprocess stage record holds: the models it read and the facts later stages need."""

from __future__ import annotations

from typing import Any

import pyarrow.compute as pc

from dance import storage
from dance.config import DanceConfig
from dance.errors import StageError
from dance.pose.skeleton import NUM_COCO17_JOINTS
from dance.preprocess._models import EncoderModels
from dance.preprocess._parts import part_pairs
from dance.workdir import model_reference, require_done


def preprocess_inputs(cfg: DanceConfig, models: EncoderModels) -> dict[str, dict[str, Any]]:
    """The models preprocess loads, each with its content hash (local directories)."""
    inputs: dict[str, dict[str, Any]] = {}
    if models.backbone:
        inputs["backbone"] = model_reference(models.backbone)
    if models.dual:
        inputs["dual_encoder"] = model_reference(models.dual)
    if cfg.pose.backend == "vitpose":
        inputs["pose_model"] = model_reference(cfg.pose.model)
        inputs["person_detector"] = model_reference(cfg.pose.detector)
    return inputs


def _feature_dim(workdir: str, column: str) -> int | None:
    """Length of the first non-null `column` list in the committed videos parts."""
    for videos_uri, _ in part_pairs(workdir):
        values = storage.read_parquet(videos_uri, columns=[column])[column]
        lengths = pc.drop_null(pc.list_value_length(values))
        if len(lengths):
            return int(lengths[0].as_py())
    return None


def preprocess_facts(
    cfg: DanceConfig, models: EncoderModels, inputs: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Facts downstream stages read from the record instead of re-deriving them."""
    workdir = cfg.workdir
    return {
        "clip_length": cfg.clips.clip_length,
        "num_clips": cfg.clips.num_clips,
        "num_joints": NUM_COCO17_JOINTS,
        "pose_layout": "L x 17 x (x, y, score) in image pixels, COCO-17 order",
        "pose_backend": cfg.pose.backend,
        "backbone": None
        if models.backbone is None
        else {**inputs["backbone"], "dim": _feature_dim(workdir, "backbone")},
        "dual_encoder": None
        if models.dual is None
        else {
            **inputs["dual_encoder"],
            "kind": cfg.dual_encoder.kind,
            "dim": _feature_dim(workdir, "dual"),
        },
    }


def recorded_backbone(workdir: str, needed_for: str) -> dict[str, Any]:
    """{"id", "sha256"} of the backbone the finished preprocess record names (made the features).

    A StageError names the command to run when preprocess has not finished or ran
    without a backbone; `needed_for` says in the message why the caller needs one.
    """
    record = require_done(workdir, "preprocess", "dance preprocess --config <config>")
    reference = record.facts.get("backbone") or {}
    if not reference.get("id"):
        raise StageError(
            f"the preprocess record of {workdir} names no backbone (preprocess.enable_backbone "
            f"was off); {needed_for}: enable it and redo `dance preprocess --config <config> "
            "--force`"
        )
    return {"id": str(reference["id"]), "sha256": reference.get("sha256")}
