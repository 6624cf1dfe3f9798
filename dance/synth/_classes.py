"""The class catalogue: motion program, object/scene distributions and separating factor."""

from __future__ import annotations

from dataclasses import dataclass, field

from dance.config import SYNTH_MAX_CLASSES
from dance.synth._skeleton_motion import MotionProgram, motion_program, program_primitives

FACTORS: tuple[str, ...] = ("motion", "object", "scene", "mixed")


@dataclass(frozen=True)
class SynthClass:
    """One action class of DANCE-Synth and the evidence that separates it from its neighbours.

    factor: what separates it from `contrast` ("motion": same object/scene distribution,
    different motion; "object"/"scene": same motion, different object/scene; "mixed":
    several factors). reversal_partner: the class whose motion this one plays backwards.
    """

    name: str
    label: int
    factor: str
    motion: str
    program: tuple[str, ...]
    primitives: tuple[str, ...]
    objects: dict[str, float]
    scenes: dict[str, float]
    hold: str
    contrast: str | None
    reversal_partner: str | None
    catalogue_index: int
    reversed_motion: bool = field(default=False)


@dataclass(frozen=True)
class _Entry:
    """A catalogue row before labels are assigned."""

    name: str
    factor: str
    motion: str
    objects: dict[str, float]
    scenes: dict[str, float]
    hold: str
    contrast: str | None
    reversal_of: str | None = None  # this class plays `reversal_of`'s motion backwards
    reversal_partner: str | None = None


_PLACED_PROPS = {"ball": 0.5, "chair": 0.5}
# Ordered so that every prefix used by a preset keeps its pairs together:
# tiny = first 4 (a reversal pair and a context pair), demo = first 10, bench = all.
_CATALOGUE: tuple[_Entry, ...] = (
    _Entry("raise_arms", "motion", "raise_arms", _PLACED_PROPS, {"street": 0.5, "pool": 0.5},
           "placed", "lower_arms", reversal_partner="lower_arms"),
    _Entry("lower_arms", "motion", "raise_arms", _PLACED_PROPS, {"street": 0.5, "pool": 0.5},
           "placed", "raise_arms", reversal_of="raise_arms", reversal_partner="raise_arms"),
    _Entry("bat_swing", "object", "swing", {"bat": 1.0}, {"field": 0.5, "court": 0.5},
           "right_hand", "racket_swing"),
    _Entry("racket_swing", "object", "swing", {"racket": 1.0}, {"field": 0.5, "court": 0.5},
           "right_hand", "bat_swing"),
    _Entry("squat", "motion", "squat", _PLACED_PROPS, {"gym": 0.5, "living_room": 0.5},
           "placed", "jumping_jacks"),
    _Entry("jumping_jacks", "motion", "jumping_jacks", _PLACED_PROPS,
           {"gym": 0.5, "living_room": 0.5}, "placed", "squat"),
    _Entry("beach_throw", "scene", "throw", {"ball": 1.0}, {"beach": 1.0}, "right_hand",
           "snow_throw"),
    _Entry("snow_throw", "scene", "throw", {"ball": 1.0}, {"snow": 1.0}, "right_hand",
           "beach_throw"),
    _Entry("weightlift", "mixed", "press", {"barbell": 1.0}, {"gym": 1.0}, "both_hands", "squat"),
    _Entry("guitar_strum", "mixed", "strum", {"guitar": 1.0}, {"living_room": 0.5, "street": 0.5},
           "guitar", "raise_arms"),
    _Entry("sit_down", "motion", "sit_down", {"chair": 1.0}, {"living_room": 0.5, "street": 0.5},
           "seat", "stand_up", reversal_partner="stand_up"),
    _Entry("stand_up", "motion", "sit_down", {"chair": 1.0}, {"living_room": 0.5, "street": 0.5},
           "seat", "sit_down", reversal_of="sit_down", reversal_partner="sit_down"),
    _Entry("jump_rope", "mixed", "jump_rope", {"rope": 1.0}, {"street": 0.5, "gym": 0.5},
           "both_hands", "jumping_jacks"),
)  # fmt: skip


def catalogue_names() -> tuple[str, ...]:
    """Names of every class the generator knows, in catalogue order."""
    return tuple(entry.name for entry in _CATALOGUE)


def build_catalogue(num_classes: int) -> list[SynthClass]:
    """The first `num_classes` catalogue classes with labels 0..num_classes-1."""
    if not 1 <= num_classes <= SYNTH_MAX_CLASSES:
        raise ValueError(f"num_classes must be in [1, {SYNTH_MAX_CLASSES}], got {num_classes}")
    selected = _CATALOGUE[:num_classes]
    names = {entry.name for entry in selected}
    out: list[SynthClass] = []
    for label, entry in enumerate(selected):
        if entry.reversal_of:
            program = motion_program(entry.name, reversed_from=entry.reversal_of)
        else:
            program = motion_program(entry.motion)
        out.append(
            SynthClass(
                name=entry.name,
                label=label,
                factor=entry.factor,
                motion=program.reversed_from or program.name,
                program=program.pose_names(),
                primitives=program_primitives(program),
                objects=dict(entry.objects),
                scenes=dict(entry.scenes),
                hold=entry.hold,
                # A partner outside the selection is not a neighbour in this dataset.
                contrast=entry.contrast if entry.contrast in names else None,
                reversal_partner=entry.reversal_partner
                if entry.reversal_partner in names
                else None,
                catalogue_index=_CATALOGUE.index(entry),
                reversed_motion=entry.reversal_of is not None,
            )
        )
    return out


def class_program(cls: SynthClass) -> MotionProgram:
    """The MotionProgram a class plays (a reversed class plays its partner's backwards)."""
    if cls.reversed_motion:
        return motion_program(cls.name, reversed_from=cls.motion)
    return motion_program(cls.motion)


def context_donor(cls: SynthClass, classes: list[SynthClass]) -> SynthClass:
    """The class whose objects and scenes replace `cls`'s in the shifted test split.

    The first following class (cyclically) whose object AND scene supports are disjoint from
    `cls`'s; else the first with a disjoint scene support; else the next class.
    """
    order = [c for c in classes[cls.label + 1 :] + classes[: cls.label] if c.name != cls.name]
    if not order:
        raise ValueError("a shifted split needs at least 2 classes; set num_classes >= 2")
    for c in order:
        if not set(c.objects) & set(cls.objects) and not set(c.scenes) & set(cls.scenes):
            return c
    for c in order:
        if not set(c.scenes) & set(cls.scenes):
            return c
    return order[0]
