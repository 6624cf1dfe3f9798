"""Train a video-text dual encoder on the dataset's captions with Ray Train and export it.

    python -m ray_jobs.train_dual_encoder --config demo [--set dual_training.epochs=5]

Steps: the manifest (built first if missing); the captions (``<dataset.root>/captions.parquet``,
written by DANCE-Synth); the tokenizer's vocabulary (the captions, the concept files, the
class names and the pseudo-label template); the clip cache of the dual-encoder frames
(Ray tasks, as for fine-tuning); a ``TorchTrainer`` whose workers train a CLIP with
temporal pooling contrastively, validate by video->caption retrieval and checkpoint; the
best (val) weights measured on the test split; finally the export to
``dual_training.output`` (model, tokenizer, preprocessor config, ``metrics.json``), which
``dual_encoder.model`` can name with ``dual_encoder.kind: clip_frames``. Where the dataset
annotates objects and scenes, the report adds the ROC-AUC of Eq. 3's "A video of
{concept}" score per concept on the test videos. A rerun resumes from the latest
checkpoint (``dual_training.resume``); a finished run is skipped.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from dance import storage
from dance.config import DanceConfig
from dance.datasets import manifest_content_sha256
from dance.dual import (
    CaptionedClips,
    CaptionSource,
    VideoTextModel,
    annotation_auc,
    build_clip,
    caption_pool,
    corpus_source,
    dual_clip_spec,
    evaluate_best,
    fit,
    load_text_tokenizer,
    processor_config_for,
    read_dataset_captions,
    retrieval_chance,
    training_vocabulary,
    vocabulary_texts,
)
from dance.encoders import DualEncoder
from dance.errors import InputError
from dance.finetune import (
    ClipCache,
    Shard,
    export_model,
    load_clips,
    make_optimizer,
    split_shard,
    steps_per_epoch,
)
from dance.manifest import SPLITS, Manifest
from dance.progress import Log, log_to_stderr, quiet
from dance.workdir import StagePlan, json_sha256, manifest_uri, model_reference
from ray_jobs._runtime import (
    dual_encoder_output_uri,
    dual_training_state_uri,
    ensure_ray,
    job_main,
    load_or_prepare_manifest,
    with_absolute_paths,
)
from ray_jobs._training import (
    begin_training,
    build_clip_cache,
    done_record,
    finished_state,
    skipped_videos,
    torch_trainer,
    train_then_test,
    worker_context,
)

STAGE = "dual_encoder"
KIND = "clip_frames"


@dataclass(frozen=True)
class DualEncoderReport:
    """What a dual-encoder training run produced: where the model went and how good it is."""

    output: str
    embed_dim: int
    best_epoch: int
    val_retrieval: float
    test_retrieval: float
    test_chance: float
    num_test: int
    object_auc: float | None
    scene_auc: float | None
    skipped: dict[str, str]
    seconds: float

    def describe(self) -> str:
        """A short human-readable summary."""

        def auc(value: float | None) -> str:
            return "-" if value is None else f"{value:.3f}"

        return (
            f"dual encoder ({KIND}, {self.embed_dim}-d) -> {self.output}\n"
            f"video->caption retrieval: test {self.test_retrieval:.3f} on {self.num_test} "
            f"videos (chance {self.test_chance:.3f}), val {self.val_retrieval:.3f} (best epoch "
            f"{self.best_epoch}); Eq. 3 ROC-AUC on test: objects {auc(self.object_auc)}, "
            f"scenes {auc(self.scene_auc)}; {len(self.skipped)} video(s) skipped; "
            f"{self.seconds:.1f} s"
        )


# Where the from_pretrained directory goes, and the clip cache and checkpoints.
output_uri, state_uri = dual_encoder_output_uri, dual_training_state_uri


def _split_ids(
    manifest: Manifest, cache: ClipCache, captions: Mapping[str, Sequence[str]]
) -> dict[str, list[str]]:
    """Per split: the videos that decoded and have captions."""
    return {
        split: [
            vid
            for vid in manifest.split(split).video_ids
            if vid in cache.parts and captions.get(vid)
        ]
        for split in SPLITS
    }


def _worker_clips(
    cache: ClipCache, ids: Sequence[str], captions: Mapping[str, list[str]], shard: Shard
) -> CaptionedClips:
    """This worker's shard of one split, loaded from the cache with its captions."""
    mine = split_shard(ids, shard)
    if not mine:
        return CaptionedClips([], torch.empty((0,), dtype=torch.uint8), [])
    return CaptionedClips(mine, load_clips(cache, mine), [captions[v] for v in mine])


