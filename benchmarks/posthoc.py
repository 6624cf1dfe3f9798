"""Benchmark: do Grad-CAM and DANCE point to what truly separates a DANCE-Synth class?

    .venv/bin/python benchmarks/posthoc.py [--config demo] [--videos 80]
        # needs a finished `make demo` workdir; writes results/posthoc.json

DANCE-Synth records, per class, the factor that separates it from its pair (motion,
object or scene; docs/synth.md) and, per frame, the person's and the object's boxes. On
the demo's test videos of the motion-, object- and scene-separated classes:

- **Grad-CAM** (and HiResCAM) of the true class, for the fine-tuned backbone's own head and
  for DANCE's class logit through its concept bottleneck, at the backbone's last block.
  Each map is split into three disjoint regions per sampled frame: the object's box, the
  person's box without it, and the background. Per region: its share of the map's
  energy, and that share over the region's share of the area (the density; 1 = no
  preference). The map *points to* the region of highest density; the true cause is the
  person for motion classes, the object for object classes and the background for scene
  classes.
- **Sanity checks of the maps** (Adebayo et al. 2018): the same maps from the backbone with
  every weight re-initialised (a map that barely changes does not explain the model), as a
  Spearman rank correlation of the two maps per video; and the maps of the video played
  backwards (its frames reversed), compared with the forward map reversed in time.
- **DANCE**: the type of the true class's largest positive concept contribution (motion,
  object or scene) against the separating factor.

Same test videos for every row; one table side by side (benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from scipy import stats

from dance.config import load_config
from dance.encoders import VideoBackbone, backbone_frame_indices
from dance.explain import explain_videos
from dance.manifest import Manifest
from dance.posthoc import VideoCam
from dance.preprocess import unpack
from dance.progress import log_to_stderr
from dance.synth import load_ground_truth
from dance.train import feature_matrix
from dance.workdir import manifest_uri, model_dir
from ray_jobs.evaluate import load_decoded
from ray_jobs.predict import Predictor
from ray_jobs.sanity import synth_class_facts

RESULTS = Path(__file__).parent / "results" / "posthoc.json"
REGIONS = ("person", "object", "background")
CAUSE = {"motion": "person", "object": "object", "scene": "background"}


def region_masks(person: np.ndarray, obj: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(3, H, W) bool masks of one frame: object box, person box minus it, background."""
    height, width = size
    masks = np.zeros((3, height, width), bool)

    def fill(index: int, box: np.ndarray) -> None:
        if not np.all(np.isfinite(box)):
            return
        x0, y0, x1, y1 = np.clip(np.round(box).astype(int), 0, [width, height, width, height])
        masks[index, y0:y1, x0:x1] = True

    fill(1, obj)
    fill(0, person)
    masks[0] &= ~masks[1]
    masks[2] = ~(masks[0] | masks[1])
    return masks


def region_shares(maps: np.ndarray, masks: np.ndarray) -> dict[str, dict[str, float]]:
    """Per region: energy share, area share and density over the clip's (T, H, W) maps."""
    energy = maps.sum()
    out = {}
    for index, name in enumerate(REGIONS):
        area = masks[:, index].mean()
        share = float((maps * masks[:, index]).sum() / energy) if energy > 0 else 0.0
        out[name] = {"energy": share, "area": float(area),
                     "density": share / float(area) if area > 0 else float("nan")}
    return out


def points_to(shares: dict[str, dict[str, float]]) -> str:
    """The region of highest density (regions with no area left out)."""
    usable = {k: v["density"] for k, v in shares.items() if v["area"] > 0}
    return max(usable, key=usable.get)


