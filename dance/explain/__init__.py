"""Explanations and edits of a trained DanceModel: plain functions on tensors, no Ray.

    explanations = explain_videos(model, video_ids, features, top_k=3)
    edited = edit_classes(model, [ClassEdit("volleyball_spiking", "net", shift=0.5)])
    outcome = compare_predictions(labels, model.logits(x).argmax(1), edited.logits(x).argmax(1))
"""

from dance.explain._contributions import ConceptContribution, VideoExplanation, explain_videos
from dance.explain._interventions import (
    ClassEdit,
    EditOutcome,
    class_index,
    compare_predictions,
    concept_index,
    edit_classes,
    logits_with_activation,
)

__all__ = [
    "ClassEdit",
    "ConceptContribution",
    "EditOutcome",
    "VideoExplanation",
    "class_index",
    "compare_predictions",
    "concept_index",
    "edit_classes",
    "explain_videos",
    "logits_with_activation",
]
