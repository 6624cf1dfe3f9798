"""Write the report: one static site that opens from disk, no server and no network.

    <out>/index.html            summary, Table 1, checks, confusion matrix, links
    <out>/classes/c0000.html    per class (file names by index)
    <out>/videos/v-<hash>.html  per sampled test video (file names by a hash of the id)
    <out>/concepts.html         motion concepts animated; object and scene concepts kept/cut
    <out>/sankey.html           concept-to-class weights of confused class pairs (plotly)
    <out>/checks.html           reversal, fidelity, deletion curve, suggested edits
    <out>/tcav.html             TCAV scores per class, concept and layer (if tcav.json given)
    <out>/assets/               style.css, motion/<hash>.gif|png (cached), frames/<hash>.png,
                                cams/<hash>.gif (Grad-CAM of each sampled video)

Every file is written below `out` under a name the code makes, so data cannot choose
where a file goes; the animations are cached by content, so a second run reuses them.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dance import storage
from dance.explain import explain_videos
from dance.progress import Log, log_to_stderr
from dance.report._cam_panel import CamOverlay, cam_file, cam_panel
from dance.report._html import STYLE, class_file, page, video_file
from dance.report._model_pages import (
    checks_page,
    class_page,
    concepts_page,
    index_page,
)
from dance.report._pose_animation import cached_pose_animation, keyframe_strip, png_bytes
from dance.report._sankey import concept_class_sankey, most_confused_neighbour
from dance.report._tcav_page import tcav_page
from dance.report._video_pages import prediction_flips, video_page
from dance.train import DanceModel

ANIMATION_SIDE = 120


@dataclass
class ReportInputs:
    """What a report shows, read from a workdir by the report job (or built by a test).

    `videos`: per evaluated video its id, split, label and backbone features (rows
    aligned); `motion_poses`: a motion concept's representative clip, (L, 17, 3) pixels
    or (L, 17, 2) normalised; `language`: per object/scene concept its type, name,
    status and reason; `frames`: a video's key frames when the video is reachable;
    `cams`: (video id, class index) -> its Grad-CAM overlay of that class, or why none;
    `tcav`: the content of posthoc/tcav/tcav.json, when the TCAV job wrote one.
    """

    model: DanceModel
    video_ids: Sequence[str]
    splits: Sequence[str]
    labels: np.ndarray
    features: np.ndarray
    metrics: Mapping[str, Any]
    title: str = "dance report"
    table: Sequence[Mapping[str, Any]] | None = None
    checks: Mapping[str, Any] | None = None
    motion: Sequence[Mapping[str, Any]] = ()  # name, size, pose (array or None)
    language: Sequence[Mapping[str, Any]] = ()
    frames: Callable[[str], np.ndarray | None] | None = None
    cams: Callable[[str, int], CamOverlay] | None = None
    tcav: Mapping[str, Any] | None = None


@dataclass
class ReportSummary:
    """What a report run wrote."""

    out: str
    pages: int
    video_pages: int
    animations: int
    seconds: float
    bytes_index: int
    files: list[str] = field(default_factory=list)


def sample_videos(video_ids: Sequence[str], labels: np.ndarray, count: int,
                  seed: int = 0) -> list[int]:
    """Up to `count` rows, spread over the classes, picked by a seeded hash of the id."""
    def key(row: int) -> str:
        return hashlib.sha256(f"{seed}:{video_ids[row]}".encode()).hexdigest()

    by_class: dict[int, list[int]] = {}
    for row in sorted(range(len(video_ids)), key=key):
        by_class.setdefault(int(labels[row]), []).append(row)
    picked: list[int] = []
    queues = [by_class[c] for c in sorted(by_class)]
    while len(picked) < count and any(queues):
        for queue in queues:
            if queue and len(picked) < count:
                picked.append(queue.pop(0))
    return sorted(picked, key=lambda r: video_ids[r])


def write_report_site(inputs: ReportInputs, out: str, max_videos: int = 300, seed: int = 0,
                      top_k: int = 3, log: Log = log_to_stderr) -> ReportSummary:
    """Write the whole site under the local folder `out`; return what was written."""
    started = time.perf_counter()
    model = inputs.model
    for folder in ("classes", "videos", "assets/motion", "assets/frames", "assets/cams"):
        os.makedirs(os.path.join(out, folder), exist_ok=True)
    writer = _Writer(out)
    writer.text("assets/style.css", STYLE)
    splits = np.asarray(inputs.splits, dtype=object)
    test_rows = np.flatnonzero(splits == "test")
    test_ids = [inputs.video_ids[r] for r in test_rows]
    logits = model.logits(inputs.features[test_rows]).detach() if len(test_rows) else None
    predicted = logits.argmax(1).numpy() if logits is not None else np.zeros(0, int)
    confidence = (logits.softmax(1).max(1).values.numpy() if logits is not None
                  else np.zeros(0))
    animations, motion_cards = _motion_assets(inputs, out)
    picked = sample_videos(test_ids, inputs.labels[test_rows], max_videos, seed)
    with_page = {test_ids[p] for p in picked}
    if picked:
        rows = test_rows[picked]
        explanations = explain_videos(model, [inputs.video_ids[r] for r in rows],
                                      inputs.features[rows], top_k=top_k)
        flipping = prediction_flips(model, inputs.features[rows])
        for p, row, explanation, flip in zip(picked, rows, explanations, flipping, strict=True):
            strip = _frames_strip(inputs, explanation.video_id, writer)
            cam = _cam_panel(inputs, explanation.video_id, explanation.class_index, writer)
            writer.text(f"videos/{video_file(explanation.video_id)}", video_page(
                explanation, float(confidence[p]), model, flip, animations, strip,
                label=int(inputs.labels[row]), split="test", cam=cam))
    per_class = (inputs.metrics.get("splits", {}).get("test") or {}).get("per_class", {})
    for c, name in enumerate(model.class_names):
        members = [(test_ids[i], int(predicted[i])) for i in range(len(test_ids))
                   if int(inputs.labels[test_rows[i]]) == c]
        writer.text(f"classes/{class_file(c)}",
                    class_page(model, c, per_class.get(name), members, with_page))
    sampled = [(test_ids[p], model.class_names[int(inputs.labels[test_rows[p]])])
               for p in picked]
    index = index_page(inputs.title, model, inputs.metrics, inputs.table, inputs.checks, sampled,
                       tcav=inputs.tcav is not None)
    writer.text("index.html", index)
    writer.text("concepts.html", concepts_page(model, motion_cards, inputs.language))
    writer.text("sankey.html", _sankey_page(model, inputs.metrics))
    writer.text("checks.html", checks_page(inputs.checks or {}))
    if inputs.tcav is not None:
        writer.text("tcav.html", tcav_page(inputs.tcav))
    elif os.path.exists(os.path.join(out, "tcav.html")):
        os.remove(os.path.join(out, "tcav.html"))  # an earlier run's page, its input now gone
    summary = ReportSummary(
        out=out, pages=writer.pages, video_pages=len(picked), animations=len(animations),
        seconds=round(time.perf_counter() - started, 3), bytes_index=len(index.encode()),
        files=writer.files,
    )
    log(f"report: {summary.pages} pages ({summary.video_pages} videos, {summary.animations} "
        f"motion animations) in {summary.seconds:.1f} s -> {os.path.join(out, 'index.html')}")
    return summary


def _motion_assets(inputs: ReportInputs, out: str) -> tuple[dict[str, str], list[dict]]:
    """Animations and key-pose strips of the motion concepts (cached by content)."""
    cache = os.path.join(out, "assets", "motion")
    animations: dict[str, str] = {}
    cards = []
    for concept in inputs.motion:
        pose = concept.get("pose")
        card = {"name": concept["name"], "size": concept.get("size", 0), "animation": None,
                "strip": None}
        if pose is not None:
            gif = cached_pose_animation(cache, pose, (ANIMATION_SIDE, ANIMATION_SIDE))
            relative = f"assets/motion/{os.path.basename(gif)}"
            strip_name = os.path.basename(gif)[:-4] + ".png"
            strip_path = os.path.join(cache, strip_name)
            if not os.path.exists(strip_path):
                storage.write_bytes(strip_path, png_bytes(
                    keyframe_strip(pose, count=4, size=(64, 64))))
            animations[concept["name"]] = relative
            card.update(animation=relative, strip=f"assets/motion/{strip_name}")
        cards.append(card)
    return animations, cards


def _frames_strip(inputs: ReportInputs, video_id: str, writer: _Writer) -> str | None:
    """The video's key frames side by side as a PNG asset (None: video not reachable)."""
    if inputs.frames is None:
        return None
    frames = inputs.frames(video_id)
    if frames is None or not len(frames):
        return None
    name = f"assets/frames/{video_file(video_id)[:-5]}.png"
    writer.bytes(name, png_bytes(np.concatenate(list(frames), axis=1)))
    return name


