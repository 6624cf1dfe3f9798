"""The sanity stage: do the model and its explanations rest on the right evidence?

    model/ + the test videos played backwards (decoded and embedded by the same
    preprocessing code, features only, into <workdir>/reversed/)
      -> reversal: predictions and top concepts forward vs reversed; on DANCE-Synth the
         rate at which a reversal-pair video reversed is predicted as its pair class
      -> fidelity (DANCE-Synth): share of top contributions of the separating factor's type
      -> deletion curve: test accuracy with each video's top-k concepts zeroed vs k random
      -> shift edit: class edits suggested from validation videos only, scored on the
         shifted test set before and after; the edited model in model_edits/suggested/
      -> reports/sanity.json and the sanity stage record

    python -m ray_jobs.sanity --config demo [--set key=value ...] [--force]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dance import storage
from dance.config import DanceConfig
from dance.errors import InputError
from dance.explain import (
    EditOutcome,
    compare_predictions,
    compare_reversed,
    deletion_curve,
    edit_classes,
    explain_videos,
    explanation_fidelity,
    suggest_class_edits,
)
from dance.manifest import Manifest
from dance.preprocess import (
    preprocess_facts,
    preprocess_inputs,
    read_videos,
    resolve_encoder_models,
)
from dance.progress import Log, log_to_stderr
from dance.train import DanceModel, feature_matrix, join_on_video_id
from dance.workdir import (
    SUGGESTED_EDIT,
    StagePlan,
    begin_stage,
    manifest_uri,
    model_edits_dir,
    reports_dir,
    require_done,
    reversed_workdir,
)
from ray_jobs._runtime import job_main, with_absolute_paths
from ray_jobs.evaluate import SHIFTED, load_decoded
from ray_jobs.preprocess import preprocess_features_only
from ray_jobs.train import output_uri

SANITY_FILE = "sanity.json"


def synth_class_facts(cfg: DanceConfig) -> dict[str, dict[str, Any]] | None:
    """DANCE-Synth's classes.json (factor, reversal partner per class); None elsewhere."""
    if cfg.dataset.name != "synth" or not cfg.dataset.root:
        return None
    uri = storage.join(cfg.dataset.root, "classes.json")
    return storage.read_json(uri) if storage.exists(uri) else None


def reversed_features(cfg: DanceConfig, manifest: Manifest, log: Log) -> pa.Table:
    """(video_id, features) of the test videos played backwards, through preprocess's code."""
    workdir = reversed_workdir(cfg.workdir)
    test = manifest.split("test")
    if not len(test):
        raise InputError("the manifest has no test video to reverse")
    if storage.exists(manifest_uri(workdir)):
        stored = Manifest.read(manifest_uri(workdir))
        if stored.video_ids != test.video_ids:  # another manifest: start the set over
            storage.remove(workdir)
    if not storage.exists(manifest_uri(workdir)):
        test.write(manifest_uri(workdir))
    models = resolve_encoder_models(cfg, log)
    models = replace(models, dual=None, dual_side=None)  # DANCE reads backbone features only
    _check_same_backbone(cfg, models)
    preprocess_features_only(cfg, workdir, models, log, "test videos reversed", reverse_time=True)
    videos = read_videos(workdir, columns=["video_id", "status", "backbone"])
    ok = videos.filter(pc.equal(videos["status"], "ok"))
    return ok.select(["video_id", "backbone"]).rename_columns(["video_id", "features"])


def _check_same_backbone(cfg: DanceConfig, models: Any) -> None:
    """Refuse to compare features of two different backbones."""
    record = require_done(cfg.workdir, "preprocess", "dance preprocess --config <config>")
    used = (record.facts.get("backbone") or {}).get("sha256")
    now = preprocess_facts(cfg, models, preprocess_inputs(cfg, models))["backbone"]["sha256"]
    if used != now:
        raise InputError(
            f"the backbone the config names now ({models.backbone}) is not the one that made "
            f"the stored features; rerun `dance preprocess --config <config> --force`"
        )


