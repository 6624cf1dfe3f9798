"""What predicting with a bundle needs besides its tensors: its config, backbone and decode plan.

The bundle's metadata holds the config it was trained with; the backbone is the one the
preprocess stage record names (checked by content hash), so new videos get their
features from the very model and decode plan that made the training features.
"""

from __future__ import annotations

import os
from dataclasses import replace

from pydantic import ValidationError

from dance import storage
from dance.config import DanceConfig, explain_validation_error
from dance.encoders import is_model_directory
from dance.errors import DanceError, InputError
from dance.preprocess import DecodePlan, EncoderModels, model_input_side
from dance.progress import Log
from dance.train import DanceModel
from dance.workdir import path_sha256, read_record, record_uri
from ray_jobs._runtime import with_absolute_paths
from ray_jobs.preprocess import decode_plan


def bundle_config(model: DanceModel, model_dir: str) -> DanceConfig:
    """The config the bundle was trained with (metadata["config"]), validated."""
    raw = model.metadata.get("config")
    if not isinstance(raw, dict):
        raise InputError(
            f"the model bundle {model_dir} has no training config in its metadata "
            "(metadata['config']), and predict rebuilds the preprocessing from it; use a "
            "bundle written by `dance train` (<workdir>/model)"
        )
    try:
        return with_absolute_paths(DanceConfig.model_validate(raw))
    except ValidationError as err:
        raise explain_validation_error(
            DanceConfig, err, f"the training config in {model_dir}"
        ) from None


def is_hub_id(name: str) -> bool:
    """True for a hub id: not s3, not absolute (jobs make local model paths absolute)."""
    return not (storage.is_s3(name) or os.path.isabs(name) or os.path.exists(name))


def _moved_with(path: str, old_workdir: str, workdir: str) -> str:
    """`path` under `workdir` when it lay under the workdir's old place and is gone there."""
    prefix = old_workdir.rstrip("/") + "/"
    if workdir == old_workdir or not path.startswith(prefix) or storage.exists(path):
        return path
    return storage.join(workdir, path[len(prefix):])


def find_backbone(cfg: DanceConfig, model: DanceModel, model_dir: str, log: Log) -> str:
    """The backbone that made the training features: the preprocess record's, checked by hash.

    The record of the workdir the config names is read first, then that of the folder
    holding the bundle (a workdir moved as a whole, its models with it); without either,
    backbone.model when it is a local directory, or a hub id the preprocess job would
    have loaded as is.
    """
    looked: list[str] = []
    workdirs = dict.fromkeys([cfg.workdir, storage.parent(model_dir.rstrip("/"))])
    for workdir in workdirs:
        try:
            record = read_record(workdir, "preprocess")
        except DanceError as err:  # a damaged record names itself; look further
            looked.append(str(err))
            continue
        if record is None:
            looked.append(f"{record_uri(workdir, 'preprocess')} (no such record)")
            continue
        reference = record.facts.get("backbone") or {}
        candidate = reference.get("id")
        if not candidate:
            looked.append(f"{record_uri(workdir, 'preprocess')} (names no backbone)")
            continue
        trained_on = (model.metadata.get("upstream") or {}).get("preprocess")
        if trained_on and trained_on != record.identity:
            log(f"note: the preprocess record in {workdir} is not the one this model was "
                "trained on (preprocess was redone since); using its backbone all the same")
        if is_hub_id(candidate):
            return candidate
        candidate = _moved_with(candidate, cfg.workdir, workdir)
        if not storage.exists(candidate):
            looked.append(f"{candidate} (named by {record_uri(workdir, 'preprocess')}; missing)")
            continue
        expected = reference.get("sha256")
        if expected and path_sha256(candidate) != expected:
            looked.append(f"{candidate} (its files changed since preprocessing: sha256 differs "
                          f"from {record_uri(workdir, 'preprocess')})")
            continue
        return candidate
    configured = cfg.backbone.model
    fallback = cfg.preprocess.tiny_model_fallback
    # resolve_encoder_models loads a non-directory as a hub id unless the tiny stand-in is on
    stand_in = cfg.dataset.name == "synth" if fallback is None else fallback
    if is_model_directory(configured) or (is_hub_id(configured) and not stand_in):
        return configured
    looked.append(f"{configured} (backbone.model in the bundle's config; not a directory)")
    raise InputError(
        f"cannot find the backbone whose features the model {model_dir} was trained on; "
        "looked for: " + "; ".join(looked) + ". Pass --backbone DIR: the VideoMAE directory "
        "`dance preprocess` used (<workdir>/backbone from `dance finetune-backbone`, or "
        "<workdir>/models/tiny_videomae on an offline DANCE-Synth run), or restore it"
    )


def predict_plan(cfg: DanceConfig, backbone: str) -> DecodePlan:
    """The preprocess job's decode plan for this config, backbone frames only."""
    side = model_input_side(backbone, cfg.preprocess.encoder_frame_side)
    models = EncoderModels(backbone=backbone, dual=None, backbone_side=side, dual_side=None)
    # No pose frames, so nothing spills: the training machine's spill_dir may not exist here;
    # no keyframes either: the model reads backbone features only.
    return replace(decode_plan(cfg, models), pose_frames=False, find_keyframes=False,
                   spill_dir=None)