def _cam_panel(inputs: ReportInputs, video_id: str, class_index: int,
               writer: _Writer) -> str | None:
    """The video's Grad-CAM panel, its GIF written as an asset (None: no CAMs asked for)."""
    if inputs.cams is None:
        return None
    overlay = inputs.cams(video_id, class_index)
    if overlay.gif is None:
        return cam_panel(overlay, None)
    name = cam_file(video_id)
    writer.bytes(name, overlay.gif)
    return cam_panel(overlay, name)


def _sankey_page(model: DanceModel, metrics: Mapping[str, Any], max_pairs: int = 12) -> str:
    """Every class with its most confused neighbour (pairs deduplicated), plotly inlined once."""
    test = (metrics.get("splits", {}).get("test") or {})
    confusion = np.asarray(test.get("confusion") or np.zeros((model.num_classes,) * 2))
    pairs: dict[tuple[int, int], int] = {}
    if model.kind == "dance" and model.num_classes >= 2:
        for c in range(model.num_classes):
            other = most_confused_neighbour(confusion, c)
            key = (min(c, other), max(c, other))
            pairs[key] = int(confusion[c, other] + confusion[other, c])
    chosen = sorted(pairs, key=lambda p: (-pairs[p], p))[:max_pairs]
    parts = [("<h1>Concept-to-class weights</h1><p>Each view: a class and the class its test "
             "videos are most often confused with; links are |weight|, coloured by concept "
             "type, faint when the weight is negative.</p>")]
    for position, (a, b) in enumerate(chosen):
        figure = concept_class_sankey(model, [model.class_names[a], model.class_names[b]])
        parts.append(figure.to_html(full_html=False, include_plotlyjs=position == 0,
                                    config={"displaylogo": False}))
    if not chosen:
        parts.append('<p class="muted">No class pairs to show (a linear probe has no '
                     "concepts).</p>")
    return page("Concept-to-class weights", "\n".join(parts))


class _Writer:
    """Writes report files atomically under one folder, counting pages."""

    def __init__(self, out: str) -> None:
        self.out, self.pages, self.files = out, 0, []

    def text(self, relative: str, content: str) -> None:
        self.bytes(relative, content.encode("utf-8"))
        self.pages += relative.endswith(".html")

    def bytes(self, relative: str, content: bytes) -> None:
        storage.write_bytes(os.path.join(self.out, relative), content)  # atomic
        self.files.append(relative)

