"""DANCE-Synth tiny through every stage up to evaluate: real videos, a real tiny backbone.

The train stage runs its own library calls in this process (Ray Train adds nothing at this
size); every other stage is its job. Shared by the predict, sanity and report tests.
"""

from __future__ import annotations

from pathlib import Path

from preprocess_helpers import job_config

from dance.concepts import read_concept_bundle
from dance.config import DanceConfig
from dance.datasets import prepare_manifest
from dance.manifest import Manifest
from dance.preprocess import read_videos
from dance.progress import quiet
from dance.train import bundle_from_progress, fit_model, join_training_table, training_arrays
from dance.workdir import begin_stage, concepts_dir, manifest_uri, model_dir

FAST_TRAIN = {"motion_steps": 300, "eval_every": 50, "concept_max_steps": 600, "clip_cut": 0.0,
              "interpretability_cut": 0.0, "lam": 0.01}


def train_tiny_workdir(tmp: Path, synth_root: Path, encoders: dict[str, str]) -> DanceConfig:
    """Manifest, preprocess (tiny VideoMAE), discover, train and evaluate into tmp/work."""
    from ray_jobs.discover import run_discover
    from ray_jobs.evaluate import run_evaluate
    from ray_jobs.preprocess import run_preprocess

    cfg, _ = job_config(tmp, str(tmp / "work"), synth_root, encoders,
                        preprocess={"enable_dual": False},
                        discover={"language": {"source": "annotations"}}, train=FAST_TRAIN)
    prepare_manifest(cfg, log=quiet)
    run_preprocess(cfg, log=quiet)
    run_discover(cfg, log=quiet)
    concepts = read_concept_bundle(concepts_dir(cfg.workdir))
    class_names = Manifest.read(manifest_uri(cfg.workdir)).class_names
    run = begin_stage(cfg.workdir, "train", cfg.model_dump(mode="json"),
                      upstream=["preprocess", "discover"], log=quiet)
    table, _ = join_training_table(
        read_videos(cfg.workdir, columns=["video_id", "status", "backbone"]), concepts.labels,
        class_names)
    arrays = training_arrays(table, {k: len(v) for k, v in concepts.names.items()})
    progress = fit_model(arrays, concepts.names, len(class_names), cfg.train, cfg.seed)
    bundle_from_progress(progress, cfg, class_names, concepts.index, run.record.upstream
                         ).save_pretrained(model_dir(cfg.workdir))
    run.finish()
    run_evaluate(cfg, log=quiet)
    return cfg
