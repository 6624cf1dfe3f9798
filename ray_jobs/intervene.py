"""`dance intervene`: class-level edits of the trained model, measured on a split, saved apart.

    model/ (DanceModel) + edits (class, concept, set or shift W[c, k])
      -> predictions before and after on a split (val, test or shifted): fixed, broken,
         unchanged counts and the accuracy change
      -> the edited model as a new bundle under <workdir>/model_edits/<name>/, whose JSON
         records the edits and the parent bundle's path and weights sha256; model/ is
         never written

A linear map over stored features: it runs on the driver, no cluster needed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from dance import storage
from dance.config import DanceConfig
from dance.errors import InputError
from dance.explain import ClassEdit, compare_predictions, edit_classes
from dance.manifest import Manifest
from dance.progress import Log, log_to_stderr
from dance.train import DanceModel, feature_matrix
from dance.workdir import manifest_uri, model_edits_dir, require_done
from ray_jobs._runtime import with_absolute_paths
from ray_jobs.evaluate import load_decoded
from ray_jobs.train import output_uri

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def parse_edit(text: str) -> ClassEdit:
    """'CLASS:CONCEPT=VALUE' sets W[class, concept]; 'CLASS:CONCEPT+=DELTA' shifts it."""
    head, sep, number = text.rpartition("=")
    shift = head.endswith(("+", "-"))
    target = head[:-1] if shift else head
    class_name, colon, concept = target.partition(":")
    try:
        value = float(number)
    except ValueError:
        value = None
    if not (sep and colon and class_name and concept) or value is None:
        raise InputError(
            f"cannot read the edit {text!r}: write CLASS:CONCEPT=VALUE to set a weight or "
            f"CLASS:CONCEPT+=DELTA (-=) to shift it, e.g. squat:gym+=0.5"
        )
    if shift:
        return ClassEdit(class_name, concept, shift=value if head.endswith("+") else -value)
    return ClassEdit(class_name, concept, value=value)


def run_intervene(
    cfg: DanceConfig, edits: Sequence[str], name: str, split: str = "test",
    log: Log = log_to_stderr,
) -> dict[str, Any]:
    """Apply the edits to the trained model, compare predictions on `split`, save the result."""
    cfg = with_absolute_paths(cfg)
    storage.configure(cfg.storage)
    if not _NAME.match(name):
        raise InputError(
            f"the edit name {name!r} must be 1-64 letters, digits, '_', '.' or '-' (it names "
            f"the folder <workdir>/model_edits/<name>)"
        )
    require_done(cfg.workdir, "train", "dance train --config <config>")
    parent = DanceModel.from_pretrained(output_uri(cfg))
    edited = edit_classes(parent, [parse_edit(text) for text in edits])
    decoded, _ = load_decoded(cfg, Manifest.read(manifest_uri(cfg.workdir)))
    rows = np.asarray(decoded["split"].to_pylist()) == split
    if not rows.any():
        raise InputError(f"no decoded video is in the split {split!r}; use val, test or shifted")
    features = feature_matrix(decoded.filter(rows))
    labels = decoded["label"].to_numpy()[rows]
    outcome = compare_predictions(
        labels, parent.logits(features).argmax(1).numpy(), edited.logits(features).argmax(1).numpy()
    )
    out = model_edits_dir(cfg.workdir, name)
    if storage.exists(out):
        raise InputError(f"{out} already holds an edited model; choose another name")
    edited.save_pretrained(out)
    log(
        f"{split}: {outcome.videos} videos, {outcome.fixed} fixed, {outcome.broken} broken, "
        f"{outcome.unchanged_correct} unchanged right, {outcome.unchanged_wrong} unchanged wrong; "
        f"accuracy {outcome.accuracy_before:.3f} -> {outcome.accuracy_after:.3f}"
    )
    log(f"edited model written to {out} (the trained model is unchanged)")
    return {"split": split, "outcome": outcome, "output": out}
