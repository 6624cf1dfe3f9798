"""The workdir contract: where each stage writes, and the record of what made its outputs.

Every stage writes `<workdir>/stages/<stage>.json` when it starts and when it finishes.
Later stages read facts (clip length, feature dimensions, the encoders used) from those
records instead of re-deriving them, and a stage whose record no longer matches the
config is stale. docs/workdir.md describes the layout and the records for users.
"""

from dance.workdir._hashing import json_sha256, model_reference, path_sha256, rows_sha256
from dance.workdir._layout import (
    STAGE_OUTPUTS,
    SUGGESTED_EDIT,
    backbone_dir,
    clips_dir,
    concepts_dir,
    dual_corpus_dir,
    dual_encoder_dir,
    dual_training_dir,
    finetune_state_dir,
    lock_uri,
    manifest_uri,
    model_dir,
    model_edits_dir,
    record_uri,
    reports_dir,
    reversed_workdir,
    shifted_workdir,
    summary_uri,
    training_state_dir,
    videos_dir,
)
from dance.workdir._lock import (
    LockHolder,
    WorkdirBusyError,
    WorkdirLock,
    acquire_workdir_lock,
    lock_for_config,
    ray_job_id,
)
from dance.workdir._records import StageRecord, read_record, require_done, write_record
from dance.workdir._stage_keys import STAGE_KEYS, changed_keys, flatten, stage_config
from dance.workdir._stage_run import (
    RESUMABLE_STAGES,
    StagePlan,
    StageRun,
    begin_stage,
    current_record,
    describe_changes,
    remove_stage_outputs,
    stage_outputs_exist,
)

__all__ = [
    "RESUMABLE_STAGES",
    "STAGE_KEYS",
    "STAGE_OUTPUTS",
    "SUGGESTED_EDIT",
    "LockHolder",
    "StagePlan",
    "StageRecord",
    "StageRun",
    "WorkdirBusyError",
    "WorkdirLock",
    "acquire_workdir_lock",
    "backbone_dir",
    "begin_stage",
    "changed_keys",
    "clips_dir",
    "concepts_dir",
    "current_record",
    "describe_changes",
    "dual_corpus_dir",
    "dual_encoder_dir",
    "dual_training_dir",
    "finetune_state_dir",
    "flatten",
    "json_sha256",
    "lock_for_config",
    "lock_uri",
    "manifest_uri",
    "model_dir",
    "model_edits_dir",
    "model_reference",
    "path_sha256",
    "ray_job_id",
    "read_record",
    "record_uri",
    "remove_stage_outputs",
    "reports_dir",
    "require_done",
    "reversed_workdir",
    "rows_sha256",
    "shifted_workdir",
    "stage_config",
    "stage_outputs_exist",
    "summary_uri",
    "training_state_dir",
    "videos_dir",
    "write_record",
]
