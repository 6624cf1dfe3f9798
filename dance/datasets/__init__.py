"""Dataset adapters: one factory per dataset from its own on-disk layout to a Manifest.

    manifest = build_manifest(dance.config.DatasetConfig(name="ucf101", root="data/UCF-101"))

Every factory returns a Manifest sorted by video_id; build_manifest then carves a stratified
val split from train (DatasetConfig.val_fraction) unless the manifest already has one.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from dance import storage
from dance.config import DatasetConfig
from dance.datasets._folder import folder_manifest
from dance.datasets._haa500 import haa500_manifest
from dance.datasets._kinetics import kinetics_manifest
from dance.datasets._kth import KTH5_ACTIONS, KTH_ACTIONS, kth_manifest
from dance.datasets._penn_action import (
    PENN_ACTION_CLASSES,
    load_penn_action_keypoints,
    penn_action_manifest,
)
from dance.datasets._prepare import manifest_content_sha256, manifest_plan, prepare_manifest
from dance.datasets._table import table_manifest
from dance.datasets._ucf101 import ucf101_manifest
from dance.errors import InputError
from dance.manifest import Manifest, listing

SHIFTED_MANIFEST_FILE = "manifest_shifted.parquet"


def build_manifest(config: DatasetConfig) -> Manifest:
    """The dataset's manifest from its adapter, with a val split carved from train."""
    manifest = _adapter_manifest(config)
    if len(manifest.split("val")) == 0:
        manifest = manifest.with_validation_split(config.val_fraction, config.seed)
    return manifest


def build_shifted_manifest(config: DatasetConfig, class_names: Sequence[str]) -> Manifest | None:
    """The dataset's shifted test set, every video in split test; None when it has none.

    dataset.shifted_manifest names one; DANCE-Synth renders its own beside its videos
    (synth.shifted_test). Its classes must be the run's, in the same order.
    """
    uri = config.shifted_manifest
    if uri is None and config.name == "synth":
        beside = storage.join(config.root or "", SHIFTED_MANIFEST_FILE)
        uri = beside if storage.exists(beside) else None
    if uri is None:
        return None
    manifest = Manifest.read(uri)
    if manifest.class_names != list(class_names):
        raise InputError(
            f"the shifted test set {uri} has classes {listing(manifest.class_names)} but the "
            f"dataset has {listing(class_names)}; give a shifted manifest of the same classes, "
            f"in the same order, or unset dataset.shifted_manifest"
        )
    table = manifest.table
    splits = pa.array(["test"] * table.num_rows, pa.string())
    table = table.set_column(table.schema.get_field_index("split"), "split", splits)
    return Manifest(table, manifest.class_names)


def _adapter_manifest(config: DatasetConfig) -> Manifest:
    """Dispatch to the adapter for config.name (or read the given manifest)."""
    if config.manifest is not None:
        return Manifest.read(config.manifest)
    root = config.root or ""
    if config.name == "ucf101":
        return ucf101_manifest(root, split=config.split_index)
    if config.name in ("haa500", "haa100"):
        return haa500_manifest(root, subset=config.name, classes_file=config.classes_file)
    if config.name == "penn_action":
        return penn_action_manifest(root)
    if config.name == "kth":
        return kth_manifest(root, actions=config.actions)
    if config.name == "kinetics":
        return kinetics_manifest(config.csv or "", root)
    if config.name == "folder":
        return folder_manifest(root, test_fraction=config.test_fraction, seed=config.seed)
    if config.name == "table":
        return table_manifest(config.csv or "")
    # synth: DANCE-Synth writes its own manifest beside its videos.
    return Manifest.read(storage.join(root, "manifest.parquet"))


__all__ = [
    "KTH5_ACTIONS",
    "KTH_ACTIONS",
    "PENN_ACTION_CLASSES",
    "SHIFTED_MANIFEST_FILE",
    "build_manifest",
    "build_shifted_manifest",
    "folder_manifest",
    "haa500_manifest",
    "kinetics_manifest",
    "kth_manifest",
    "load_penn_action_keypoints",
    "manifest_content_sha256",
    "manifest_plan",
    "penn_action_manifest",
    "prepare_manifest",
    "table_manifest",
    "ucf101_manifest",
]
