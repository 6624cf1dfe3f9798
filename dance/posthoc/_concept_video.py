"""The per-video steps of `dance concept-clips`, as plain functions its Ray actors call.

1. `locate_concepts`: open a video, choose its window of L frames (seeded), and find its
   boxes there: the ground truth's, or a detector's run on the window's frames. One row
   per video, `failed` with its reason when the video cannot be read or shows nothing.
2. `choose_concept_cuts` (on the driver): every video's possible concept cuts, at most
   `cap` videos per concept by a seeded choice.
3. `cut_video_clips`: decode the window (and the frames of the random clips planned in
   this video) once, cut the chosen clips; rows of npy bytes, or one failed row.

Rows travel between steps as plain dicts with JSON strings for boxes, so Ray Data can
move them; NaN boxes travel as null.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dance.posthoc._concept_clips import RandomClip, cut_random_clip
from dance.posthoc._concept_sets import (
    ConceptCut,
    VideoBoxes,
    boxes_from_detections,
    clip_window,
    cut_concept_clip,
    plan_concept_cuts,
    stable_seed,
)
from dance.posthoc._detector import ObjectDetector
from dance.posthoc._overlay import npy_bytes
from dance.video import VideoReadError, open_video


def _rows(boxes: np.ndarray) -> list[list[float] | None]:
    """(T, 4) boxes as JSON rows, None for a NaN row."""
    return [None if not np.isfinite(b).all() else [float(v) for v in b] for b in boxes]


def _array(rows: Sequence[Sequence[float] | None]) -> np.ndarray:
    """JSON rows back to (T, 4) float64 boxes, NaN for None."""
    return np.array([[np.nan] * 4 if r is None else list(r) for r in rows],
                    dtype=np.float64).reshape(-1, 4)  # fmt: skip


def boxes_to_json(boxes: VideoBoxes) -> str:
    """VideoBoxes as a JSON string (NaN rows as null)."""
    return json.dumps({
        "person": None if boxes.person is None else _rows(np.asarray(boxes.person)),
        "objects": {name: _rows(np.asarray(t)) for name, t in sorted(boxes.objects.items())},
        "scene": boxes.scene,
    })  # fmt: skip


def boxes_from_json(text: str) -> VideoBoxes:
    """VideoBoxes back from boxes_to_json."""
    data = json.loads(text)
    person = None if data["person"] is None else _array(data["person"])
    objects = {name: _array(rows) for name, rows in data["objects"].items()}
    return VideoBoxes(person, objects, data["scene"])


def cut_to_json(cut: ConceptCut) -> dict[str, Any]:
    """A ConceptCut as a JSON-able dict."""
    boxes = np.asarray(cut.boxes, dtype=np.float64)
    rows = _rows(boxes.reshape(-1, 4))
    return {"group": cut.group, "concept": cut.concept, "kind": cut.kind, "frame": cut.frame,
            "boxes": rows[0] if boxes.ndim == 1 else rows}  # fmt: skip


def cut_from_json(data: Mapping[str, Any]) -> ConceptCut:
    """A ConceptCut back from cut_to_json."""
    boxes = _array(data["boxes"]) if data["kind"] == "spatiotemporal" else np.array(data["boxes"])
    return ConceptCut(data["group"], data["concept"], data["kind"], data["frame"], boxes)


def _failed(video_id: str, label: str, reason: str) -> dict[str, Any]:
    """The row of a video that gives no concept clips, and why."""
    return {"video_id": video_id, "label": label, "status": "failed", "error": reason,
            "num_frames": None, "height": None, "width": None, "window": None, "boxes": None}


def _read_error(err: Exception) -> str:
    """'reason: detail' of a decoding failure."""
    if isinstance(err, VideoReadError):
        return f"{err.reason}: {err}"
    return f"unreadable: {type(err).__name__}: {err}"


def locate_concepts(
    video_id: str, uri: str, label: str, truth: VideoBoxes | None,
    detector: ObjectDetector | None, length: int, seed: int,
) -> dict[str, Any]:  # fmt: skip
    """One video's window and its boxes (ground truth, else the detector's) as a row."""
    video_seed = stable_seed(seed, video_id)
    try:
        with open_video(uri) as reader:
            info = reader.info
            if truth is not None:
                frames = None if truth.person is None else len(truth.person)
                if frames is not None and frames != info.num_frames:
                    return _failed(video_id, label, f"ground_truth: {frames} frames of boxes for "
                                   f"a video of {info.num_frames}; render the dataset again")
                window = clip_window(info.num_frames, length, video_seed, truth.present())
                boxes = truth.take(window)
            else:
                if detector is None:
                    raise ValueError("locate_concepts needs ground truth or a detector")
                window = clip_window(info.num_frames, length, video_seed)
                boxes = boxes_from_detections(detector.detect(reader.get_frames(window.tolist())))
    except Exception as err:  # noqa: BLE001 - one unreadable video fails that video only
        return _failed(video_id, label, _read_error(err))
    if not plan_concept_cuts(boxes, (info.height, info.width), video_seed):
        return _failed(video_id, label, "no_boxes: no person or object box in the clip window"
                       + (" (ground truth)" if truth is not None else " (detector)"))
    return {"video_id": video_id, "label": label, "status": "ok", "error": None,
            "num_frames": info.num_frames, "height": info.height, "width": info.width,
            "window": window.tolist(), "boxes": boxes_to_json(boxes)}  # fmt: skip


def video_cuts(row: Mapping[str, Any], seed: int) -> list[ConceptCut]:
    """The concept cuts a located video's row allows (the same seeded plan everywhere)."""
    boxes = boxes_from_json(row["boxes"])
    return plan_concept_cuts(boxes, (row["height"], row["width"]),
                             stable_seed(seed, row["video_id"]))  # fmt: skip


