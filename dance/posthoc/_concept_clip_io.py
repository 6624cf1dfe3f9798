"""Concept clips on disk: what `dance concept-clips` writes and `read_concept_clips` gives back.

    <workdir>/posthoc/concept_clips/
        clips/part-NNNNN.parquet   one row per clip: video_id, label, group, concept, kind,
                                   index, clip (npy bytes of (L, S, S, 3) uint8)
        status.parquet             one row per video of the split: video_id, label, status
                                   (ok | failed | unused), error, clips

Groups are person, object, scene (concept clips) and random (TCAV's random sets, concepts
random_00, random_01, ...; `index` is a clip's place in its set). Every file is written
atomically; the stage record (<workdir>/stages/concept_clips.json) says when they are
complete and holds the facts (box source, detector, clip length L and size S, counts).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dance import storage
from dance.workdir import concept_clips_dir, require_done

RANDOM = "random"
CLIPS_DIR = "clips"
STATUS_FILE = "status.parquet"
CLIPS_SCHEMA = pa.schema([
    ("video_id", pa.string()), ("label", pa.string()), ("group", pa.string()),
    ("concept", pa.string()), ("kind", pa.string()), ("index", pa.int32()),
    ("clip", pa.binary()),
])  # fmt: skip
STATUS_SCHEMA = pa.schema([
    ("video_id", pa.string()), ("label", pa.string()), ("status", pa.string()),
    ("error", pa.string()), ("clips", pa.int64()),
])  # fmt: skip
_COMMAND = "dance concept-clips --config <config>"


def random_set_name(index: int) -> str:
    """The concept name of random set `index`: random_00, random_01, ..."""
    return f"{RANDOM}_{index:02d}"


def clips_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Clip rows (dicts with the CLIPS_SCHEMA columns) as a table."""
    return pa.Table.from_pylist([{k: row.get(k) for k in CLIPS_SCHEMA.names} for row in rows],
                                schema=CLIPS_SCHEMA)  # fmt: skip


def write_clips_part(out_dir: str, table: pa.Table, part: int) -> str:
    """Write one part of clip rows atomically; return its URI."""
    uri = storage.join(out_dir, CLIPS_DIR, f"part-{part:05d}.parquet")
    storage.write_parquet(table.cast(CLIPS_SCHEMA), uri)
    return uri


def write_status(out_dir: str, rows: Iterable[Mapping[str, Any]]) -> None:
    """Write the per-video status table atomically, sorted by video_id."""
    table = pa.Table.from_pylist(
        [{k: row.get(k) for k in STATUS_SCHEMA.names} for row in rows], schema=STATUS_SCHEMA
    )
    storage.write_parquet(table.sort_by("video_id"), storage.join(out_dir, STATUS_FILE))


def _clip(data: bytes) -> np.ndarray:
    """One clip's npy bytes as its (L, S, S, 3) uint8 array (never unpickled)."""
    return np.load(io.BytesIO(data), allow_pickle=False)


@dataclass(frozen=True)
class ConceptClips:
    """The concept clips of a workdir: clip rows, the per-video status and the stage's facts."""

    table: pa.Table  # CLIPS_SCHEMA rows, sorted by group, concept, video_id, index
    status: pa.Table  # STATUS_SCHEMA rows, sorted by video_id
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def length(self) -> int:
        """L: frames per clip (the backbone's clip length)."""
        return int(self.facts["length"])

    @property
    def size(self) -> int:
        """S: the clips' side in pixels (the backbone's input size)."""
        return int(self.facts["size"])

    @property
    def failed(self) -> dict[str, str]:
        """video_id -> reason, for every video that gave no clips because it failed."""
        rows = self.status.filter(pc.equal(self.status["status"], "failed")).to_pylist()
        return {row["video_id"]: row["error"] or "" for row in rows}

    def _rows(self, random: bool) -> pa.Table:
        """The clip rows of the random sets, or of the concept groups."""
        mask = pc.equal(self.table["group"], RANDOM)
        return self.table.filter(mask if random else pc.invert(mask))

    def groups(self) -> dict[str, dict[str, list[np.ndarray]]]:
        """{group: {concept: clips}}, groups and concepts sorted, clips sorted by video_id."""
        out: dict[str, dict[str, list[np.ndarray]]] = {}
        rows = self._rows(random=False)
        for group, concept, data in zip(rows["group"].to_pylist(), rows["concept"].to_pylist(),
                                        rows["clip"].to_pylist(), strict=True):  # fmt: skip
            out.setdefault(group, {}).setdefault(concept, []).append(_clip(data))
        return out

    def labels(self) -> dict[str, dict[str, list[str]]]:
        """{group: {concept: the class name of each clip's source video}}, as groups() orders."""
        out: dict[str, dict[str, list[str]]] = {}
        rows = self._rows(random=False)
        for group, concept, label in zip(rows["group"].to_pylist(), rows["concept"].to_pylist(),
                                         rows["label"].to_pylist(), strict=True):  # fmt: skip
            out.setdefault(group, {}).setdefault(concept, []).append(label)
        return out

    def kinds(self) -> dict[tuple[str, str], str]:
        """(group, concept) -> "spatial" or "spatiotemporal", for every concept of groups()."""
        rows = self._rows(random=False)
        return {
            (group, concept): kind
            for group, concept, kind in zip(rows["group"].to_pylist(),
                                            rows["concept"].to_pylist(),
                                            rows["kind"].to_pylist(), strict=True)
        }  # fmt: skip

    def random_sets(self) -> list[list[np.ndarray]]:
        """TCAV's random concept sets, random_00 first, each's clips by video_id and index."""
        sets: dict[str, list[np.ndarray]] = {}
        rows = self._rows(random=True)
        for concept, data in zip(rows["concept"].to_pylist(), rows["clip"].to_pylist(),
                                 strict=True):  # fmt: skip
            sets.setdefault(concept, []).append(_clip(data))
        return [sets[name] for name in sorted(sets)]


def read_concept_clips(workdir: str) -> ConceptClips:
    """The finished concept-clips stage of a workdir (StageError when it is missing or unfinished)."""
    record = require_done(workdir, "concept_clips", _COMMAND)
    out_dir = concept_clips_dir(workdir)
    clips_uri = storage.join(out_dir, CLIPS_DIR)
    table = (
        storage.read_parquet(clips_uri).cast(CLIPS_SCHEMA)
        if storage.list_files(clips_uri, ".parquet")
        else CLIPS_SCHEMA.empty_table()
    )
    table = table.sort_by([("group", "ascending"), ("concept", "ascending"),
                           ("video_id", "ascending"), ("index", "ascending")])  # fmt: skip
    status = storage.read_parquet(storage.join(out_dir, STATUS_FILE)).cast(STATUS_SCHEMA)
    return ConceptClips(table, status.sort_by("video_id"), dict(record.facts))
