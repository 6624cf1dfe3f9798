"""What a manifest holds: its columns, its splits, and one video's record."""

from __future__ import annotations

from dataclasses import dataclass

MANIFEST_COLUMNS = ("video_id", "uri", "label", "label_name", "split")
SPLITS = ("train", "val", "test")

# The class list travels in the Parquet schema metadata under this key.
CLASS_NAMES_KEY = b"dance.class_names"
STRING_COLUMNS = ("video_id", "uri", "label_name", "split")


@dataclass(frozen=True)
class ManifestRecord:
    """One video before labels are assigned: its id, where it lives, its class name and split."""

    video_id: str
    uri: str
    label_name: str
    split: str
