"""DANCE-Synth: rendered cartoon actions whose causes (motion, object, scene, pose) are known.

from dance.config import SynthConfig
from dance.synth import generate_dataset
summary = generate_dataset(SynthConfig.preset_config("demo"), "data/synth_demo")
"""

from dance.config import SynthConfig
from dance.synth._captions import (
    OBJECT_PHRASES,
    SCENE_PHRASES,
    ScenePhrase,
    caption_vocabulary,
    video_captions,
)
from dance.synth._classes import (
    FACTORS,
    SynthClass,
    build_catalogue,
    catalogue_names,
    context_donor,
)
from dance.synth._concept_files import SYNTH_CONCEPT_FILES, synth_concept_file
from dance.synth._ensure import ensure_synth_dataset
from dance.synth._generate import (
    GENERATOR_VERSION,
    SynthSummary,
    generate_dataset,
    primitive_names,
    split_test_indices,
    synth_dataset_matches,
    video_id_for,
)
from dance.synth._skeleton_motion import (
    BodyShape,
    MotionJitter,
    MotionProgram,
    motion_keypoints,
    motion_program,
)
from dance.synth._truth import (
    VideoGroundTruth,
    load_ground_truth,
    normalised_joint_errors,
    person_height,
    read_captions,
)


def class_catalogue(config: SynthConfig) -> list[SynthClass]:
    """The classes of the dataset `config` describes, with labels 0..num_classes-1."""
    return build_catalogue(config.num_classes)


def class_motion_program(cls: SynthClass) -> MotionProgram:
    """The motion program a class plays (a reversal class plays its partner's backwards)."""
    from dance.synth._classes import class_program

    return class_program(cls)


def shift_donor(cls: SynthClass, classes: list[SynthClass]) -> SynthClass:
    """The class whose objects/scenes replace `cls`'s in the shifted test split."""
    return context_donor(cls, classes)


__all__ = [
    "FACTORS",
    "GENERATOR_VERSION",
    "OBJECT_PHRASES",
    "SCENE_PHRASES",
    "SYNTH_CONCEPT_FILES",
    "BodyShape",
    "MotionJitter",
    "MotionProgram",
    "ScenePhrase",
    "SynthClass",
    "SynthSummary",
    "VideoGroundTruth",
    "caption_vocabulary",
    "catalogue_names",
    "class_catalogue",
    "class_motion_program",
    "ensure_synth_dataset",
    "generate_dataset",
    "load_ground_truth",
    "motion_keypoints",
    "motion_program",
    "normalised_joint_errors",
    "person_height",
    "primitive_names",
    "read_captions",
    "shift_donor",
    "split_test_indices",
    "synth_concept_file",
    "synth_dataset_matches",
    "video_captions",
    "video_id_for",
]
