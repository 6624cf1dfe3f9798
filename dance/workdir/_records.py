"""Stage records: what made a stage's outputs, written when the stage starts and finishes.

A record holds the stage's fingerprint (a hash of exactly the config keys it depends on,
see _stage_keys.py), those keys and values, its inputs with content hashes (models, the
manifest), the identities of the upstream records it read, facts later stages need (clip
length, feature dimensions, the encoders used), counts, wall time and the package version.
Its `identity` hashes fingerprint, inputs and upstream together: a downstream record
stores it, so a redone upstream stage makes everything below it stale.
"""

from __future__ import annotations

import os
import socket
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import dance
from dance import storage
from dance.errors import StageError
from dance.workdir._hashing import json_sha256
from dance.workdir._layout import record_uri

RECORD_FORMAT = "dance.stage.v1"


@dataclass
class StageRecord:
    """One stage's record (<workdir>/stages/<stage>.json)."""

    stage: str
    status: str  # "running" while the stage works, "done" once its outputs are complete
    fingerprint: str
    config: dict[str, Any]
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    upstream: dict[str, str] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None
    started_at: str = ""
    finished_at: str | None = None
    host: str = ""
    pid: int = 0
    dance_version: str = dance.__version__
    format: str = RECORD_FORMAT

    @property
    def identity(self) -> str:
        """Hash of fingerprint, inputs and upstream identities: what downstream records store."""
        return json_sha256(
            {"fingerprint": self.fingerprint, "inputs": self.inputs, "upstream": self.upstream}
        )

    @property
    def done(self) -> bool:
        """True once the stage finished and its outputs are complete."""
        return self.status == "done"

    def to_dict(self) -> dict[str, Any]:
        """The JSON document written to the workdir (identity included for readers)."""
        return {**asdict(self), "identity": self.identity}


def new_record(
    stage: str,
    config: dict[str, Any],
    inputs: dict[str, dict[str, Any]],
    upstream: dict[str, str],
) -> StageRecord:
    """A running record for a stage that starts now."""
    return StageRecord(
        stage=stage,
        status="running",
        fingerprint=json_sha256(config),
        config=config,
        inputs=inputs,
        upstream=upstream,
        started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        host=socket.gethostname(),
        pid=os.getpid(),
    )


def write_record(workdir: str, record: StageRecord) -> None:
    """Write a record atomically to <workdir>/stages/<stage>.json."""
    storage.write_json(record.to_dict(), record_uri(workdir, record.stage))


def read_record(workdir: str, stage: str) -> StageRecord | None:
    """The stage's record, or None when the stage never started in this workdir."""
    uri = record_uri(workdir, stage)
    if not storage.exists(uri):
        return None
    data = storage.read_json(uri)
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
        raise StageError(
            f"{uri} is not a dance stage record ({RECORD_FORMAT}); delete it, or redo the "
            f"stage with `--force`"
        )
    data.pop("identity", None)
    try:
        return StageRecord(**data)
    except TypeError as err:
        raise StageError(
            f"{uri} is a damaged stage record ({err}); redo the stage with `--force`"
        ) from None


def require_done(workdir: str, stage: str, command: str | None = None) -> StageRecord:
    """The finished record of `stage`, or a StageError saying which command makes it."""
    record = read_record(workdir, stage)
    how = command or f"dance {stage} --config <your config>"
    if record is None:
        raise StageError(f"no {stage} outputs in {workdir}; run `{how}` first")
    if not record.done:
        raise StageError(
            f"the {stage} stage in {workdir} has not finished (started {record.started_at} "
            f"on {record.host}, pid {record.pid}); run `{how}` again to finish it"
        )
    return record