def choose_concept_cuts(
    cuts: Mapping[str, Sequence[ConceptCut]], cap: int, seed: int
) -> dict[str, list[ConceptCut]]:
    """video_id -> its cuts kept: at most `cap` videos per (group, concept), seeded choice."""
    by_concept: dict[tuple[str, str], list[str]] = {}
    for video_id in sorted(cuts):
        for cut in cuts[video_id]:
            by_concept.setdefault((cut.group, cut.concept), []).append(video_id)
    kept: set[tuple[str, str, str]] = set()
    for (group, concept), videos in sorted(by_concept.items()):
        chosen = videos
        if len(videos) > cap:
            rng = np.random.default_rng(stable_seed(seed, group, concept))
            chosen = [videos[i] for i in sorted(rng.choice(len(videos), cap, replace=False))]
        kept.update((v, group, concept) for v in chosen)
    out = {
        video_id: [c for c in video_cuts if (video_id, c.group, c.concept) in kept]
        for video_id, video_cuts in sorted(cuts.items())
    }
    return {video_id: chosen for video_id, chosen in out.items() if chosen}


def random_to_json(plan: RandomClip, set_name: str, index: int) -> dict[str, Any]:
    """One planned random clip, with its set and place in it, as a JSON-able dict."""
    return {"concept": set_name, "index": index, "start": plan.start, "box": list(plan.box),
            "kind": plan.kind}  # fmt: skip


def _needed_frames(window: Sequence[int], randoms: Sequence[Mapping[str, Any]], length: int
                   ) -> np.ndarray:  # fmt: skip
    """Sorted unique frame indices the window and the random clips read."""
    wanted = {int(i) for i in window}
    for plan in randoms:
        span = 1 if plan["kind"] == "spatial" else length
        wanted.update(range(int(plan["start"]), int(plan["start"]) + span))
    return np.array(sorted(wanted), dtype=np.int64)


def cut_video_clips(
    item: Mapping[str, Any], size: int, length: int, random_group: str
) -> list[dict[str, Any]]:
    """The clip rows of one video (its chosen cuts and random clips), or one failed row."""
    cuts = [cut_from_json(c) for c in json.loads(item["cuts"])]
    randoms = json.loads(item["randoms"])
    window = list(item["window"] or [])
    base = {"video_id": item["video_id"], "label": item["label"]}
    try:
        needed = _needed_frames(window, randoms, length)
        with open_video(item["uri"]) as reader:
            frames = reader.get_frames(needed.tolist())
    except Exception as err:  # noqa: BLE001 - one unreadable video fails that video only
        return [{**base, "status": "failed", "error": _read_error(err)}]
    position = {int(f): i for i, f in enumerate(needed)}
    rows = []
    if cuts:
        clip_frames = frames[[position[int(f)] for f in window]]
        for index, cut in enumerate(cuts):
            clip = cut_concept_clip(clip_frames, cut, size, length)
            rows.append({**base, "status": "ok", "group": cut.group, "concept": cut.concept,
                         "kind": cut.kind, "index": index, "clip": npy_bytes(clip)})
    for plan in randoms:
        span = 1 if plan["kind"] == "spatial" else length
        start = int(plan["start"])
        sub = frames[[position[f] for f in range(start, start + span)]]
        box = tuple(float(v) for v in plan["box"])
        clip = cut_random_clip(sub, RandomClip(0, 0, box, plan["kind"]), size, length)  # type: ignore[arg-type]
        rows.append({**base, "status": "ok", "group": random_group, "concept": plan["concept"],
                     "kind": plan["kind"], "index": int(plan["index"]), "clip": npy_bytes(clip)})
    return rows
