"""KTH human actions (Schuldt et al. 2004) with the standard person-based split.

Layout: ``root/personNN_<action>_dN_uncomp.avi`` or ``root/<action>/personNN_...avi``.
Persons 11-18 (train) and 19, 20, 21, 23, 24, 25, 01, 04 (the paper's validation persons) are
"train" here (val is carved later); persons 22, 02, 03, 05-10 are "test". video_id is the file
stem. With ``subsequences=True`` each file yields one row per subsequence listed in
``root/00sequences.txt`` (video_id ``<stem>_s<K>``, extra columns ``start_frame`` inclusive
and ``end_frame`` exclusive, 0-based); that is how the KTH-5 counts in docs/method.md section 9
(1272 train / 719 test) are counted, while one row per file gives 320 / 180 minus missing files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dance.datasets._common import (
    DatasetPath,
    dataset_root,
    files_with_suffix,
    listing,
    read_text,
    visible_dirs,
)
from dance.manifest import Manifest, ManifestError, ManifestRecord

KTH_ACTIONS = ("walking", "jogging", "running", "boxing", "handwaving", "handclapping")
KTH5_ACTIONS = ("walking", "running", "boxing", "handwaving", "handclapping")
KTH_TRAIN_PERSONS = frozenset({11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 24, 25, 1, 4})
KTH_TEST_PERSONS = frozenset({22, 2, 3, 5, 6, 7, 8, 9, 10})

_FILE_STEM = re.compile(r"^person(?P<person>\d{2})_(?P<action>[a-z]+)_d(?P<scenario>[1-4])_uncomp$")
_SEQUENCE_LINE = re.compile(r"^(?P<name>person\d{2}_[a-z]+_d[1-4])\s+frames\s+(?P<ranges>.*)$")
_RANGE = re.compile(r"(\d+)\s*-\s*(\d+)")
_EXPECTED = "personNN_<action>_dN_uncomp.avi files (directly or in <action>/ folders) there"


def kth_manifest(
    root: str, actions: Sequence[str] | None = None, subsequences: bool = False
) -> Manifest:
    """KTH (all six actions, or ``actions``) with the person split; files or subsequences."""
    selected = _selected_actions(actions)
    base = dataset_root(root, "KTH", _EXPECTED)
    files = files_with_suffix(base, (".avi",))
    for folder in visible_dirs(base):
        files.extend(files_with_suffix(folder, (".avi",)))
    unparsed = [path.name for path in files if not _FILE_STEM.match(path.stem)]
    if unparsed:
        raise ManifestError(
            f"KTH: file name(s) not in the KTH pattern under {str(base)!r}: {listing(unparsed)}; "
            "expected personNN_<action>_dN_uncomp.avi"
        )
    parsed = [(path, _FILE_STEM.match(path.stem)) for path in files]
    unknown_actions = sorted({m["action"] for _, m in parsed if m["action"] not in KTH_ACTIONS})
    unknown_persons = sorted({m["person"] for _, m in parsed} - {
        f"{p:02d}" for p in KTH_TRAIN_PERSONS | KTH_TEST_PERSONS
    })
    if unknown_actions or unknown_persons:
        raise ManifestError(
            f"KTH: unknown action(s) {unknown_actions} / person(s) {unknown_persons} under "
            f"{str(base)!r}; KTH has persons 01-25 and actions {', '.join(KTH_ACTIONS)}"
        )
    parsed = [(path, m) for path, m in parsed if m["action"] in selected]
    if not parsed:
        raise ManifestError(
            f"KTH: no videos of {', '.join(selected)} under {str(base)!r}; expected {_EXPECTED}"
        )
    sequences = _read_sequences(base) if subsequences else None
    records: list[ManifestRecord] = []
    starts: list[int] = []
    ends: list[int] = []
    without_sequences: list[str] = []
    for path, match in parsed:
        split = "train" if int(match["person"]) in KTH_TRAIN_PERSONS else "test"
        if sequences is None:
            records.append(ManifestRecord(path.stem, str(path), match["action"], split))
            continue
        ranges = sequences.get(path.stem.removesuffix("_uncomp"))
        if not ranges:
            without_sequences.append(path.name)
            continue
        for number, (start, end) in enumerate(ranges, 1):
            records.append(
                ManifestRecord(f"{path.stem}_s{number}", str(path), match["action"], split)
            )
            starts.append(start)
            ends.append(end)
    if without_sequences:
        raise ManifestError(
            f"KTH: 00sequences.txt has no frame ranges for {listing(without_sequences)}; "
            "use the sequence file from the KTH release, or subsequences=False"
        )
    extra = {"start_frame": starts, "end_frame": ends} if sequences is not None else None
    return Manifest.from_records(records, class_names=sorted(selected), extra=extra)


def _selected_actions(actions: Sequence[str] | None) -> tuple[str, ...]:
    """The requested actions, checked against KTH's six."""
    if actions is None:
        return KTH_ACTIONS
    if isinstance(actions, str):
        raise ManifestError(f"actions must be a list of KTH actions, got the string {actions!r}")
    unknown = sorted(set(actions) - set(KTH_ACTIONS))
    if unknown or not actions:
        raise ManifestError(
            f"unknown KTH action(s) {unknown or '(empty list)'}; choose from "
            f"{', '.join(KTH_ACTIONS)} (KTH-5: {', '.join(KTH5_ACTIONS)})"
        )
    return tuple(dict.fromkeys(actions))


def _read_sequences(base: DatasetPath) -> dict[str, list[tuple[int, int]]]:
    """'personNN_action_dN' -> [(start, end)] 0-based half-open, from 00sequences.txt."""
    path = base / "00sequences.txt"
    sequences: dict[str, list[tuple[int, int]]] = {}
    for number, line in enumerate(read_text(str(path), "KTH 00sequences.txt").split("\n"), 1):
        match = _SEQUENCE_LINE.match(line.strip())
        if match is None:
            continue  # header and blank lines
        ranges = [(int(a), int(b)) for a, b in _RANGE.findall(match["ranges"])]
        if any(start < 1 or end < start for start, end in ranges):
            raise ManifestError(f"{path}:{number}: bad frame range in {line.strip()!r}")
        # The file counts frames from 1, inclusive at both ends.
        sequences[match["name"]] = [(start - 1, end) for start, end in ranges]
    if not sequences:
        raise ManifestError(f"{path} has no 'personNN_action_dN  frames  a-b, ...' lines")
    return sequences
