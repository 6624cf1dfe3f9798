"""The manifest: the one table every job starts from (video_id, uri, label, label_name, split).

A manifest carries its class list in the Parquet schema metadata (``dance.class_names``) so a
subset (one split, or a manifest whose rows miss a class) keeps its label space when written
and read back. Rows are always sorted by ``video_id``; nothing depends on row order.
"""

from dance.manifest._errors import ManifestError, listing
from dance.manifest._manifest import Manifest
from dance.manifest._schema import MANIFEST_COLUMNS, SPLITS, ManifestRecord
from dance.manifest._splits import stratified_pick
from dance.manifest._uris import resolve_relative_uris

__all__ = [
    "MANIFEST_COLUMNS",
    "SPLITS",
    "Manifest",
    "ManifestError",
    "ManifestRecord",
    "listing",
    "resolve_relative_uris",
    "stratified_pick",
]
