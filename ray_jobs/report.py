"""The report stage: the trained model, its metrics and checks -> one static HTML site.

    model/ + reports/metrics.json (evaluate) + reports/sanity.json (sanity, if run)
    + reports/table.json (evaluate --table, if run) + concepts/ + clips/ (poses)
    + the sampled test videos through the backbone the preprocess record names (Grad-CAM)
    + posthoc/tcav/tcav.json (dance tcav, if run)
      -> <workdir>/reports/index.html and its pages (dance.report.write_report_site)

Reads only: it runs on the driver, no cluster needed. The site opens from disk; on an S3
workdir it is built in a local temporary folder and uploaded (download it to open it).

    python -m ray_jobs.report --config demo [--set key=value ...] [--force]
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from dance import storage
from dance.concepts import read_concept_bundle, read_filter_report
from dance.config import DanceConfig
from dance.encoders import VideoBackbone, backbone_frame_indices
from dance.manifest import Manifest
from dance.posthoc import VideoCam
from dance.preprocess import decode_video, read_clips, read_videos, recorded_backbone, unpack
from dance.progress import Log, log_to_stderr
from dance.report import (
    CamOverlay,
    ReportInputs,
    ReportSummary,
    dance_cam_overlay,
    shown_size,
    write_report_site,
)
from dance.train import DanceModel, feature_matrix
from dance.video import open_video
from dance.workdir import (
    StagePlan,
    begin_stage,
    concepts_dir,
    manifest_uri,
    read_record,
    reports_dir,
    require_done,
    tcav_dir,
)
from ray_jobs._runtime import job_main, with_absolute_paths
from ray_jobs.evaluate import METRICS_FILE, load_decoded
from ray_jobs.predict import predict_plan
from ray_jobs.sanity import SANITY_FILE
from ray_jobs.train import output_uri

TABLE_FILE = "table.json"
TCAV_FILE = "tcav.json"
KEY_FRAMES_SHOWN = 4
FRAME_SIDE = 96


def _json_or_none(uri: str) -> Any:
    """A JSON file's content, None when it is not there."""
    return storage.read_json(uri) if storage.exists(uri) else None


def motion_representatives(cfg: DanceConfig) -> list[dict[str, Any]]:
    """Per motion concept: name, size and the pose of the member closest to its centroid."""
    try:
        index = read_concept_bundle(concepts_dir(cfg.workdir)).index
    except (FileNotFoundError, storage.StorageError):
        return []
    refs = index.get("motion") or []
    wanted = {(r["closest_member"]["video_id"], int(r["closest_member"]["clip_index"]))
              for r in refs}
    poses: dict[tuple[str, int], np.ndarray] = {}
    if wanted:
        clips = read_clips(cfg.workdir, columns=["video_id", "clip_index", "pose"])
        keep = pc.is_in(clips["video_id"], pa.array(sorted({v for v, _ in wanted})))
        for row in clips.filter(keep).to_pylist():
            key = (row["video_id"], int(row["clip_index"]))
            if key in wanted and row["pose"]:
                poses[key] = np.asarray(row["pose"], np.float32).reshape(-1, 17, 3)
    return [
        {"name": r["name"], "size": r.get("size", 0),
         "pose": poses.get((r["closest_member"]["video_id"],
                            int(r["closest_member"]["clip_index"])))}
        for r in refs
    ]


def language_status(cfg: DanceConfig, model: DanceModel) -> list[dict[str, str]]:
    """Each object and scene concept: in the model, cut by training, or dropped by a filter."""
    out = []
    names = model.concept_names_by_type
    cuts = model.metadata.get("cuts") or {}
    report = read_filter_report(concepts_dir(cfg.workdir)) or {}
    for kind, section in (("object", "objects"), ("scene", "scenes")):
        for name in names.get(kind, []):
            out.append({"type": kind, "name": name, "status": "kept", "reason": ""})
        for cut in cuts.get(kind, []):
            value = cut.get("value")
            shown = "n/a" if value is None else f"{value:.3f}"
            out.append({"type": kind, "name": cut["name"], "status": "cut in training",
                        "reason": f"{cut['rule']}: {shown}"})
        for dropped in (report.get(section) or {}).get("dropped", []):
            partner = dropped.get("partner")
            out.append({"type": kind, "name": dropped["concept"], "status": "filtered",
                        "reason": dropped["rule"] + (f" (like {partner})" if partner else "")})
    return out