def train_worker(loop_config: dict) -> None:
    """Ray Train worker: load the shard, resume if a checkpoint exists, train, test, report."""
    import ray.train.torch

    cfg, shard, spec, cache = worker_context(loop_config, lambda c: c.dual_training.workers)
    dc = cfg.dual_training
    captions, pools = loop_config["captions"], loop_config["pools"]
    train, val, test = (
        _worker_clips(cache, loop_config["splits"][s], captions, shard) for s in SPLITS
    )
    tokenizer = load_text_tokenizer(dc, loop_config["vocabulary"])
    model = ray.train.torch.prepare_model(VideoTextModel(build_clip(dc, tokenizer)))
    optimizer = make_optimizer(model, dc)
    train_then_test(
        model,
        optimizer,
        shard,
        dc.epochs,
        lambda state, on_epoch: fit(
            model,
            optimizer,
            tokenizer,
            train,
            val,
            pools["val"],
            spec,
            dc,
            state,
            loop_config["steps"],
            on_epoch,
            shard,
        ),
        lambda state: evaluate_best(model, tokenizer, test, pools["test"], spec, dc, state),
    )


def caption_source(cfg: DanceConfig, manifest: Manifest, log: Log) -> CaptionSource:
    """The videos and captions to train on: the captions corpus if configured, else the run's
    `manifest` and the dataset's captions."""
    if cfg.dual_training.corpus is not None:
        return corpus_source(cfg, log)
    captions = read_dataset_captions(cfg.dataset.root)
    return CaptionSource(
        cfg.dataset.root or "", manifest, manifest_uri(cfg.workdir), captions, is_corpus=False
    )


def _inputs(cfg: DanceConfig, source: CaptionSource, words: list[str]) -> dict[str, dict[str, Any]]:
    """What training reads besides config: manifest and captions content, vocabulary, init."""
    inputs = {
        "manifest": {
            "id": source.manifest_id,
            "sha256": manifest_content_sha256(source.manifest),
        },
        "captions": {"id": source.root, "sha256": json_sha256(source.captions)},
    }
    if cfg.dual_training.init == "tiny":
        inputs["vocabulary"] = {"id": "caption and concept words", "sha256": json_sha256(words)}
    else:
        inputs["init"] = model_reference(cfg.dual_training.init)
    return inputs


def _test_auc(
    cfg: DanceConfig,
    root: str,
    encoder: DualEncoder,
    cache: ClipCache,
    test_ids: list[str],
    log: Log,
) -> dict[str, dict] | None:
    """Eq. 3's ROC-AUC per object and scene on the test videos, where `root` annotates them."""
    from dance.concepts import read_concept_annotations

    try:
        table, _ = read_concept_annotations(root)
    except InputError:
        log("no concept annotations in dataset.root: no pseudo-label ROC-AUC")
        return None
    rows = {row["video_id"]: row for row in table.to_pylist()}
    ids = [vid for vid in test_ids if vid in rows]
    if not ids:
        return None
    clips = load_clips(cache, ids).numpy()
    template = cfg.discover.pseudo_labels.template
    return annotation_auc(encoder, clips, [rows[v] for v in ids], template)


def _prepared(
    cfg: DanceConfig, log: Log
) -> tuple[CaptionSource, list[str], dict[str, dict[str, Any]]]:
    """The caption source, the vocabulary and the stage's inputs."""
    # The run's manifest is built first (if missing) even with a corpus: its class names are
    # in the vocabulary, because discover embeds them (the class filter).
    dataset = load_or_prepare_manifest(cfg, log)
    source = caption_source(cfg, dataset, log)
    words = training_vocabulary(source.captions, vocabulary_texts(cfg, dataset.class_names))
    return source, words, _inputs(cfg, source, words)


def dual_encoder_plan(cfg: DanceConfig, log: Log = quiet) -> StagePlan:
    """The dual encoder's inputs: the manifest, the captions and the vocabulary."""
    return StagePlan(_prepared(with_absolute_paths(cfg), log)[2])


