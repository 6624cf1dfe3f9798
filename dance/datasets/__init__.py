"""Dataset adapters: one factory per dataset from its own on-disk layout to a Manifest.

    manifest = build_manifest(dance.config.DatasetConfig(name="ucf101", root="data/UCF-101"))

Every factory returns a Manifest sorted by video_id; build_manifest then carves a stratified
val split from train (DatasetConfig.val_fraction) unless the manifest already has one.
"""

from __future__ import annotations

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
from dance.datasets._prepare import manifest_content_sha256, prepare_manifest
from dance.datasets._table import table_manifest
from dance.datasets._ucf101 import ucf101_manifest
from dance.manifest import Manifest


def build_manifest(config: DatasetConfig) -> Manifest:
    """The dataset's manifest from its adapter, with a val split carved from train."""
    manifest = _adapter_manifest(config)
    if len(manifest.split("val")) == 0:
        manifest = manifest.with_validation_split(config.val_fraction, config.seed)
    return manifest


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
    "build_manifest",
    "folder_manifest",
    "haa500_manifest",
    "kinetics_manifest",
    "kth_manifest",
    "load_penn_action_keypoints",
    "manifest_content_sha256",
    "penn_action_manifest",
    "prepare_manifest",
    "table_manifest",
    "ucf101_manifest",
]
