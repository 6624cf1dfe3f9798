"""Kinetics (400/600/700) from the official CSVs and a folder of downloaded clips.

CSV columns ``label,youtube_id,time_start,time_end,split``. video_id is
``{youtube_id}_{time_start:06d}_{time_end:06d}``, the name the standard downloader gives each
clip; the clip is ``videos_root/<label>/<video_id>.mp4`` (label as written, or with spaces as
underscores) or ``videos_root/<video_id>.mp4``. Kinetics' "validate"/"val" split is the split
papers report, so it becomes our "test"; Kinetics' unlabeled "test" is also "test". Class
names are the sorted labels of every row in the given CSVs, so manifests built from
train.csv and validate.csv separately share one label space.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.csv as pacsv

from dance import storage
from dance.datasets._common import (
    dataset_root,
    files_with_suffix,
    listing,
    log,
    missing_videos_error,
    visible_dirs,
)
from dance.manifest import Manifest, ManifestError, ManifestRecord

KINETICS_SPLITS = {"train": "train", "validate": "test", "val": "test", "test": "test"}
_SAME_SPLIT = {"validate": "val"}  # two spellings of one Kinetics split
_REQUIRED = ("label", "youtube_id", "time_start", "time_end")


def kinetics_manifest(
    csv_uri: str | Sequence[str],
    videos_root: str,
    split: str | None = None,
    skip_missing: bool = False,
) -> Manifest:
    """Kinetics rows whose clip exists under videos_root; ``split`` keeps one CSV split.

    ``split`` (train, validate/val or test) keeps only the rows of that Kinetics split; it is
    required when a CSV has no split column, and then names the split of all its rows.
    Missing clips are one error listing them, unless ``skip_missing`` (then logged).
    """
    csv_uris = [csv_uri] if isinstance(csv_uri, str) else list(csv_uri)
    if not csv_uris:
        raise ManifestError("kinetics_manifest needs at least one CSV uri")
    if split is not None and split not in KINETICS_SPLITS:
        raise ManifestError(
            f"Kinetics split {split!r} is not one of {', '.join(KINETICS_SPLITS)}"
        )
    rows: list[dict[str, str]] = []
    for uri in csv_uris:
        rows.extend(_read_rows(uri, split))
    class_names = sorted({row["label"] for row in rows})
    if split is not None:
        wanted = _SAME_SPLIT.get(split, split)
        rows = [row for row in rows if _SAME_SPLIT.get(row["split"], row["split"]) == wanted]
    if not rows:
        raise ManifestError(f"Kinetics: no rows of split {split!r} in {listing(csv_uris)}")
    if not storage.is_s3(videos_root):
        videos_root = os.path.abspath(videos_root)
    existing = _existing_clips(videos_root)
    records: list[ManifestRecord] = []
    missing: list[str] = []
    for row in rows:
        video_id = _video_id(row)
        candidates = [
            f"{row['label']}/{video_id}.mp4",
            f"{row['label'].replace(' ', '_')}/{video_id}.mp4",
            f"{video_id}.mp4",
        ]
        found = next((c for c in candidates if c in existing), None)
        if found is None:
            missing.append(video_id)
            continue
        records.append(
            ManifestRecord(
                video_id=video_id,
                uri=storage.join(videos_root, *found.split("/")),
                label_name=row["label"],
                split=KINETICS_SPLITS[row["split"]],
            )
        )
    if missing and not skip_missing:
        raise missing_videos_error(
            "Kinetics", missing, repr(videos_root),
            "Expected <videos_root>/<label>/<video_id>.mp4 or <videos_root>/<video_id>.mp4; "
            "download them, or pass skip_missing=True to leave them out",
        )
    if missing:
        log.warning("Kinetics: left out %d clip(s) not found under %s", len(missing), videos_root)
    if not records:
        raise ManifestError(f"Kinetics: none of the {len(rows)} clips exist under {videos_root!r}")
    return Manifest.from_records(records, class_names=class_names)


def _read_rows(uri: str, split: str | None) -> list[dict[str, str]]:
    """The CSV's rows as text dicts with label, youtube_id, times and split checked."""
    if not storage.exists(uri):
        raise ManifestError(f"Kinetics CSV not found at {uri!r}")
    try:
        table = pacsv.read_csv(
            io.BytesIO(storage.read_bytes(uri)),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in (*_REQUIRED, "split")}
            ),
        )
    except pa.ArrowInvalid as error:
        raise ManifestError(f"Kinetics CSV {uri!r} is not readable CSV: {error}") from None
    absent = [name for name in _REQUIRED if name not in table.column_names]
    if absent:
        raise ManifestError(
            f"Kinetics CSV {uri!r} lacks column(s) {', '.join(absent)} (has "
            f"{', '.join(table.column_names)}); Kinetics test CSVs carry no labels — "
            "use the train and validate CSVs"
        )
    if "split" not in table.column_names:
        if split is None:
            raise ManifestError(
                f"Kinetics CSV {uri!r} has no split column; pass split='train' (or 'validate', "
                "'test') to name the split of its rows"
            )
        table = table.append_column("split", pa.array([split] * table.num_rows, pa.string()))
    rows = table.select([*_REQUIRED, "split"]).to_pylist()
    for number, row in enumerate(rows, 2):  # line 1 is the header
        empty = [name for name, value in row.items() if not value]
        if empty:
            raise ManifestError(f"{uri}:{number}: empty {', '.join(empty)}")
        if row["split"] not in KINETICS_SPLITS:
            raise ManifestError(
                f"{uri}:{number}: split {row['split']!r} is not one of "
                f"{', '.join(KINETICS_SPLITS)}"
            )
        for name in ("time_start", "time_end"):
            try:
                row[name] = int(float(row[name]))
            except ValueError:
                raise ManifestError(
                    f"{uri}:{number}: {name} {row[name]!r} is not a number of seconds"
                ) from None
    return rows


def _video_id(row: dict) -> str:
    """The standard downloader's clip name: youtube id and zero-padded start/end seconds."""
    return f"{row['youtube_id']}_{row['time_start']:06d}_{row['time_end']:06d}"


def _existing_clips(videos_root: str) -> set[str]:
    """Relative paths ('<label>/<id>.mp4' or '<id>.mp4') of the .mp4 files under the root."""
    root = dataset_root(
        videos_root, "Kinetics videos_root", "<label>/<video_id>.mp4 or <video_id>.mp4 files there"
    )
    found = {clip.name for clip in files_with_suffix(root, (".mp4",))}
    for folder in visible_dirs(root):
        found.update(f"{folder.name}/{clip.name}" for clip in files_with_suffix(folder, (".mp4",)))
    return found
