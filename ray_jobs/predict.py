"""`dance predict`: action classes and their concepts for new videos, from a trained bundle.

    model/ (DanceModel; metadata["config"] is the config it was trained with)
      -> that config's decode plan and the backbone the preprocess job used
      -> per video: decode_video -> embed_batch (the preprocess job's own code)
      -> logits -> softmax confidence, predicted class, top-k concepts overall and per type

A few videos (<= ray_threshold) run in this process; more run through Ray Data with the
preprocess job's DecodeStage and BackboneStage actors, the rows collected on the driver.
Nothing is written to the workdir.

    python -m ray_jobs.predict --model DIR VIDEO... [--json] [--html OUT_DIR] [--top-k 3]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from dance import storage
from dance.errors import DanceError, InputError
from dance.explain import ConceptContribution, VideoExplanation, explain_videos
from dance.preprocess import decode_video, embed_batch, failed_row
from dance.progress import Log, log_to_stderr
from dance.report import Flip, prediction_flips
from dance.train import DanceModel
from ray_jobs._placement import map_batches_args
from ray_jobs._predict_bundle import bundle_config, find_backbone, is_hub_id, predict_plan
from ray_jobs._predict_output import emit_predictions, write_html_pages
from ray_jobs._runtime import aws_runtime_env, ensure_ray
from ray_jobs.preprocess import cpu_scale

Row = dict[str, Any]
_FEATURES = ("video_id", "status", "error", "backbone")  # what the driver needs of a row

__all__ = [
    "Predictor",
    "VideoPrediction",
    "bundle_config",
    "display_ids",
    "emit_predictions",
    "find_backbone",
    "main",
    "predict_plan",
    "run_predict",
    "write_html_pages",
]


@dataclass(frozen=True)
class VideoPrediction:
    """One input video's outcome: its class, confidence and top concepts, or why it failed."""

    video: str  # the display id: the file name, with a suffix where names repeat
    uri: str  # the input as given
    status: str  # ok | failed
    error: str | None = None  # "reason_code: detail" when failed
    class_name: str | None = None
    class_index: int | None = None
    confidence: float | None = None  # softmax probability of the predicted class
    top: tuple[ConceptContribution, ...] = ()  # empty for a linear probe
    top_by_type: dict[str, tuple[ConceptContribution, ...]] = field(default_factory=dict)
    explanation: VideoExplanation | None = None  # the whole explanation, for --html's page
    flips: tuple[Flip, ...] = ()  # single-concept interventions that change the class

    def to_json(self) -> dict[str, Any]:
        """The --json object of this video."""
        return {
            "video": self.video, "uri": self.uri, "status": self.status, "error": self.error,
            "class": self.class_name, "class_index": self.class_index,
            "confidence": self.confidence,
            "top_k": [_concept_json(c) for c in self.top],
            "top_by_type": {
                kind: [_concept_json(c) for c in parts] for kind, parts in self.top_by_type.items()
            },
        }


def _concept_json(part: ConceptContribution) -> dict[str, Any]:
    """One concept's contribution as JSON."""
    return {"name": part.name, "shown_name": part.shown_name, "type": part.type,
            "activation": part.activation, "weight": part.weight,
            "contribution": part.contribution}


def display_ids(uris: Sequence[str]) -> list[str]:
    """Each input's file name; a repeated name gets _2, _3, ... before its extension."""
    ids: list[str] = []
    taken: set[str] = set()
    for uri in uris:
        name = uri.rstrip("/").rsplit("/", 1)[-1] or uri
        stem, dot, ext = name.rpartition(".")
        if not stem:  # no extension (or a dotfile): the suffix goes at the end
            stem, dot, ext = name, "", ""
        candidate, n = name, 1
        while candidate in taken:
            n += 1
            candidate = f"{stem}_{n}{dot}{ext}"
        taken.add(candidate)
        ids.append(candidate)
    return ids