def _reversal(model: DanceModel, decoded: pa.Table, backward: pa.Table,
              partners: dict[int, int], top_k: int) -> dict[str, Any]:
    """The reversal report of the test videos decoded both ways (joined by video_id)."""
    test = decoded.filter(pc.equal(decoded["split"], "test")).select(["video_id", "features",
                                                                       "label"])
    joined = join_on_video_id(
        test, backward.rename_columns(["video_id", "reversed"])
    ).sort_by("video_id")
    result = compare_reversed(
        model, joined["video_id"].to_pylist(), feature_matrix(joined),
        feature_matrix(joined.select(["video_id", "reversed"]).rename_columns(
            ["video_id", "features"])),
        joined["label"].to_numpy(), partners, top_k,
    )
    names, classes = model.concept_names, model.class_names
    return {
        "videos": len(result.videos), "changed": result.changed, "top_kept": result.top_kept,
        "pair_videos": result.pair_videos, "pair_rate": result.pair_rate,
        "pair_rate_forward": result.pair_rate_forward,
        "per_video": [
            {"video_id": v.video_id, "label": classes[v.label], "forward": classes[v.forward],
             "reversed": classes[v.reversed],
             "forward_top": [names[k] for k in v.forward_top],
             "reversed_top": [names[k] for k in v.reversed_top]}
            for v in result.videos
        ],
    }


