"""Dataset adapters: one factory per dataset from its own on-disk layout to a Manifest.

    manifest = build_manifest(DatasetConfig(name="ucf101", root="data/UCF-101"))

Every factory returns a Manifest sorted by video_id; build_manifest then carves a stratified
val split from train (DatasetConfig.val_fraction) unless the manifest already has one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dance import storage
from dance.datasets._folder import folder_manifest
from dance.datasets._haa500 import haa500_manifest
from dance.datasets._kinetics import kinetics_manifest
from dance.datasets._kth import KTH5_ACTIONS, KTH_ACTIONS, kth_manifest
from dance.datasets._penn_action import (
    PENN_ACTION_CLASSES,
    load_penn_action_keypoints,
    penn_action_manifest,
)
from dance.datasets._table import table_manifest
from dance.datasets._ucf101 import ucf101_manifest
from dance.manifest import Manifest

DatasetName = Literal[
    "ucf101", "haa500", "haa100", "penn_action", "kth", "kinetics", "folder", "table", "synth"
]

# The keys each dataset needs (besides name) when no ready manifest is given.
_REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "ucf101": ("root",),
    "haa500": ("root",),
    "haa100": ("root",),
    "penn_action": ("root",),
    "kth": ("root",),
    "kinetics": ("csv", "root"),
    "folder": ("root",),
    "table": ("csv",),
    "synth": ("root",),
}
# Keys that mean something for some datasets only; set elsewhere they are a mistake.
_KEY_APPLIES_TO: dict[str, tuple[str, ...]] = {
    "actions": ("kth",),
    "csv": ("kinetics", "table"),
    "classes_file": ("haa100",),
    "split_index": ("ucf101",),
    "test_fraction": ("folder",),
}


class DatasetConfig(BaseModel):
    """Which dataset to index and how.

    Defaults: root, manifest, actions, csv, classes_file None; split_index 1 (UCF-101 official
    split); val_fraction 0.1 (share of each class's train videos carved into val); seed 0;
    test_fraction 0.2 (folder datasets without train/ and test/ folders).
    """

    model_config = ConfigDict(extra="forbid")

    name: DatasetName = Field(description="which adapter reads the dataset")
    root: str | None = Field(
        None, description="dataset root folder (kinetics: the videos folder)"
    )
    manifest: str | None = Field(
        None, description="an existing manifest.parquet to use instead of scanning root"
    )
    split_index: int = Field(1, ge=1, le=3, description="official split (UCF-101: 1, 2 or 3)")
    actions: list[str] | None = Field(None, description="KTH actions to keep (KTH-5: five)")
    csv: str | None = Field(
        None, description="annotation CSV (kinetics) or the table itself, CSV/Parquet (table)"
    )
    classes_file: str | None = Field(
        None, description="HAA-100 class list, one per line (default: first 100 sorted)"
    )
    val_fraction: float = Field(
        0.1, ge=0, lt=1, description="share of each class's train videos carved into val"
    )
    test_fraction: float = Field(
        0.2, ge=0, lt=1, description="folder datasets without split folders: share for test"
    )
    seed: int = Field(0, description="seed of the val (and folder test) split")

    @model_validator(mode="after")
    def _keys_fit_the_dataset(self) -> DatasetConfig:
        """Each dataset's required keys are set; keys meant for other datasets are not."""
        for key, names in _KEY_APPLIES_TO.items():
            if key in self.model_fields_set and self.name not in names and (
                getattr(self, key) != type(self).model_fields[key].default
            ):
                raise ValueError(
                    f"dataset.{key} applies to name {' or '.join(names)}, not {self.name!r}; "
                    f"remove dataset.{key}"
                )
        if self.manifest is not None:
            return self
        missing = [key for key in _REQUIRED_KEYS[self.name] if getattr(self, key) is None]
        if missing:
            keys = " and ".join(f"dataset.{key}" for key in missing)
            raise ValueError(
                f"dataset.name={self.name} needs {keys}"
                + (" (kinetics: csv is the annotation CSV, root the videos folder)"
                   if self.name == "kinetics" else "")
                + "; or set dataset.manifest to an existing manifest.parquet"
            )
        return self


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
    "DatasetConfig",
    "DatasetName",
    "build_manifest",
    "folder_manifest",
    "haa500_manifest",
    "kinetics_manifest",
    "kth_manifest",
    "load_penn_action_keypoints",
    "penn_action_manifest",
    "table_manifest",
    "ucf101_manifest",
]