def key_frame_reader(cfg: DanceConfig, manifest: Manifest) -> Callable[[str], np.ndarray | None]:
    """video_id -> up to 4 of its key frames, small; None when the video cannot be read."""
    uris = dict(zip(manifest.video_ids, manifest.table["uri"].to_pylist(), strict=True))
    videos = read_videos(cfg.workdir, columns=["video_id", "keyframes", "height", "width"])
    facts = {row["video_id"]: row for row in videos.to_pylist()}

    def read(video_id: str) -> np.ndarray | None:
        row, uri = facts.get(video_id), uris.get(video_id)
        if row is None or uri is None or not row["keyframes"]:
            return None
        keyframes = row["keyframes"]
        chosen = [keyframes[i] for i in np.linspace(0, len(keyframes) - 1,
                                                    min(KEY_FRAMES_SHOWN, len(keyframes)),
                                                    dtype=int)]
        scale = FRAME_SIDE / max(row["height"], row["width"])
        size = (max(1, round(row["height"] * scale)), max(1, round(row["width"] * scale)))
        try:
            with open_video(uri) as reader:
                return reader.get_frames(chosen, resize=size)
        except Exception:  # noqa: BLE001 - a moved or unreadable video only loses its frames
            return None

    return read


def tcav_json_uri(workdir: str) -> str:
    """<workdir>/posthoc/tcav/tcav.json: the `dance tcav` job's table, when it ran."""
    return storage.join(tcav_dir(workdir), TCAV_FILE)


def read_tcav(workdir: str, log: Log = log_to_stderr) -> dict[str, Any] | None:
    """The workdir's TCAV table to show, None when there is none (or it is unreadable)."""
    uri = tcav_json_uri(workdir)
    if not storage.exists(uri):
        return None
    try:
        data = storage.read_json(uri)
    except storage.StorageError as err:  # a damaged file loses its page, not the report
        log(f"report: {err}; no TCAV page")
        return None
    if not isinstance(data, dict):
        log(f"report: {uri} is not a JSON object; no TCAV page")
        return None
    return data


def preprocess_backbone(cfg: DanceConfig) -> str:
    """The backbone that made the features: the one the preprocess stage record names."""
    return recorded_backbone(cfg.workdir, "the report's Grad-CAM overlays explain it")["id"]


def cam_reader(cfg: DanceConfig, manifest: Manifest, model: DanceModel,
               log: Log = log_to_stderr) -> Callable[[str, int], CamOverlay] | None:
    """(video_id, class) -> Grad-CAM of that class through DANCE's concept bottleneck.

    The backbone loads on the first call; a video (or a backbone) that cannot be read
    gives an overlay holding the reason. None for a linear probe: it has no concepts.
    """
    if model.kind != "dance":
        return None
    uris = dict(zip(manifest.video_ids, manifest.table["uri"].to_pylist(), strict=True))
    loaded: dict[str, Any] = {}

    def setup() -> tuple[Any, VideoCam] | str:
        if "cam" not in loaded:
            try:
                path = preprocess_backbone(cfg)
                device = "cuda" if torch.cuda.is_available() else "cpu"
                backbone = VideoBackbone.from_pretrained(path, device=device)
                loaded["cam"] = (predict_plan(cfg, path), VideoCam.for_dance(backbone, model))
            except Exception as exc:  # noqa: BLE001 - without a backbone the pages say why
                loaded["cam"] = f"backbone unavailable: {type(exc).__name__}: {exc}"
                log(f"report: no Grad-CAM overlays ({loaded['cam']})")
        return loaded["cam"]

    def read(video_id: str, class_index: int) -> CamOverlay:
        ready = setup()
        if isinstance(ready, str):
            return CamOverlay(error=ready)
        plan, cam = ready
        uri = uris.get(video_id)
        if uri is None:
            return CamOverlay(error="not in the manifest")
        try:
            row = decode_video(video_id, uri, plan)
            if row["status"] != "ok" or row.get("backbone_frames") is None:
                return CamOverlay(error=row.get("error") or "unreadable: no frames")
            frames = unpack(row["backbone_frames"], row["backbone_shape"], np.uint8)
            indices = backbone_frame_indices(int(row["num_frames"]), cfg.backbone)
            size = shown_size(int(row["height"]), int(row["width"]))
            with open_video(uri) as reader:
                shown = reader.get_frames(indices.tolist(), resize=size)
            return dance_cam_overlay(cam, frames, shown, class_index)
        except Exception as exc:  # noqa: BLE001 - one unreadable video loses its map only
            return CamOverlay(error=f"unreadable: {type(exc).__name__}: {exc}")

    return read


