"""The manifest stage: DANCE-Synth rendered when configured, the dataset indexed, the
manifest (with its val split) written to the workdir with its stage record; a shifted
test set, where the dataset has one, written to <workdir>/shifted/manifest.parquet."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dance.manifest import Manifest
from dance.progress import Log, log_to_stderr
from dance.workdir import StagePlan, begin_stage, manifest_uri, rows_sha256, shifted_workdir

if TYPE_CHECKING:
    from dance.config import DanceConfig


def manifest_content_sha256(manifest: Manifest) -> str:
    """sha256 of what later stages read from a manifest: ids, labels, class names, splits."""
    table = manifest.table
    return rows_sha256(
        {name: table[name].to_pylist() for name in ("video_id", "label", "label_name", "split")}
    )


def manifest_plan(cfg: DanceConfig) -> StagePlan:
    """The manifest stage's inputs: the DANCE-Synth generator's version, where it renders."""
    if cfg.synth is None:
        return StagePlan()
    from dance.synth import GENERATOR_VERSION

    # A newer generator re-renders the dataset (ground truth gains columns), so the stages
    # that read it are stale too.
    return StagePlan({"synth": {"id": cfg.dataset.root or "", "generator": GENERATOR_VERSION}})


def prepare_manifest(cfg: DanceConfig, log: Log = log_to_stderr, force: bool = False) -> Manifest:
    """Build the dataset's manifest, carve the val split, write it and the manifest record."""
    from dance.datasets import build_manifest, build_shifted_manifest

    run = begin_stage(
        cfg.workdir,
        "manifest",
        cfg.model_dump(mode="json"),
        inputs=manifest_plan(cfg).inputs,
        force=force,
        log=log,
        command="dance manifest",
    )
    if cfg.synth is not None:
        from dance.synth import ensure_synth_dataset

        ensure_synth_dataset(cfg.synth, cfg.dataset.root or "", log)
    manifest = build_manifest(cfg.dataset)
    uri = manifest_uri(cfg.workdir)
    manifest.write(uri)
    log(manifest.summary())
    log(f"manifest: {len(manifest)} videos -> {uri}")
    facts = {
        "class_names": manifest.class_names,
        "content_sha256": manifest_content_sha256(manifest),
    }
    shifted = build_shifted_manifest(cfg.dataset, manifest.class_names)
    if shifted is not None:
        shifted_uri = manifest_uri(shifted_workdir(cfg.workdir))
        shifted.write(shifted_uri)
        facts["shifted_content_sha256"] = manifest_content_sha256(shifted)
        log(f"manifest: a shifted test set of {len(shifted)} videos -> {shifted_uri}")
    splits = manifest.table["split"].to_pylist()
    run.finish(
        facts=facts,
        counts={
            "videos": len(manifest),
            "classes": len(manifest.class_names),
            **{f"videos_{s}": splits.count(s) for s in ("train", "val", "test")},
            "videos_shifted": 0 if shifted is None else len(shifted),
        },
    )
    return manifest