def _split(decoded: pa.Table, split: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(features, labels, video_ids) of one split."""
    rows = decoded.filter(pc.equal(decoded["split"], split))
    if not rows.num_rows:
        return np.zeros((0, 0), np.float32), np.zeros(0, np.int64), []
    return feature_matrix(rows), rows["label"].to_numpy(), rows["video_id"].to_pylist()


def _shift_edit(cfg: DanceConfig, model: DanceModel, decoded: pa.Table,
                test: tuple[np.ndarray, np.ndarray], log: Log) -> dict | None:
    """Edits suggested from validation videos, scored on the shifted and the plain test set."""
    shifted_x, shifted_y, _ = _split(decoded, SHIFTED)
    val_x, val_y, _ = _split(decoded, "val")
    if not len(shifted_y) or not len(val_y):
        return None
    suggestions = suggest_class_edits(
        model, val_x, val_y, cfg.evaluate.suggest_per_class, cfg.evaluate.suggest_min_activation
    )
    out = model_edits_dir(cfg.workdir, SUGGESTED_EDIT)
    edited = edit_classes(model, [s.edit for s in suggestions]) if suggestions else model
    if suggestions:
        edited.save_pretrained(out)
    outcome = _edit_outcome(model, edited, shifted_x, shifted_y)
    # What the edit costs where the model already worked: the test split, scored the same way.
    test_x, test_y = test
    test_outcome = _edit_outcome(model, edited, test_x, test_y) if len(test_y) else None
    line = (f"shift edit: {len(suggestions)} edit(s) suggested from {len(val_y)} validation "
            f"videos; shifted accuracy {outcome.accuracy_before:.3f} -> "
            f"{outcome.accuracy_after:.3f} ({outcome.fixed} fixed, {outcome.broken} broken)")
    if test_outcome is not None:
        line += (f"; test accuracy {test_outcome.accuracy_before:.3f} -> "
                 f"{test_outcome.accuracy_after:.3f} ({test_outcome.fixed} fixed, "
                 f"{test_outcome.broken} broken)")
    log(line)
    return {
        "edits": [{**asdict(s.edit), "misclassified_videos": s.misclassified_videos,
                   "activation": s.activation, "elsewhere": s.elsewhere,
                   "val_accuracy_after": s.val_accuracy_after} for s in suggestions],
        "outcome": _outcome_dict(outcome),
        "test_outcome": None if test_outcome is None else _outcome_dict(test_outcome),
        "model": out if suggestions else None,
    }


def _edit_outcome(
    model: DanceModel, edited: DanceModel, x: np.ndarray, y: np.ndarray
) -> EditOutcome:
    """compare_predictions of the model and its edited copy on one split."""
    return compare_predictions(y, model.logits(x).argmax(1).numpy(),
                               edited.logits(x).argmax(1).numpy())


def _outcome_dict(outcome: EditOutcome) -> dict[str, Any]:
    """An EditOutcome as JSON, with its accuracy change."""
    return {**asdict(outcome), "accuracy_change": outcome.accuracy_change}


def sanity_plan(cfg: DanceConfig) -> StagePlan:
    """The checks read the preprocessed features and the trained bundle."""
    return StagePlan({}, ("preprocess", "train"))


def run_sanity(cfg: DanceConfig, log: Log = log_to_stderr, force: bool = False) -> dict:
    """Reversal, fidelity, deletion and shift-edit checks of the trained model."""
    started = time.perf_counter()
    cfg = with_absolute_paths(cfg)
    storage.configure(cfg.storage)
    require_done(cfg.workdir, "train", "dance train --config <config>")
    run = begin_stage(
        cfg.workdir, "sanity", cfg.model_dump(mode="json"), upstream=sanity_plan(cfg).upstream,
        force=force, log=log, command="dance sanity --config <config>",
    )
    previous = run.previous.upstream.get("preprocess") if run.previous else None
    if previous != run.record.upstream["preprocess"]:
        # reversed features of another preprocess run (another backbone): not comparable
        storage.remove(reversed_workdir(cfg.workdir))
    manifest = Manifest.read(manifest_uri(cfg.workdir))
    model = DanceModel.from_pretrained(output_uri(cfg))
    decoded, _ = load_decoded(cfg, manifest)
    classes = synth_class_facts(cfg)
    index = {name: i for i, name in enumerate(model.class_names)}
    partners = {
        index[name]: index[facts["reversal_partner"]] for name, facts in (classes or {}).items()
        if facts.get("reversal_partner") in index and name in index
    }
    top_k = cfg.evaluate.top_k
    report: dict[str, Any] = {"model": output_uri(cfg), "kind": model.kind}
    report["reversal"] = _reversal(model, decoded, reversed_features(cfg, manifest, log),
                                   partners, top_k)
    test_x, test_y, test_ids = _split(decoded, "test")
    if classes and model.kind == "dance":
        factors = {n: f["factor"] for n, f in classes.items() if f["factor"] != "mixed"}
        fidelity = explanation_fidelity(
            model, explain_videos(model, test_ids, test_x, top_k=top_k), test_y, factors
        )
        report["fidelity"] = {**asdict(fidelity), "share": fidelity.share, "top_k": top_k}
    curve = deletion_curve(model, test_x, test_y, cfg.evaluate.deletion_ks,
                           cfg.evaluate.deletion_repeats, cfg.seed)
    report["deletion"] = asdict(curve)
    report["shift_edit"] = _shift_edit(cfg, model, decoded, (test_x, test_y), log)
    report["seconds"] = round(time.perf_counter() - started, 3)
    storage.write_json(report, storage.join(reports_dir(cfg.workdir), SANITY_FILE))
    _log_report(report, log)
    run.finish(facts=_facts(report), counts={"reversed_videos": report["reversal"]["videos"]})
    return report


def _facts(report: dict[str, Any]) -> dict[str, Any]:
    """The headline figures the stage record keeps."""
    shift = report["shift_edit"]
    return {
        "reversal_pair_rate": report["reversal"]["pair_rate"],
        "prediction_changed_reversed": report["reversal"]["changed"],
        "fidelity": (report.get("fidelity") or {}).get("share"),
        "deletion": {"ks": report["deletion"]["ks"], "top": report["deletion"]["top"],
                     "random": report["deletion"]["random"]},
        "shifted_accuracy": None if shift is None else {
            "before": shift["outcome"]["accuracy_before"],
            "after": shift["outcome"]["accuracy_after"], "edits": len(shift["edits"])},
        "test_accuracy_after_shift_edit": None if shift is None or not shift["test_outcome"]
        else shift["test_outcome"]["accuracy_after"],
    }


def _log_report(report: dict[str, Any], log: Log) -> None:
    """The figures, one line each."""
    rev = report["reversal"]
    log(f"reversal: {rev['videos']} test videos played backwards; prediction changed for "
        f"{rev['changed']:.1%}, {rev['top_kept']:.1%} of the top concepts kept")
    if rev["pair_videos"]:
        log(f"reversal pairs: {rev['pair_rate']:.1%} of {rev['pair_videos']} reversed videos "
            f"predicted as their pair class ({rev['pair_rate_forward']:.1%} played forward)")
    if "fidelity" in report:
        fid = report["fidelity"]
        log(f"fidelity: {fid['share']:.1%} of the top-{fid['top_k']} contributions of "
            f"{fid['videos']} correctly predicted videos are of the separating factor's type "
            f"(chance {fid['chance']:.1%})")
    d = report["deletion"]
    log("deletion: k " + " ".join(f"{k:>5}" for k in d["ks"]))
    log("  top-k   " + " ".join(f"{a:5.3f}" for a in d["top"]))
    log("  random  " + " ".join(f"{a:5.3f}" for a in d["random"]))


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ray_jobs.sanity --config PRESET_OR_YAML [--set key=value ...] [--force]`."""
    return job_main(run_sanity, "python -m ray_jobs.sanity", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