def run_train_dual_encoder(
    cfg: DanceConfig, log: Log = log_to_stderr, force: bool = False
) -> DualEncoderReport:
    """Train the dual encoder as cfg.dual_training says and export it; return the report.

    Done already (a finished record for this config, manifest, captions and vocabulary, and
    the exported model in place): returns the recorded report without work. `force`
    removes the output, the checkpoints and the clip cache and starts over.
    """
    start = time.perf_counter()
    cfg = with_absolute_paths(cfg)
    storage.configure(cfg.storage)
    dc = cfg.dual_training
    source, words, inputs = _prepared(cfg, log)
    manifest, captions = source.manifest, source.captions
    done = None if force else done_record(cfg, STAGE, inputs, output_uri(cfg))
    if done is not None:
        report = DualEncoderReport(**done.facts["report"])
        log(f"{STAGE}: done for this config on {done.finished_at}; reusing {report.output}")
        return report
    run = begin_training(
        cfg,
        STAGE,
        inputs,
        (output_uri(cfg), state_uri(cfg)),
        force,
        log,
        "dance train-dual-encoder --config <config>",
    )
    spec = dual_clip_spec(dc, cfg.backbone, cfg.dual_encoder)
    ensure_ray(cfg, log)
    # Corpus videos reuse the dataset's video ids: their clips are cached apart.
    cache_root = (
        storage.join(state_uri(cfg), "corpus_clips") if source.is_corpus else state_uri(cfg)
    )
    cache = build_clip_cache(cfg, cache_root, manifest, spec, dc.decode, log)
    skipped = skipped_videos(cache, manifest, log)
    splits = _split_ids(manifest, cache, captions)
    uncaptioned = sorted(v for v in manifest.video_ids if not captions.get(v))
    if uncaptioned:
        log(
            f"{len(uncaptioned)} video(s) have no captions and are left out, e.g. {uncaptioned[:3]}"
        )
    steps = steps_per_epoch(len(splits["train"]), dc.workers.pool_size, dc.workers.batch_size)
    log(
        f"training a {KIND} dual encoder ({dc.init}) on {source.describe()}: "
        f"{len(splits['train'])} train / "
        f"{len(splits['val'])} val / {len(splits['test'])} test videos, {len(words)} words, "
        f"{dc.epochs} epochs x {steps} steps, {dc.workers.pool_size} worker(s)"
    )
    used = {vid: captions[vid] for ids in splits.values() for vid in ids}
    loop_config = {
        "dance": cfg.model_dump(mode="json"),
        "spec": spec,
        "cache_dir": cache.directory,
        "splits": splits,
        "captions": used,
        "pools": {s: caption_pool([used[v] for v in splits[s]]) for s in ("val", "test")},
        "vocabulary": words,
        "steps": steps,
    }
    trainer = torch_trainer(
        train_worker,
        loop_config,
        dc.workers,
        state_uri(cfg),
        dc.run_name,
        dc.keep_checkpoints,
        dc.resume,
    )
    state = finished_state(trainer.fit(), "dual_training.resume")
    tokenizer = load_text_tokenizer(dc, words)
    model = VideoTextModel(build_clip(dc, tokenizer))
    model.load_state_dict(state.best_model)
    processor_config = processor_config_for(dc)
    encoder = DualEncoder(model.clip, tokenizer, KIND, spec.pixels, output_uri(cfg))
    auc = _test_auc(cfg, source.root, encoder, cache, splits["test"], log)
    chance = retrieval_chance([used[v] for v in splits["test"]])
    metrics = {
        "kind": KIND,
        "epochs": state.history,
        "best_epoch": state.best_epoch,
        "val_retrieval": state.best_val_acc,
        "test_retrieval": state.test["test_acc"],
        "test_retrieval_chance": chance,
        "num_test": state.test["num_test"],
        "pseudo_label_auc": auc,
        "skipped": skipped,
        "dual_training": dc.model_dump(mode="json"),
        "num_frames": cfg.dual_encoder.num_frames,
    }
    output = export_model(output_uri(cfg), model.clip, processor_config, metrics, tokenizer)
    report = DualEncoderReport(
        output=output,
        embed_dim=encoder.embed_dim,
        best_epoch=int(state.best_epoch or 0),
        val_retrieval=float(state.best_val_acc),
        test_retrieval=float(state.test["test_acc"]),
        test_chance=chance,
        num_test=int(state.test["num_test"]),
        object_auc=(auc or {}).get("objects", {}).get("mean_auc"),
        scene_auc=(auc or {}).get("scenes", {}).get("mean_auc"),
        skipped=skipped,
        seconds=time.perf_counter() - start,
    )
    run.finish(
        facts={
            "report": asdict(report),
            "model": model_reference(output),
            "kind": KIND,
            "embed_dim": encoder.embed_dim,
            "num_frames": cfg.dual_encoder.num_frames,
            "retrieval": {"val": report.val_retrieval, "test": report.test_retrieval},
            "pseudo_label_auc": auc,
        },
        counts={
            "videos_skipped": len(skipped),
            "videos_without_captions": len(uncaptioned),
            "epochs": len(state.history),
        },
    )
    log(report.describe())
    if math.isnan(report.test_retrieval):
        log("warning: the test split is empty; test retrieval is undefined")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ray_jobs.train_dual_encoder --config PRESET_OR_YAML [--set key=value ...]`."""
    return job_main(run_train_dual_encoder, "python -m ray_jobs.train_dual_encoder", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
