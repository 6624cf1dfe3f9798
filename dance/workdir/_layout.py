"""Where every stage's outputs live inside a workdir (a local path or an s3:// prefix).

    manifest.parquet        the run's manifest (stage: manifest)
    backbone/               the fine-tuned backbone, a from_pretrained directory (finetune)
    finetune/               fine-tuning state: clip cache and Ray Train checkpoints (finetune)
    dual_encoder/           the trained video-text dual encoder, a from_pretrained directory
    dual_training/          its clip cache and Ray Train checkpoints (dual_encoder)
    models/                 tiny stand-in encoders of offline runs (preprocess)
    videos/, clips/         per-video and per-clip Parquet parts (preprocess)
    concepts/               motion, object and scene concepts and their labels (discover)
    model/                  the trained model bundle (train)
    training/               the train stage's Ray Train checkpoints (train)
    model_edits/<name>/     edited copies of model/ (dance intervene)
    reports/                evaluation and explanation reports (evaluate, report)
    posthoc/concept_clips/  Video-TCAV's concept clips and random sets (concept_clips)
    shifted/                a shifted test set, where the dataset has one: its manifest.parquet
                            (manifest) and backbone features in videos/ (preprocess)
    reversed/               the test videos played backwards: manifest and features (sanity)
    stages/<stage>.json     one stage record per stage: what made that stage's outputs
    run.lock                held while a run works on the workdir: who, since when (lock)

The layout and the records are described for users in docs/workdir.md.
"""

from __future__ import annotations

from dance import storage

MANIFEST_FILE = "manifest.parquet"
STAGES_DIR = "stages"
SHIFTED_DIR = "shifted"
REVERSED_DIR = "reversed"
LOCK_FILE = "run.lock"
SUGGESTED_EDIT = "suggested"  # the model_edits/ name of the sanity stage's suggested edit

# Each stage's outputs, relative to the workdir: what `--force` removes before redoing it.
STAGE_OUTPUTS: dict[str, tuple[str, ...]] = {
    "manifest": (MANIFEST_FILE, f"{SHIFTED_DIR}/{MANIFEST_FILE}"),
    "finetune": ("backbone", "finetune"),
    "dual_encoder": ("dual_encoder", "dual_training"),
    "preprocess": (
        "videos", "clips", "preprocess_summary.json", f"{SHIFTED_DIR}/videos", f"{SHIFTED_DIR}/clips",
    ),
    "discover": ("concepts", "discover_summary.json"),
    "train": ("model", "training"),
    "evaluate": ("reports/metrics.json", "reports/predictions.parquet"),
    "sanity": (REVERSED_DIR, "reports/sanity.json", f"model_edits/{SUGGESTED_EDIT}"),
    "concept_clips": ("posthoc/concept_clips",),
    "tcav": ("posthoc/tcav",),  # its cache (posthoc/tcav_cache) outlives a --force
    "report": tuple(f"reports/{name}" for name in (
        "index.html", "concepts.html", "sankey.html", "checks.html", "tcav.html", "classes",
        "videos", "assets",
    )),
}


def manifest_uri(workdir: str) -> str:
    """<workdir>/manifest.parquet: the run's manifest, with its val split."""
    return storage.join(workdir, MANIFEST_FILE)


def shifted_workdir(workdir: str) -> str:
    """<workdir>/shifted: the shifted test set's manifest and features, laid out as a workdir."""
    return storage.join(workdir, SHIFTED_DIR)


def reversed_workdir(workdir: str) -> str:
    """<workdir>/reversed: the test videos played backwards, laid out as a workdir (sanity)."""
    return storage.join(workdir, REVERSED_DIR)


def videos_dir(workdir: str) -> str:
    """<workdir>/videos: one row per video (preprocess)."""
    return storage.join(workdir, "videos")


def clips_dir(workdir: str) -> str:
    """<workdir>/clips: one row per key clip (preprocess)."""
    return storage.join(workdir, "clips")


def concepts_dir(workdir: str) -> str:
    """<workdir>/concepts: concepts and their labels (discover)."""
    return storage.join(workdir, "concepts")


def backbone_dir(workdir: str) -> str:
    """<workdir>/backbone: the fine-tuned backbone's default location (finetune)."""
    return storage.join(workdir, "backbone")


def finetune_state_dir(workdir: str) -> str:
    """<workdir>/finetune: the fine-tuning clip cache and checkpoints' default location."""
    return storage.join(workdir, "finetune")


def dual_encoder_dir(workdir: str) -> str:
    """<workdir>/dual_encoder: the trained dual encoder's default location (dual_encoder)."""
    return storage.join(workdir, "dual_encoder")


def dual_training_dir(workdir: str) -> str:
    """<workdir>/dual_training: the dual encoder's clip cache and checkpoints (dual_encoder)."""
    return storage.join(workdir, "dual_training")


def dual_corpus_dir(workdir: str) -> str:
    """<workdir>/dual_corpus: the captions corpus the dual encoder trains on, if configured.

    Not among STAGE_OUTPUTS: it is rendered before the stage's record starts (the record
    names its manifest and captions), and its synth.json, written last, already proves it
    complete for its config, so a rerun reuses it and another config renders it anew.
    """
    return storage.join(workdir, "dual_corpus")


def model_dir(workdir: str) -> str:
    """<workdir>/model: the trained model bundle (train)."""
    return storage.join(workdir, "model")


def training_state_dir(workdir: str) -> str:
    """<workdir>/training: the train stage's Ray Train checkpoints' default location."""
    return storage.join(workdir, "training")


def model_edits_dir(workdir: str, name: str) -> str:
    """<workdir>/model_edits/<name>: an edited copy of model/ (dance intervene)."""
    return storage.join(workdir, "model_edits", name)


def reports_dir(workdir: str) -> str:
    """<workdir>/reports: evaluation and explanation reports."""
    return storage.join(workdir, "reports")


def concept_clips_dir(workdir: str) -> str:
    """<workdir>/posthoc/concept_clips: Video-TCAV's concept clips (concept_clips)."""
    return storage.join(workdir, "posthoc", "concept_clips")


def summary_uri(workdir: str, stage: str) -> str:
    """<workdir>/<stage>_summary.json: a stage's human-facing summary."""
    return storage.join(workdir, f"{stage}_summary.json")


def record_uri(workdir: str, stage: str) -> str:
    """<workdir>/stages/<stage>.json: the stage's record."""
    if stage not in STAGE_OUTPUTS:
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGE_OUTPUTS)}")
    return storage.join(workdir, STAGES_DIR, f"{stage}.json")


def lock_uri(workdir: str) -> str:
    """<workdir>/run.lock: who is working on the workdir now, and until when."""
    return storage.join(workdir, LOCK_FILE)


def tcav_dir(workdir: str) -> str:
    """<workdir>/posthoc/tcav: the TCAV table (tcav)."""
    return storage.join(workdir, "posthoc", "tcav")


def tcav_cache_dir(workdir: str) -> str:
    """<workdir>/posthoc/tcav_cache: layer activations and gradients, keyed by content.

    Not among the stage's outputs: a --force or a new alpha reuses what the same clips,
    model, layer and pooling gave before.
    """
    return storage.join(workdir, "posthoc", "tcav_cache")
