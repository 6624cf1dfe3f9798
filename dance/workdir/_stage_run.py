"""Starting and finishing a stage against its record: done, stale, resume or refuse.

    run = begin_stage(workdir, "preprocess", cfg_json, inputs=..., upstream=[...], force=...)
    ...                                  # the stage's work
    run.finish(facts={...}, counts={...})

A stage that resumes partial work (preprocess, finetune) refuses to continue when its
record was made by another config, models or upstream outputs: the new outputs would mix
with the old. The error names what changed and how to redo the stage (`--force`, which
removes the stage's outputs first). A stage that rewrites its outputs whole (manifest,
discover) replaces them and logs what changed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from dance import storage
from dance.errors import StageError
from dance.progress import Log, log_to_stderr
from dance.workdir._layout import STAGE_OUTPUTS, record_uri
from dance.workdir._records import StageRecord, new_record, read_record, require_done, write_record
from dance.workdir._stage_keys import RESUME_COMPATIBLE_KEYS, changed_keys, stage_config

RESUMABLE_STAGES = frozenset({"finetune", "dual_encoder", "preprocess"})


@dataclass(frozen=True)
class StagePlan:
    """What a stage reads besides its config keys: inputs with content hashes, upstream stages.

    Each job computes its plan with one function, used both to start the stage and by
    `dance run` to tell whether the stage is already done for this config.
    """

    inputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    upstream: tuple[str, ...] = ()


def _short(digest: str | None) -> str:
    return "none" if digest is None else digest[:12]


def _describe_input(ref: Mapping[str, Any]) -> str:
    """'ID (sha256 0123456789ab)', or the input's other facts when it has no hash."""
    facts = {key: value for key, value in ref.items() if key != "id"}
    if "sha256" in facts or not facts:
        return f"{ref.get('id')} (sha256 {_short(facts.get('sha256'))})"
    return f"{ref.get('id')} ({', '.join(f'{key} {value}' for key, value in facts.items())})"


def describe_changes(old: StageRecord, new: StageRecord) -> list[str]:
    """What differs between two records of one stage: config keys, inputs, upstream stages."""
    lines = changed_keys(old.config, new.config)
    for name in sorted(set(old.inputs) | set(new.inputs)):
        before, after = old.inputs.get(name), new.inputs.get(name)
        if before != after:
            shown = ["(none)" if ref is None else _describe_input(ref) for ref in (before, after)]
            lines.append(f"input {name}: {shown[0]} -> {shown[1]}")
    for name in sorted(set(old.upstream) | set(new.upstream)):
        if old.upstream.get(name) != new.upstream.get(name):
            lines.append(f"upstream stage {name} was redone since")
    return lines


def _resume_compatible(stage: str, old: StageRecord, new: StageRecord) -> bool:
    """True when only keys that allow continuing (e.g. more epochs) changed."""
    allowed = RESUME_COMPATIBLE_KEYS.get(stage, ())
    keys = {k for k in set(old.config) | set(new.config) if old.config.get(k) != new.config.get(k)}
    return (
        old.inputs == new.inputs
        and old.upstream == new.upstream
        and all(k in allowed for k in keys)
    )


def stage_outputs_exist(workdir: str, stage: str) -> bool:
    """True if any of the stage's output paths exists in the workdir."""
    return any(storage.exists(storage.join(workdir, p)) for p in STAGE_OUTPUTS[stage])


def remove_stage_outputs(workdir: str, stage: str) -> None:
    """Delete the stage's outputs and its record."""
    for path in STAGE_OUTPUTS[stage]:
        storage.remove(storage.join(workdir, path))
    storage.remove(record_uri(workdir, stage))


@dataclass
class StageRun:
    """A stage in progress: its running record, finished with facts and counts."""

    workdir: str
    record: StageRecord
    previous: StageRecord | None = None
    _started: float = field(default_factory=time.perf_counter)

    @property
    def unchanged(self) -> bool:
        """True when a finished record with the same identity existed before this run."""
        return (
            self.previous is not None
            and self.previous.done
            and self.previous.identity == self.record.identity
        )

    def finish(
        self, facts: Mapping[str, Any] | None = None, counts: Mapping[str, Any] | None = None
    ) -> StageRecord:
        """Mark the stage done, recording facts for later stages, counts and wall time."""
        self.record.status = "done"
        self.record.facts = dict(facts or {})
        self.record.counts = dict(counts or {})
        self.record.seconds = round(time.perf_counter() - self._started, 3)
        self.record.finished_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        write_record(self.workdir, self.record)
        return self.record


def _planned_record(
    workdir: str,
    stage: str,
    config: Mapping[str, Any],
    inputs: Mapping[str, Mapping[str, Any]] | None,
    upstream: Sequence[str],
) -> StageRecord:
    """The running record this config would start with (upstream stages must be done)."""
    return new_record(
        stage,
        stage_config(stage, config),
        {k: dict(v) for k, v in (inputs or {}).items()},
        {name: require_done(workdir, name).identity for name in upstream},
    )


def current_record(
    workdir: str,
    stage: str,
    config: Mapping[str, Any],
    *,
    inputs: Mapping[str, Mapping[str, Any]] | None = None,
    upstream: Sequence[str] = (),
) -> StageRecord | None:
    """The stage's finished record when it matches this config, inputs and upstreams, else None.

    A stage whose current record is found is done: a caller may skip it.
    """
    previous = read_record(workdir, stage)
    if previous is None or not previous.done:
        return None
    try:
        wanted = _planned_record(workdir, stage, config, inputs, upstream)
    except StageError:  # an upstream stage is missing or unfinished
        return None
    return previous if previous.identity == wanted.identity else None


def begin_stage(
    workdir: str,
    stage: str,
    config: Mapping[str, Any],
    *,
    inputs: Mapping[str, Mapping[str, Any]] | None = None,
    upstream: Sequence[str] = (),
    force: bool = False,
    log: Log = log_to_stderr,
    command: str | None = None,
) -> StageRun:
    """Check the stage's record against this config and start it (see the module docstring).

    `config` is the whole config dumped as JSON (DanceConfig.model_dump(mode="json")); the
    record keeps only the keys the stage depends on. `upstream` stages must have finished.
    """
    how = command or f"dance {stage} --config <your config>"
    record = _planned_record(workdir, stage, config, inputs, upstream)
    previous = read_record(workdir, stage)
    if force:
        if previous is not None or stage_outputs_exist(workdir, stage):
            log(f"{stage}: --force: removing its outputs in {workdir} and redoing it")
        remove_stage_outputs(workdir, stage)
        previous = None
    elif previous is None:
        if stage in RESUMABLE_STAGES and stage_outputs_exist(workdir, stage):
            raise StageError(
                f"{workdir} holds {stage} outputs without a stage record (written by an "
                f"older dance or by hand), so they cannot be resumed safely; redo them with "
                f"`{how} --force`, or use another workdir"
            )
    elif previous.identity != record.identity:
        changes = describe_changes(previous, record)
        shown = "; ".join(changes)
        if stage in RESUMABLE_STAGES and not _resume_compatible(stage, previous, record):
            raise StageError(
                f"the {stage} outputs in {workdir} were made with a different setup, and "
                f"resuming would mix the two: {shown}. Redo the stage with `{how} --force` "
                "(removes its outputs first), restore the old values, or use another workdir"
            )
        elif stage in RESUMABLE_STAGES:
            log(f"{stage}: continuing the previous run with {shown}")
        else:
            log(f"{stage}: replacing outputs made with a different setup ({shown})")
    write_record(workdir, record)
    return StageRun(workdir=workdir, record=record, previous=previous)
