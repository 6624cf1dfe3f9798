"""Explanations and edits of a trained DanceModel: plain functions on tensors, no Ray.

    explanations = explain_videos(model, video_ids, features, top_k=3)
    edited = edit_classes(model, [ClassEdit("volleyball_spiking", "net", shift=0.5)])
    outcome = compare_predictions(labels, model.logits(x).argmax(1), edited.logits(x).argmax(1))
    suggested = suggest_class_edits(model, val_features, val_labels)  # validation data only
    curve = deletion_curve(model, test_features, test_labels)  # top-k vs random k zeroed
"""

from dance.explain._contributions import ConceptContribution, VideoExplanation, explain_videos
from dance.explain._fidelity import (
    DeletionCurve,
    FidelityResult,
    deletion_curve,
    explanation_fidelity,
)
from dance.explain._interventions import (
    ClassEdit,
    EditOutcome,
    class_index,
    compare_predictions,
    concept_index,
    edit_classes,
    logits_with_activation,
)
from dance.explain._reversal import ReversalResult, ReversedVideo, compare_reversed
from dance.explain._suggest import SuggestedEdit, suggest_class_edits

__all__ = [
    "ClassEdit",
    "ConceptContribution",
    "DeletionCurve",
    "EditOutcome",
    "FidelityResult",
    "ReversalResult",
    "ReversedVideo",
    "SuggestedEdit",
    "VideoExplanation",
    "class_index",
    "compare_predictions",
    "compare_reversed",
    "concept_index",
    "deletion_curve",
    "edit_classes",
    "explain_videos",
    "explanation_fidelity",
    "logits_with_activation",
    "suggest_class_edits",
]
