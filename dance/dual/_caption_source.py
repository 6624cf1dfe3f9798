"""Where a dual encoder's training videos and captions come from: the dataset, or a corpus.

A pretrained video-text model (the paper's) learned from data other than the videos it
later labels, where objects and scenes vary apart from the actions. Trained on the
dataset's own train split instead, a small model learns the shortcut "this action, so
this object" and never looks at a prop that any class may show. `dual_training.corpus`
renders a DANCE-Synth captions corpus for that (context "mixed": each video takes the
objects, scene and holding of a class drawn at random), so the model never sees the
dataset's videos.
"""

from __future__ import annotations

from dataclasses import dataclass

from dance import storage
from dance.config import DanceConfig, DatasetConfig
from dance.dual._texts import captions_uri
from dance.errors import InputError
from dance.manifest import Manifest
from dance.progress import Log
from dance.workdir import dual_corpus_dir


@dataclass(frozen=True)
class CaptionSource:
    """The videos (a manifest with splits) and captions to train on, and where they live."""

    root: str  # dataset root: captions.parquet, and concept_annotations.parquet if annotated
    manifest: Manifest
    manifest_id: str  # what the stage record names as the manifest
    captions: dict[str, list[str]]
    is_corpus: bool

    def describe(self) -> str:
        """'the dataset's captions' or 'the captions corpus at ...' for logs."""
        return f"the captions corpus at {self.root}" if self.is_corpus else "the dataset's captions"


def read_dataset_captions(root: str | None) -> dict[str, list[str]]:
    """video_id -> captions from <root>/captions.parquet; InputError when it is missing."""
    from dance.synth import read_captions

    uri = captions_uri(root)
    if not storage.exists(uri):
        raise InputError(
            f"no captions at {uri}: training a dual encoder needs one row per video "
            "(video_id, captions list<string>). DANCE-Synth writes this file (`dance synth`, "
            "or a config with a synth section; render a dataset made before captions "
            "existed again); other datasets have none: set dual_training.corpus to train "
            "on a DANCE-Synth captions corpus"
        )
    return read_captions(root)  # type: ignore[arg-type]


def corpus_source(cfg: DanceConfig, log: Log) -> CaptionSource:
    """Render cfg.dual_training.corpus (unless already there) and read its manifest and captions."""
    from dance.datasets import build_manifest
    from dance.synth import ensure_synth_dataset

    corpus = cfg.dual_training.corpus
    if corpus is None:
        raise ValueError("dual_training.corpus is not set")
    root = dual_corpus_dir(cfg.workdir)
    if storage.is_s3(root):
        raise InputError(
            f"dual_training.corpus is rendered into the workdir, which must then be local, "
            f"but it is {cfg.workdir}; run the dual-encoder training with a local workdir"
        )
    ensure_synth_dataset(corpus, root, log)
    dataset = DatasetConfig(
        name="synth", root=root, val_fraction=cfg.dataset.val_fraction, seed=cfg.dataset.seed
    )
    manifest = build_manifest(dataset)
    captions = read_dataset_captions(root)
    manifest_id = storage.join(root, "manifest.parquet")
    return CaptionSource(root, manifest, manifest_id, captions, is_corpus=True)
