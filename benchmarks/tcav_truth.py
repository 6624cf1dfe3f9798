"""Benchmark: does Video-TCAV find what truly separates a DANCE-Synth class?

    .venv/bin/python benchmarks/tcav_truth.py [--config demo]
        # needs a finished `make demo` workdir, then `dance concept-clips --config demo`
        # and `dance tcav --config demo`; reads <workdir>/posthoc/tcav/tcav.json and
        # writes results/tcav_truth.json

DANCE-Synth records, per class, the factor that separates it from its contrast class
(docs/synth.md): its object, its scene or its motion. From the TCAV table, per layer:

- **context classes** (object- or scene-separated): the true concept (the class's own
  object or scene) should be significant with a sign-count above the random baseline's,
  and the wrong one (the contrast class's object or scene) should not;
- **motion classes**: the paper's claim, the spatiotemporal person concept (the person
  tracked over the clip) scoring above its static version (one frame of the person,
  repeated), increasingly in later layers;
- **points to the true cause** (the row beside Grad-CAM and DANCE): at the last layer, the
  group of the class's highest-scoring concept among those significant and above random
  (person for motion, object, scene) against the separating factor. TCAV explains a
  class, not a video, so this rate is over classes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from dance import storage
from dance.config import load_config
from ray_jobs.sanity import synth_class_facts
from ray_jobs.tcav import tcav_uri

RESULTS = Path(__file__).parent / "results" / "tcav_truth.json"
GROUP_OF_FACTOR = {"motion": "person", "object": "object", "scene": "scene"}
MOVING, STILL = "person_moving", "person_still"


def _cell(rows: dict, class_name: str, layer: str, concept: str | None) -> dict | None:
    """The table row of (class, layer, concept), if tested."""
    return rows.get((class_name, layer, concept)) if concept is not None else None


def _promoted(row: dict | None) -> bool:
    """Significant and above the random baseline: the concept pushes the class up."""
    return bool(row and row["significant"] and row["sign_count"] > row["random_sign_count"])


def _context_entry(rows: dict, layers: list[str], name: str, facts: dict, classes: dict) -> dict:
    """True vs wrong concept of one object- or scene-separated class, per layer."""
    key = "objects" if facts["factor"] == "object" else "scenes"
    true = max(facts[key], key=facts[key].get)
    contrast = classes.get(facts.get("contrast") or "", {})
    wrong = max(contrast[key], key=contrast[key].get) if contrast.get(key) else None
    per_layer = {}
    for layer in layers:
        t, w = _cell(rows, name, layer, true), _cell(rows, name, layer, wrong)
        per_layer[layer] = {
            "true": true, "true_sign_count": t and t["sign_count"],
            "true_p": t and t["p"], "true_p_corrected": t and t["p_corrected"],
            "true_promoted": _promoted(t),
            "wrong": wrong, "wrong_sign_count": w and w["sign_count"],
            "wrong_p_corrected": w and w["p_corrected"], "wrong_promoted": _promoted(w),
            "random_sign_count": t and t["random_sign_count"],
            "hit": _promoted(t) and not _promoted(w),
        }
    return {"factor": facts["factor"], "layers": per_layer}


def _motion_entry(rows: dict, layers: list[str], name: str) -> dict:
    """Spatiotemporal vs static person concept of one motion-separated class, per layer."""
    per_layer = {}
    for layer in layers:
        moving, still = _cell(rows, name, layer, MOVING), _cell(rows, name, layer, STILL)
        per_layer[layer] = {
            "moving_sign_count": moving and moving["sign_count"],
            "moving_p": moving and moving["p"],
            "moving_p_corrected": moving and moving["p_corrected"],
            "still_sign_count": still and still["sign_count"],
            "still_p_corrected": still and still["p_corrected"],
            "moving_beats_still": bool(moving and still
                                       and moving["sign_count"] > still["sign_count"]),
        }
    return {"factor": "motion", "layers": per_layer}


def _points_to(table: list[dict], name: str, layer: str) -> str | None:
    """The group of the class's top promoted concept at a layer (None: nothing promoted)."""
    promoted = [r for r in table if r["class"] == name and r["layer"] == layer and _promoted(r)]
    return max(promoted, key=lambda r: r["sign_count"])["group"] if promoted else None


def main() -> None:
    """Read the demo's TCAV table against DANCE-Synth's causes; write the JSON, print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="demo")
    args = parser.parse_args()
    cfg = load_config(args.config)
    cfg = cfg.model_copy(update={"workdir": str(Path(cfg.workdir).resolve()),
                                 "dataset": cfg.dataset.model_copy(update={
                                     "root": str(Path(cfg.dataset.root).resolve())})})
    tcav = storage.read_json(tcav_uri(cfg.workdir))
    classes = synth_class_facts(cfg) or {}
    layers = tcav["layers"]
    rows = {(r["class"], r["layer"], r["concept"]): r for r in tcav["results"]}
    per_class: dict[str, Any] = {}
    for name, facts in sorted(classes.items()):
        if facts["factor"] in ("object", "scene"):
            per_class[name] = _context_entry(rows, layers, name, facts, classes)
        elif facts["factor"] == "motion":
            per_class[name] = _motion_entry(rows, layers, name)
        else:
            continue
        per_class[name]["points_to"] = _points_to(tcav["results"], name, layers[-1])
    summary = {layer: {
        "context_hit": _share([e["layers"][layer]["hit"] for e in per_class.values()
                               if e["factor"] != "motion"]),
        "motion_moving_beats_still": _share([e["layers"][layer]["moving_beats_still"]
                                             for e in per_class.values()
                                             if e["factor"] == "motion"]),
    } for layer in layers}
    pointing = {factor: _share([e["points_to"] == GROUP_OF_FACTOR[factor]
                                for e in per_class.values() if e["factor"] == factor])
                for factor in GROUP_OF_FACTOR}
    pointing["all"] = _share([e["points_to"] == GROUP_OF_FACTOR[e["factor"]]
                              for e in per_class.values()])
    result = {"config": args.config, "target": tcav["target"], "pooling": tcav["pooling"],
              "runs": tcav["runs"], "alpha": tcav["alpha"], "hypotheses": tcav["hypotheses"],
              "layers": layers, "per_layer": summary,
              "points_to_true_cause_last_layer": pointing, "per_class": per_class}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "per_class"}, indent=2))


def _share(values: list[bool]) -> float | None:
    """The share of True, rounded (None for no values)."""
    return round(sum(values) / len(values), 3) if values else None


if __name__ == "__main__":
    main()
