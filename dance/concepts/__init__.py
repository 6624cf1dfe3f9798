"""Concept discovery: motion concepts from pose clips (FINCH)."""

from dance.concepts.motion import (
    ClipRef,
    MotionClips,
    MotionConceptBank,
    MotionDiscovery,
    build_concept_bank,
    discover_motion_concepts,
    motion_clips_from_tables,
    motion_summary,
    nearest_centroid,
    video_motion_labels,
)

__all__ = [
    "ClipRef",
    "MotionClips",
    "MotionConceptBank",
    "MotionDiscovery",
    "build_concept_bank",
    "discover_motion_concepts",
    "motion_clips_from_tables",
    "motion_summary",
    "nearest_centroid",
    "video_motion_labels",
]