def randomised(backbone_path: str, seed: int) -> VideoBackbone:
    """The backbone with every weight re-initialised (the model-randomisation test)."""
    backbone = VideoBackbone.from_pretrained(backbone_path, device="cpu")
    torch.manual_seed(seed)
    whole = backbone.classifier if backbone.classifier is not None else backbone.encoder
    for module in whole.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    return backbone


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation of two maps, flattened."""
    return float(stats.spearmanr(a.ravel(), b.ravel()).statistic)


def _clip(predictor: Predictor, cfg: Any, video_id: str, uri: str) -> tuple | None:
    """(backbone frames, the video's (height, width), sampled frame indices), or None."""
    row = predictor.decode(video_id, uri)
    if row["status"] != "ok" or row.get("backbone_frames") is None:
        return None
    frames = unpack(row["backbone_frames"], row["backbone_shape"], np.uint8)
    indices = backbone_frame_indices(int(row["num_frames"]), cfg.backbone)
    return frames, (int(row["height"]), int(row["width"])), indices


def main() -> None:
    """Explain the demo's test videos with each method; write the JSON and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="demo")
    parser.add_argument("--videos", type=int, default=80, help="test videos to explain")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    cfg = load_config(args.config)
    workdir = str(Path(cfg.workdir).resolve())
    cfg = cfg.model_copy(update={"workdir": workdir})
    manifest = Manifest.read(manifest_uri(workdir))
    factors = {name: f["factor"] for name, f in (synth_class_facts(cfg) or {}).items()
               if f["factor"] in CAUSE}
    truth = load_ground_truth(str(Path(cfg.dataset.root).resolve()))
    predictor = Predictor(model_dir(workdir), None, log_to_stderr)
    model = predictor.model
    backbone = VideoBackbone.from_pretrained(predictor.backbone_path, device="cpu")
    cams = {"backbone head": VideoCam.for_backbone_head(backbone),
            "DANCE logit": VideoCam.for_dance(backbone, model)}
    random_cam = VideoCam.for_backbone_head(randomised(predictor.backbone_path, args.seed))
    test = [r for r in manifest.split("test").table.to_pylist() if r["label_name"] in factors]
    test = test[: args.videos]
    decoded, _ = load_decoded(cfg, manifest)
    rows = decoded.filter(pc.is_in(decoded["video_id"], value_set=pa.array(
        [r["video_id"] for r in test])))
    order = {v: i for i, v in enumerate(rows["video_id"].to_pylist())}
    features = feature_matrix(rows)
    per_video: list[dict[str, Any]] = []
    for number, record in enumerate(test, 1):
        video_id, factor = record["video_id"], factors[record["label_name"]]
        clip = _clip(predictor, cfg, video_id, record["uri"])
        if clip is None or video_id not in order or video_id not in truth:
            continue
        frames, size, indices = clip
        person_boxes, object_boxes = truth[video_id].boxes()
        masks = np.stack([region_masks(person_boxes[i], object_boxes[i], size)
                          for i in indices])
        target = model.class_names.index(record["label_name"])
        entry: dict[str, Any] = {"video_id": video_id, "class": record["label_name"],
                                 "factor": factor, "cause": CAUSE[factor], "methods": {}}
        forward = None
        for name, cam in cams.items():
            for method in ("gradcam", "hirescam"):
                result = cam.explain(frames, method=method, class_index=target, size=size)
                shares = region_shares(result.maps, masks)
                entry["methods"][f"{method} ({name})"] = {
                    "shares": shares, "points_to": points_to(shares),
                    "predicted_right": result.predicted_index == target}
                if name == "backbone head" and method == "gradcam":
                    forward = result.maps
        randomised_maps = random_cam.explain(frames, class_index=target, size=size).maps
        reversed_maps = cams["backbone head"].explain(frames[::-1].copy(), class_index=target,
                                                      size=size).maps
        entry["randomised_spearman"] = _spearman(forward, randomised_maps)
        entry["reversed_spearman"] = _spearman(forward[::-1], reversed_maps)
        entry["reversed_shares"] = region_shares(reversed_maps, masks[::-1])
        explanation = explain_videos(model, [video_id], features[order[video_id]][None],
                                     classes=[target], top_k=3)[0]
        positive = [part for part in explanation.top if part.contribution > 0]
        entry["dance_top_type"] = positive[0].type if positive else None
        entry["dance_predicted_right"] = int(model.logits(
            features[order[video_id]][None]).argmax()) == target
        per_video.append(entry)
        log_to_stderr(f"{number}/{len(test)} {video_id}")
    result = summarise(per_video)
    result.update({"config": args.config, "videos": len(per_video), "layer": "last block",
                   "seconds": round(time.perf_counter() - started, 1), "per_video": per_video})
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "per_video"}, indent=2))


def summarise(per_video: list[dict[str, Any]]) -> dict[str, Any]:
    """Pointing rates per method and factor, mean region shares, sanity-check correlations."""
    hits: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    shares: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list)))
    for entry in per_video:
        factor = entry["factor"]
        for method, found in entry["methods"].items():
            hits[method][factor].append(found["points_to"] == entry["cause"])
            for region in REGIONS:
                shares[method][factor][region].append(found["shares"][region]["energy"])
        if entry["dance_top_type"] is not None:
            hits["DANCE (top contribution)"][factor].append(entry["dance_top_type"] == factor)
    pointing = {method: {factor: round(float(np.mean(v)), 3) for factor, v in by.items()}
                | {"all": round(float(np.mean([x for v in by.values() for x in v])), 3)}
                for method, by in hits.items()}
    mean_shares = {method: {factor: {r: round(float(np.mean(v)), 3) for r, v in by_r.items()}
                            for factor, by_r in by.items()} for method, by in shares.items()}
    return {
        "pointing_to_true_cause": pointing,
        "mean_energy_share": mean_shares,
        "randomised_spearman_mean": round(float(np.mean(
            [e["randomised_spearman"] for e in per_video])), 3),
        "reversed_spearman_mean": round(float(np.mean(
            [e["reversed_spearman"] for e in per_video])), 3),
    }


if __name__ == "__main__":
    main()
