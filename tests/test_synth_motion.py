"""Motion programs and the class catalogue: reversal, context-only and motion-only pairs."""

from __future__ import annotations

import numpy as np

from dance.config import SynthConfig
from dance.pose import COCO17_JOINTS
from dance.synth import (
    BodyShape,
    MotionJitter,
    class_catalogue,
    class_motion_program,
    motion_keypoints,
    motion_program,
    primitive_names,
)

BENCH = SynthConfig.preset_config("bench")
JITTERS = (
    MotionJitter(),
    MotionJitter(speed=1.17, phase=0.06, amplitude=0.9, mirror=True),
)


def _by_name() -> dict:
    return {cls.name: cls for cls in class_catalogue(BENCH)}


def test_every_class_records_a_separating_factor() -> None:
    for cls in class_catalogue(BENCH):
        assert cls.factor in ("motion", "object", "scene", "mixed")


def test_catalogue_has_every_kind_of_pair() -> None:
    classes = class_catalogue(BENCH)
    assert {c.factor for c in classes} == {"motion", "object", "scene", "mixed"}
    assert sum(c.reversal_partner is not None for c in classes) >= 4


def test_reversal_class_is_its_partner_played_backwards() -> None:
    classes = _by_name()
    pairs = [(c, classes[c.reversal_partner]) for c in classes.values() if c.reversed_motion]
    assert pairs, "the catalogue needs reversal pairs"
    for cls, partner in pairs:
        for jitter in JITTERS:
            ours, ours_prims = motion_keypoints(class_motion_program(cls), 40, jitter, BodyShape())
            theirs, theirs_prims = motion_keypoints(
                class_motion_program(partner), 40, jitter, BodyShape()
            )
            np.testing.assert_array_equal(ours, theirs[::-1])
            assert ours_prims[0] == theirs_prims[-1]
        assert cls.program == partner.program[::-1]


def test_reversed_moves_are_the_opposite_primitives() -> None:
    classes = _by_name()
    assert "stand>arms_side" in classes["raise_arms"].primitives
    assert "arms_side>stand" in classes["lower_arms"].primitives


def test_context_only_pairs_share_the_motion_program() -> None:
    classes = _by_name()
    for cls in classes.values():
        if cls.factor in ("object", "scene"):
            partner = classes[cls.contrast]
            assert cls.program == partner.program
            assert cls.motion == partner.motion


def test_object_pairs_differ_only_in_object_and_scene_pairs_only_in_scene() -> None:
    classes = _by_name()
    for cls in classes.values():
        partner = classes[cls.contrast] if cls.contrast else None
        if cls.factor == "object":
            assert cls.scenes == partner.scenes and cls.objects != partner.objects
        if cls.factor == "scene":
            assert cls.objects == partner.objects and cls.scenes != partner.scenes


def test_motion_only_pairs_share_object_and_scene_distributions() -> None:
    classes = _by_name()
    motion_pairs = [(c, classes[c.contrast]) for c in classes.values() if c.factor == "motion"]
    assert motion_pairs
    for cls, partner in motion_pairs:
        assert cls.objects == partner.objects
        assert cls.scenes == partner.scenes
        assert cls.hold == partner.hold
        assert cls.program != partner.program


def test_key_poses_are_shared_between_classes() -> None:
    users = [c.name for c in class_catalogue(BENCH) if "arms_up" in c.program]
    assert len(users) >= 3


def test_interpolation_keeps_bone_lengths() -> None:
    kp, _ = motion_keypoints(motion_program("swing"), 50, MotionJitter(), BodyShape())
    upper_arm = np.linalg.norm(kp[:, 7] - kp[:, 5], axis=1)
    forearm = np.linalg.norm(kp[:, 9] - kp[:, 7], axis=1)
    np.testing.assert_allclose(upper_arm, BodyShape().upper_arm, rtol=1e-9)
    np.testing.assert_allclose(forearm, BodyShape().forearm, rtol=1e-9)


def test_motion_is_continuous_between_key_poses() -> None:
    # Sampled finely, no joint may jump: the largest per-frame step shrinks with the rate.
    for program in ("jumping_jacks", "swing", "sit_down"):
        kp, _ = motion_keypoints(motion_program(program), 2000, MotionJitter(), BodyShape())
        assert np.linalg.norm(np.diff(kp, axis=0), axis=2).max() < 0.01


def test_front_facing_person_has_their_left_on_the_image_right() -> None:
    for jitter in JITTERS:
        kp, _ = motion_keypoints(motion_program("raise_arms"), 8, jitter, BodyShape())
        left = [i for i, name in enumerate(COCO17_JOINTS) if name.startswith("left_")]
        right = [i for i, name in enumerate(COCO17_JOINTS) if name.startswith("right_")]
        assert (kp[:, left, 0] > kp[:, right, 0]).all()


def test_mirroring_moves_the_motion_to_the_other_hand() -> None:
    plain, _ = motion_keypoints(motion_program("throw"), 30, MotionJitter(), BodyShape())
    mirrored, _ = motion_keypoints(
        motion_program("throw"), 30, MotionJitter(mirror=True), BodyShape()
    )
    right_wrist, left_wrist = COCO17_JOINTS.index("right_wrist"), COCO17_JOINTS.index("left_wrist")
    # The throwing (right) wrist rises high; mirrored, the left wrist does.
    assert plain[:, right_wrist, 1].min() < plain[:, left_wrist, 1].min() - 0.2
    assert mirrored[:, left_wrist, 1].min() < mirrored[:, right_wrist, 1].min() - 0.2


def test_every_frame_has_a_known_primitive() -> None:
    names = set(primitive_names())
    for cls in class_catalogue(BENCH):
        _, prims = motion_keypoints(class_motion_program(cls), 33, JITTERS[1], BodyShape())
        assert len(prims) == 33
        assert set(prims) <= names
        assert set(prims) <= set(cls.primitives)
