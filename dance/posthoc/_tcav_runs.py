"""Video-TCAV's experiment: concept groups x random runs x layers, then one table.

One *run* of a concept group at a layer (`tcav_run`): relative CAVs, each concept of the
group against the others plus random set r (so every run sees a different contrast), and
a baseline CAV of random set r against random set r + 1. Every class's gradients are
scored along each CAV (`tcav_scores`). Over R runs a concept is significant for a class
at a layer when its sign-counts differ from the baseline's (`tcav_significance`), with
Bonferroni correction over every (class, layer, concept) tested (`tcav_table`).

Runs are independent and seeded (seed + run), so they can go to separate workers in any
order and give the same table.

Why not `captum.concept.TCAV` itself: it keeps activations and CAVs as torch.save pickles
under a local `save_path`, named by concept and layer rather than by content, and loads
them back with torch.load; and it runs every experimental set in one process. dance caches
safetensors on local or S3 workdirs under content hashes and spreads the runs over Ray
tasks. captum's parts are used where they fit: its `Classifier` interface
(`TorchCAVClassifier`), `LayerActivation` and `LayerGradientXActivation`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from dance.errors import InputError
from dance.posthoc._cav import fit_cav, relative_cavs
from dance.posthoc._tcav import tcav_scores, tcav_significance

_RANDOM = "\x00random"  # the random set's key among a group's concepts: no data name has it


@dataclass(frozen=True)
class RunScores:
    """One (group, layer, run): each (class, concept)'s scores, the random baseline's, accuracies."""

    group: str
    layer: str
    run: int
    scores: dict[tuple[str, str], tuple[float, float]]  # (class, concept) -> sign-count, magnitude
    random_scores: dict[str, tuple[float, float]]  # class -> the baseline CAV's scores
    accuracies: dict[str, float]  # concept -> held-out accuracy of its CAV


def tcav_run(
    group: str, layer: str, run: int, concepts: Mapping[str, torch.Tensor],
    random_sets: Sequence[torch.Tensor], gradients: Mapping[str, torch.Tensor], seed: int = 0,
    cav_alpha: float = 0.01,
) -> RunScores:  # fmt: skip
    """Scores of one random run: concepts (name -> (N, F)), random sets, class gradients (M, F)."""
    if len(random_sets) < 2:
        raise InputError(
            f"{len(random_sets)} random concept set(s); TCAV's baseline needs at least 2 "
            "(raise concept_clips.random_sets)"
        )
    if not concepts:
        raise InputError(f"concept group {group!r} has no concepts at layer {layer}")
    negatives = random_sets[run % len(random_sets)]
    cavs = relative_cavs({**concepts, _RANDOM: negatives}, seed=seed + run, alpha=cav_alpha)
    baseline = fit_cav(
        negatives, random_sets[(run + 1) % len(random_sets)], seed=seed + run,
        concept=f"random set {run}", alpha=cav_alpha,
    )
    scores = {
        (class_name, concept): tcav_scores(class_gradients, cavs[concept].vector)
        for class_name, class_gradients in gradients.items()
        for concept in concepts
    }
    random_scores = {
        class_name: tcav_scores(class_gradients, baseline.vector)
        for class_name, class_gradients in gradients.items()
    }
    accuracies = {concept: cavs[concept].accuracy for concept in concepts}
    return RunScores(group, layer, run, scores, random_scores, accuracies)


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0


def tcav_table(
    runs: Sequence[RunScores], kinds: Mapping[tuple[str, str], str], alpha: float = 0.05
) -> tuple[list[dict], int]:
    """(one row per class, layer and concept, the number of hypotheses) from every run.

    kinds: (group, concept) -> "spatial" or "spatiotemporal". Rows are sorted by class,
    layer, group and concept; each holds mean sign-count and magnitude over runs, the
    random baseline's, the t-test and the Bonferroni-corrected p-value.
    """
    concept_runs: dict[tuple, list[tuple[float, float]]] = defaultdict(list)
    random_runs: dict[tuple, list[float]] = defaultdict(list)
    accuracies: dict[tuple, list[float]] = defaultdict(list)
    for cell in sorted(runs, key=lambda r: (r.group, r.layer, r.run)):
        for (class_name, concept), values in cell.scores.items():
            concept_runs[(class_name, cell.layer, cell.group, concept)].append(values)
        for concept, accuracy in cell.accuracies.items():
            accuracies[(cell.layer, cell.group, concept)].append(accuracy)
        for class_name, values in cell.random_scores.items():
            random_runs[(class_name, cell.layer, cell.group)].append(values[0])
    hypotheses = len(concept_runs)
    rows = []
    for key in sorted(concept_runs):
        class_name, layer, group, concept = key
        sign_counts = [value[0] for value in concept_runs[key]]
        random_counts = random_runs[(class_name, layer, group)]
        test = tcav_significance(sign_counts, random_counts, hypotheses, alpha)
        sign_mean, sign_std = _mean_std(sign_counts)
        random_mean, random_std = _mean_std(random_counts)
        rows.append({
            "class": class_name, "layer": layer, "group": group, "concept": concept,
            "kind": kinds.get((group, concept), "spatial"),
            "sign_count": sign_mean, "sign_count_std": sign_std,
            "magnitude": _mean_std([value[1] for value in concept_runs[key]])[0],
            "random_sign_count": random_mean, "random_sign_count_std": random_std,
            "cav_accuracy": _mean_std(accuracies[(layer, group, concept)])[0],
            "runs": len(sign_counts), "t": test.t, "p": test.p,
            "p_corrected": test.p_corrected, "significant": test.significant,
        })  # fmt: skip
    return rows, hypotheses