def report_inputs(cfg: DanceConfig, log: Log = log_to_stderr) -> ReportInputs:
    """Everything the site shows, read from the workdir's public outputs."""
    manifest = Manifest.read(manifest_uri(cfg.workdir))
    model = DanceModel.from_pretrained(output_uri(cfg))
    decoded, _ = load_decoded(cfg, manifest)
    out = reports_dir(cfg.workdir)
    table = _json_or_none(storage.join(out, TABLE_FILE))
    return ReportInputs(
        model=model,
        video_ids=decoded["video_id"].to_pylist(),
        splits=decoded["split"].to_pylist(),
        labels=decoded["label"].to_numpy(),
        features=feature_matrix(decoded) if decoded.num_rows else np.zeros((0, 0), np.float32),
        metrics=storage.read_json(storage.join(out, METRICS_FILE)),
        title=f"dance report: {cfg.name}",
        table=(table or {}).get("rows"),
        checks=_json_or_none(storage.join(out, SANITY_FILE)),
        motion=motion_representatives(cfg) if model.kind == "dance" else [],
        language=language_status(cfg, model),
        frames=key_frame_reader(cfg, manifest),
        cams=cam_reader(cfg, manifest, model, log),
        tcav=read_tcav(cfg.workdir, log),
    )


def run_report(cfg: DanceConfig, log: Log = log_to_stderr, force: bool = False,
               out: str | None = None, max_videos: int = 300) -> ReportSummary:
    """Write the HTML report of the trained model into <workdir>/reports (or `out`)."""
    cfg = with_absolute_paths(cfg)
    storage.configure(cfg.storage)
    require_done(cfg.workdir, "evaluate", "dance evaluate --config <config>")
    target = out or reports_dir(cfg.workdir)
    plan = report_plan(cfg)
    run = begin_stage(
        cfg.workdir, "report", cfg.model_dump(mode="json"), upstream=plan.upstream,
        inputs=plan.inputs, force=force, log=log,
        command="dance report --config <config>",
    )
    inputs = report_inputs(cfg, log)
    if storage.is_s3(target):
        summary = _write_site_to_s3(inputs, target, cfg, max_videos, log)
    else:
        summary = write_report_site(inputs, target, max_videos=max_videos,
                                    seed=cfg.seed, top_k=cfg.evaluate.top_k, log=log)
    run.finish(facts={"index": storage.join(target, "index.html")},
               counts={"pages": summary.pages, "video_pages": summary.video_pages,
                       "animations": summary.animations})
    return summary


def _write_site_to_s3(
    inputs: ReportInputs, target: str, cfg: DanceConfig, max_videos: int, log: Log
) -> ReportSummary:
    """Build the site in a local folder (its pages link by relative path), then upload it."""
    with tempfile.TemporaryDirectory(prefix="dance-report-") as local:
        summary = write_report_site(inputs, local, max_videos=max_videos, seed=cfg.seed,
                                    top_k=cfg.evaluate.top_k, log=log)
        files = [path for path in Path(local).rglob("*") if path.is_file()]
        for path in files:
            storage.write_bytes(storage.join(target, *path.relative_to(local).parts),
                                path.read_bytes())
    log(f"report: uploaded {len(files)} files to {target}; download the folder to open it")
    return summary


def report_plan(cfg: DanceConfig) -> StagePlan:
    """The bundle and its evaluation, the sanity record's identity when the checks ran, and
    the TCAV table's content hash when there is one."""
    record = read_record(cfg.workdir, "sanity")
    inputs = {} if record is None or not record.done else {
        "sanity": {"id": "stages/sanity.json", "sha256": record.identity}
    }
    tcav = tcav_json_uri(cfg.workdir)
    if storage.exists(tcav):
        inputs["tcav"] = {"id": "posthoc/tcav/tcav.json",
                          "sha256": hashlib.sha256(storage.read_bytes(tcav)).hexdigest()}
    return StagePlan(inputs, ("train", "evaluate"))


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ray_jobs.report --config PRESET_OR_YAML [--set key=value ...] [--force]`."""
    return job_main(run_report, "python -m ray_jobs.report", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
