"""What the discover stage writes besides the concepts: the joined labels, the concept
index (concepts.json) and the summary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from dance.concepts._bundle import MotionOutputs, labels_table, motion_concept_names
from dance.concepts._language_outputs import LanguageOutputs
from dance.manifest import Manifest


def assemble_labels(
    manifest: Manifest, motion: MotionOutputs, language: LanguageOutputs
) -> pa.Table:
    """labels.parquet: every manifest video once, motion and language labels joined by video_id."""
    by_id = {
        v: (m, k)
        for v, m, k in zip(
            motion.video_labels["video_id"].to_pylist(),
            motion.video_labels["motion"].to_pylist(),
            motion.video_labels["motion_known"].to_pylist(),
            strict=True,
        )
    }
    ids = manifest.video_ids
    missing = [v for v in ids if v not in by_id]
    if missing:
        raise ValueError(f"motion labels lack {len(missing)} manifest videos: {missing[:3]}")
    return labels_table(
        ids,
        manifest.table["split"].to_pylist(),
        manifest.table["label"].to_pylist(),
        np.asarray([by_id[v][0] for v in ids], dtype=np.uint8).reshape(len(ids), -1),
        np.asarray([by_id[v][1] for v in ids], dtype=bool),
        language.object_labels,
        language.scene_labels,
        language.known,
    )


def concept_index(
    motion: MotionOutputs, language: LanguageOutputs, language_source: str, template: str
) -> dict[str, Any]:
    """concepts.json: names per type in column order, motion representatives, label provenance."""
    return {
        "names": {
            "motion": motion_concept_names(motion.num_concepts),
            "objects": list(language.objects),
            "scenes": list(language.scenes),
        },
        "motion": motion.concept_refs(),
        "motion_partition_level": motion.bank.partition_level,
        "language_source": language_source,
        "object_scene_labels": language.label_mode,
        "dual_encoder": language.encoder_id,
        "template": template if language.label_mode == "pseudo_labels" else None,
    }


@dataclass
class DiscoverSummary:
    """What a discover run produced: concept counts, label coverage and motion NMI figures."""

    videos: int
    videos_ok: int
    videos_motion_known: int
    videos_ok_without_kept_clip: int  # decoded, but no kept clip: unknown motion labels
    videos_language_known: int
    clips_kept: int
    clips_clustered: int
    motion_concepts: int
    partition_level: int | None
    objects: int
    scenes: int
    language_source: str
    label_mode: str  # pseudo_labels (Eq. 3) | annotations (attribute CBM)
    nmi: dict[str, Any] = field(default_factory=dict)
    # Pseudo-label ROC-AUC vs the dataset's ground truth ({} without one): see _label_quality.
    label_quality: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form."""
        return asdict(self)

    def describe(self) -> str:
        """A short human-readable report."""

        def figure(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.3f}"

        lines = [
            (
                f"discover: {self.videos} videos ({self.videos_ok} ok), "
                f"{self.videos_motion_known} with motion labels, "
                f"{self.videos_language_known} with object/scene labels"
            ),
            (
                f"  motion concepts: {self.motion_concepts} (FINCH level {self.partition_level}, "
                f"{self.clips_clustered} of {self.clips_kept} kept clips clustered)"
            ),
            (
                f"  object concepts: {self.objects}, scene concepts: {self.scenes} "
                f"(source={self.language_source}, labels={self.label_mode})"
            ),
        ]
        if self.videos_ok_without_kept_clip:
            lines.append(
                f"  {self.videos_ok_without_kept_clip} ok video(s) without a kept clip: motion "
                "labels unknown (masked in training), object/scene labels kept"
            )
        for target in ("class", "primitive"):
            scores = self.nmi.get(target)
            if scores is None:
                lines.append(f"  NMI vs {target}: n/a (no ground truth)")
                continue
            lines.append(
                f"  NMI vs {target}: FINCH {figure(scores['finch'])}, "
                f"k-means (k={self.nmi['k']}) {figure(scores['kmeans'])}"
            )
        for kind, noun in (("objects", "object"), ("scenes", "scene")):
            quality = self.label_quality.get(kind)
            if quality is None:
                continue
            test, train = quality["test"], quality["train"]
            lines.append(
                f"  {noun} pseudo labels vs ground truth: mean ROC-AUC on test "
                f"{figure(test['mean_auc'])} over {test['concepts']} concepts, on train "
                f"{figure(train['mean_auc'])} over {train['concepts']}"
            )
        lines.append(f"  took {self.seconds:.1f} s")
        return "\n".join(lines)


def discover_summary(
    labels: pa.Table,
    video_ok: Mapping[str, bool],
    motion: MotionOutputs,
    language: LanguageOutputs,
    language_source: str,
    seconds: float,
    label_quality: Mapping[str, Any] | None = None,
) -> DiscoverSummary:
    """The summary of a discover run, counted from the labels table it wrote.

    `label_quality` is run_label_quality's result (pseudo-label ROC-AUC), when known.
    """
    ids = labels["video_id"].to_pylist()
    motion_known = labels["motion_known"].to_pylist()
    ok = [video_ok.get(v, False) for v in ids]
    return DiscoverSummary(
        videos=len(ids),
        videos_ok=sum(ok),
        videos_motion_known=sum(motion_known),
        videos_ok_without_kept_clip=sum(o and not k for o, k in zip(ok, motion_known, strict=True)),
        videos_language_known=int(language.known.sum()),
        clips_kept=int(motion.summary["num_clips"]),
        clips_clustered=int(motion.summary["num_clustered_clips"]),
        motion_concepts=motion.num_concepts,
        partition_level=motion.bank.partition_level,
        objects=len(language.objects),
        scenes=len(language.scenes),
        language_source=language_source,
        label_mode=language.label_mode,
        nmi=motion.summary["nmi"],
        label_quality=dict(label_quality or {}),
        seconds=seconds,
    )
