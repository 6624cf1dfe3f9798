"""Config sections of the post-hoc baselines: concept clips for Video-TCAV, and TCAV itself."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dance.config._base import Section, StageResources


class ConceptClipConfig(Section):
    """`dance concept-clips`: Video-TCAV's concept clips cut from boxes (docs/posthoc.md)."""

    boxes: Literal["auto", "ground_truth", "detector"] = Field(
        "auto",
        description="where boxes come from: DANCE-Synth's ground truth, an RT-DETR detector, "
        "or auto (ground truth on synth, the detector otherwise)",
    )
    detector: str = Field(
        "PekingU/rtdetr_r50vd_coco_o365",
        description="RT-DETR for boxes: hub id or from_pretrained directory (boxes: detector)",
    )
    detector_threshold: float = Field(
        0.5, gt=0, lt=1, description="detections scoring below this are dropped"
    )
    split: Literal["train", "val", "test"] = Field(
        "train", description="the manifest split whose videos the concept clips are cut from"
    )
    clips_per_concept: int = Field(
        20, ge=2, description="at most this many clips per concept (seeded choice of videos)"
    )
    random_sets: int = Field(
        10, ge=2, description="random concept sets (TCAV's random runs): one per run"
    )
    random_set_size: int = Field(20, ge=2, description="clips per random concept set")
    resources: StageResources = StageResources(pool_size=1, num_cpus=1, num_gpus=0, batch_size=4)


class TcavConfig(Section):
    """`dance tcav`: Video-TCAV on the fine-tuned backbone (docs/posthoc.md)."""

    target: Literal["backbone", "dance"] = Field(
        "backbone",
        description="the class logit explained: the fine-tuned backbone's own head, or "
        "DANCE's class logit through its concept bottleneck",
    )
    layers: list[str] = Field(
        [], description="encoder blocks ('encoder.layer.N'); empty = every block"
    )
    pooling: Literal["none", "mean"] = Field(
        "none",
        description="'none': token activations flattened per clip (as the reference "
        "implementations do); 'mean': averaged over tokens (F = hidden size)",
    )
    split: Literal["train", "val", "test"] = Field(
        "test", description="the split whose videos give each class's gradients"
    )
    examples_per_class: int = Field(
        20, ge=1, description="at most this many videos per class (seeded choice)"
    )
    alpha: float = Field(
        0.05, gt=0, lt=1, description="significance level after Bonferroni correction"
    )
    cav_alpha: float = Field(
        0.01, gt=0, description="L2 weight of the CAV classifier (as sklearn's SGDClassifier)"
    )
    resources: StageResources = StageResources(pool_size=2, num_cpus=1, num_gpus=0, batch_size=8)