class Predictor:
    """A loaded bundle with its training config, decode plan and backbone: videos -> rows."""

    def __init__(
        self, model_dir: str, backbone: str | None = None, log: Log = log_to_stderr
    ) -> None:
        """Load the bundle, rebuild its config, find its backbone (`backbone` overrides)."""
        self.model = DanceModel.from_pretrained(model_dir)
        self.cfg = bundle_config(self.model, model_dir)
        storage.configure(self.cfg.storage)
        if backbone is not None:
            if not storage.exists(backbone) and not is_hub_id(backbone):
                raise InputError(f"--backbone {backbone}: no such directory; pass the VideoMAE "
                                 "directory the preprocess job used")
            backbone = _absolute(backbone) if os.path.exists(backbone) else backbone
        self.backbone_path = backbone or find_backbone(self.cfg, self.model, model_dir, log)
        self.plan = predict_plan(self.cfg, self.backbone_path)
        self._backbone: Any = None

    @property
    def backbone(self) -> Any:
        """The frozen VideoBackbone, loaded on first use (the Ray path never needs it here)."""
        if self._backbone is None:
            from dance.encoders import VideoBackbone

            device = "cuda" if torch.cuda.is_available() else "cpu"
            self._backbone = VideoBackbone.from_pretrained(self.backbone_path, device=device)
        return self._backbone

    def decode(self, video_id: str, uri: str) -> Row:
        """decode_video as DecodeStage calls it: an unexpected error fails this video only."""
        try:
            return decode_video(video_id, uri, self.plan)
        except Exception as exc:  # noqa: BLE001 - one video's decoder crash fails that video
            return failed_row(video_id, "unreadable", f"{type(exc).__name__}: {exc}")

    def embed(self, rows: Sequence[Row]) -> list[Row]:
        """embed_batch as BackboneStage calls it: backbone features of every ok row."""
        return embed_batch(rows, lambda clips: self.backbone.embed(clips), "backbone_frames",
                           "backbone_shape", "backbone", "backbone_error")

    def rows(self, items: Sequence[Row]) -> dict[str, Row]:
        """Feature rows of (video_id, uri) items in this process, one backbone batch at a time."""
        size = max(1, self.cfg.backbone.resources.batch_size)
        out: dict[str, Row] = {}
        for start in range(0, len(items), size):
            decoded = [self.decode(i["video_id"], i["uri"]) for i in items[start:start + size]]
            out.update((row["video_id"], row) for row in self.embed(decoded))
        return out

    def predictions(
        self, items: Sequence[Row], rows: dict[str, Row], top_k: int
    ) -> list[VideoPrediction]:
        """Class, confidence and top concepts of each item from its feature row."""
        ok = [i for i in items if rows[i["video_id"]]["status"] == "ok"
              and rows[i["video_id"]].get("backbone") is not None]
        found: dict[str, VideoPrediction] = {}
        if ok:
            model = self.model
            features = np.asarray([rows[i["video_id"]]["backbone"] for i in ok], np.float32)
            with torch.no_grad():
                # predict() is what evaluate stores, so a class here equals evaluate's
                classes = model.predict(features, top_k=1).prediction
                confidence = torch.softmax(model.logits(features).double(), dim=1)
            ids = [i["video_id"] for i in ok]
            explained = [] if model.kind == "linear_probe" else explain_videos(
                model, ids, features, classes=classes.tolist(), top_k=top_k)
            flipping = prediction_flips(model, features) if explained else []
            for n, item in enumerate(ok):
                c = int(classes[n])
                why = explained[n] if explained else None
                found[item["video_id"]] = VideoPrediction(
                    video=item["video_id"], uri=item["given"], status="ok",
                    class_name=model.class_names[c], class_index=c,
                    confidence=float(confidence[n, c]),
                    top=_weighted(why.top, top_k) if why else (),
                    top_by_type={kind: _weighted(parts, top_k)
                                 for kind, parts in why.top_by_type.items()} if why else {},
                    explanation=why, flips=tuple(flipping[n]) if flipping else (),
                )
        return [found.get(i["video_id"]) or VideoPrediction(
            video=i["video_id"], uri=i["given"], status="failed",
            error=rows[i["video_id"]].get("error") or "unreadable: no features",
        ) for i in items]


def _weighted(
    ranked: Sequence[ConceptContribution], top_k: int
) -> tuple[ConceptContribution, ...]:
    """The top `top_k` contributions less those of concepts the class gives no weight.

    A zero weight (most of a sparse final layer) contributes nothing whatever the video
    shows; listed among the top concepts it would read as evidence. A class with fewer
    than `top_k` concepts pushing it up so shows fewer.
    """
    return tuple(part for part in ranked[:top_k] if part.weight != 0)


def _ray_rows(predictor: Predictor, items: Sequence[Row], log: Log) -> dict[str, Row]:
    """Feature rows through Ray Data: the preprocess job's decode and backbone actors."""
    import ray

    from actors.backbone import BackboneStage
    from actors.decode import DecodeStage

    cfg = predictor.cfg
    ensure_ray(cfg, log)
    stages = (cfg.preprocess.decode, cfg.backbone.resources)
    resources = ray.cluster_resources()
    scale = cpu_scale(sum(r.pool_size * r.num_cpus for r in stages), resources.get("CPU", 0.0))
    gpus = resources.get("GPU", 0.0)
    remote = aws_runtime_env(cfg, [i["uri"] for i in items])

    def stage(ds: Any, cls: type, settings: Any, kwargs: dict[str, Any]) -> Any:
        args = map_batches_args(settings, scale)
        if args["num_gpus"] > gpus:  # a GPU-trained bundle on a CPU machine: run on CPU
            log(f"note: no GPU in this Ray cluster; {cls.__name__} runs on CPU")
            args["num_gpus"] = 0
        return ds.map_batches(cls, fn_constructor_kwargs=kwargs, batch_format="pyarrow",
                              **args, **remote)

    ds = ray.data.from_items([{"video_id": i["video_id"], "uri": i["uri"]} for i in items],
                             override_num_blocks=len(items))
    ds = stage(ds, DecodeStage, cfg.preprocess.decode,
               {"plan": predictor.plan, "storage_config": cfg.storage})
    ds = stage(ds, BackboneStage, cfg.backbone.resources,
               {"model": predictor.backbone_path, "storage_config": cfg.storage})
    rows: dict[str, Row] = {}
    for batch in ds.select_columns(list(_FEATURES)).iter_batches(batch_size=None,
                                                                 batch_format="pyarrow"):
        rows.update((row["video_id"], row) for row in batch.to_pylist())
    return rows


def _absolute(uri: str) -> str:
    """A local path made absolute (Ray workers do not share this working directory)."""
    return uri if "://" in uri else os.path.abspath(uri)


def run_predict(
    model_dir: str,
    uris: Sequence[str],
    top_k: int = 3,
    ray_threshold: int = 8,
    backbone: str | None = None,
    log: Log = log_to_stderr,
    predictor: Predictor | None = None,
) -> list[VideoPrediction]:
    """Predict every video (local path or s3:// URI); one result per input, in input order.

    Up to `ray_threshold` videos run in this process, more through Ray Data. A video that
    cannot be decoded or embedded comes back failed; the others are still predicted.
    """
    if top_k < 1:
        raise InputError(f"--top-k must be at least 1, got {top_k}")
    if not uris:
        raise InputError("no video given; pass one or more video files or s3:// URIs")
    predictor = predictor or Predictor(model_dir, backbone, log)
    items = [{"video_id": v, "uri": _absolute(u), "given": u}
             for v, u in zip(display_ids(uris), uris, strict=True)]
    if len(items) > ray_threshold:
        log(f"predict: {len(items)} videos through Ray Data (more than --ray-threshold "
            f"{ray_threshold})")
        rows = _ray_rows(predictor, items, log)
    else:
        rows = predictor.rows(items)
    return predictor.predictions(items, rows, top_k)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ray_jobs.predict --model DIR VIDEO... [--json] [--html OUT_DIR] [--top-k K]`."""
    parser = argparse.ArgumentParser(prog="python -m ray_jobs.predict", description=__doc__)
    parser.add_argument("videos", nargs="+", metavar="VIDEO_OR_URI")
    parser.add_argument("--model", required=True, help="a model bundle directory")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--html", metavar="OUT_DIR", help="write one HTML page per video")
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--ray-threshold", type=int, default=8)
    parser.add_argument("--backbone", help="the backbone directory, if not found by itself")
    args = parser.parse_args(argv)
    try:
        results = run_predict(args.model, args.videos, args.top_k, args.ray_threshold,
                              args.backbone)
        return emit_predictions(results, args.json, args.html, print, log_to_stderr, args.model)
    except DanceError as err:
        log_to_stderr(f"error: {err}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
