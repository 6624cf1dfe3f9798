"""Captions of a DANCE-Synth video, made from what was rendered in it: motion, object, scene.

Every phrase a caption can contain lives in the tables below, so the text side is fixed
by the code: the same video always gets the same captions, and `caption_vocabulary` lists
every word they can hold (a tokenizer built from it covers them all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from dance.synth._render import STREAM_CAPTIONS, RenderSpec, video_rng


@dataclass(frozen=True)
class ScenePhrase:
    """One way to name a scene: the bare concept, a noun phrase, and 'where' in a sentence."""

    concept: str  # "grass field"
    noun: str  # "a grass field"
    place: str  # "on a grass field"


SUBJECTS: tuple[str, ...] = ("a person", "someone", "a cartoon person")

# Bare object names (a concept as an LLM would list it); the first is the rendered name.
OBJECT_PHRASES: dict[str, tuple[str, ...]] = {
    "ball": ("ball", "soccer ball", "football"),
    "bat": ("bat", "baseball bat", "wooden bat"),
    "racket": ("racket", "tennis racket", "racquet"),
    "barbell": ("barbell", "weight bar"),
    "rope": ("rope", "skipping rope"),
    "guitar": ("guitar", "acoustic guitar"),
    "chair": ("chair", "dining chair", "kitchen chair"),
}


def _scene(concept: str, noun: str, place: str) -> ScenePhrase:
    return ScenePhrase(concept, noun, place)


SCENE_PHRASES: dict[str, tuple[ScenePhrase, ...]] = {
    "field": (
        _scene("field", "a field", "on a field"),
        _scene("grass field", "a grass field", "on a grass field"),
        _scene("sports field", "a sports field", "on a sports field"),
    ),
    "court": (
        _scene("court", "a court", "on a court"),
        _scene("tennis court", "a tennis court", "on a tennis court"),
        _scene("sports court", "a sports court", "on a sports court"),
    ),
    "gym": (
        _scene("gym", "a gym", "in a gym"),
        _scene("fitness center", "a fitness center", "in a fitness center"),
        _scene("weight room", "a weight room", "in a weight room"),
    ),
    "living_room": (
        _scene("living room", "a living room", "in a living room"),
        _scene("lounge", "a lounge", "in a lounge"),
        _scene("sitting room", "a sitting room", "in a sitting room"),
    ),
    "beach": (
        _scene("beach", "a beach", "on a beach"),
        _scene("sandy beach", "a sandy beach", "on a sandy beach"),
        _scene("seaside", "the seaside", "at the seaside"),
    ),
    "snow": (
        _scene("snow", "the snow", "in the snow"),
        _scene("snowy landscape", "a snowy landscape", "in a snowy landscape"),
    ),
    "street": (
        _scene("street", "a street", "on a street"),
        _scene("city street", "a city street", "on a city street"),
        _scene("sidewalk", "a sidewalk", "on a sidewalk"),
    ),
    "pool": (
        _scene("pool", "a pool", "by a pool"),
        _scene("swimming pool", "a swimming pool", "by a swimming pool"),
        _scene("poolside", "the poolside", "at the poolside"),
    ),
}

# What each class's person does, without naming an object or a scene.
_ARMS_UP = (
    "raising both arms",
    "lifting the arms up",
    "putting the hands up",
    "raising the arms overhead",
)
_ARMS_DOWN = (
    "lowering both arms",
    "bringing the arms down",
    "putting the hands down",
    "dropping the arms to the sides",
)
_SWING = ("swinging", "taking a swing", "swinging the arms across the body")
_THROW = ("throwing", "making a throw", "throwing overhand")
MOTION_PHRASES: dict[str, tuple[str, ...]] = {
    "raise_arms": _ARMS_UP,
    "lower_arms": _ARMS_DOWN,
    "bat_swing": _SWING,
    "racket_swing": _SWING,
    "squat": ("squatting", "doing squats", "bending the knees and standing back up"),
    "jumping_jacks": (
        "doing jumping jacks",
        "star jumping",
        "jumping with the arms and legs spreading",
    ),
    "beach_throw": _THROW,
    "snow_throw": _THROW,
    "weightlift": ("lifting overhead", "pressing up", "doing an overhead press"),
    "guitar_strum": ("strumming", "playing music", "strumming the strings"),
    "sit_down": ("sitting down", "bending down to sit", "lowering the hips to sit"),
    "stand_up": ("standing up", "getting up", "rising to stand"),
    "jump_rope": ("skipping", "hopping in place", "jumping over and over"),
}

# The class's motion with its own object, used while the video holds it the class's way.
_SWING_WITH = ("swinging {obj}", "taking a swing with {obj}", "swinging {obj} across the body")
_THROW_WITH = ("throwing {obj}", "tossing {obj}", "throwing {obj} overhand")
MOTION_WITH_OBJECT: dict[str, tuple[str, ...]] = {
    "raise_arms": (
        "raising both arms next to {obj}",
        "lifting the arms up beside {obj}",
        "putting the hands up near {obj}",
    ),
    "lower_arms": (
        "lowering both arms next to {obj}",
        "bringing the arms down beside {obj}",
        "putting the hands down near {obj}",
    ),
    "bat_swing": _SWING_WITH,
    "racket_swing": _SWING_WITH,
    "squat": (
        "squatting next to {obj}",
        "doing squats beside {obj}",
        "bending the knees near {obj}",
    ),
    "jumping_jacks": (
        "doing jumping jacks next to {obj}",
        "star jumping beside {obj}",
        "doing jumping jacks near {obj}",
    ),
    "beach_throw": _THROW_WITH,
    "snow_throw": _THROW_WITH,
    "weightlift": ("lifting {obj}", "pressing {obj} overhead", "lifting {obj} above the head"),
    "guitar_strum": ("playing {obj}", "strumming {obj}", "strumming the strings of {obj}"),
    "sit_down": ("sitting down on {obj}", "lowering the hips onto {obj}"),
    "stand_up": ("standing up from {obj}", "getting up from {obj}", "rising from {obj}"),
    "jump_rope": ("skipping with {obj}", "jumping over {obj}", "swinging {obj} under the feet"),
}

# How a motion and an object go together when the video holds the object another way
# (a shifted video: the motion of one class, the object of another).
HOLD_RELATIONS: dict[str, tuple[str, ...]] = {
    "placed": ("next to {obj}", "beside {obj}", "near {obj}"),
    "right_hand": ("holding {obj}", "with {obj} in one hand"),
    "both_hands": ("holding {obj}", "with {obj} in both hands"),
    "guitar": ("holding {obj}", "with {obj}"),
    "seat": ("in front of {obj}", "by {obj}"),
}

# One caption per template, in this order; each slot is drawn afresh for each caption.
CAPTION_TEMPLATES: tuple[str, ...] = (
    "{subject} {motion_obj} {place}",
    "{subject} {place} {motion_obj}",
    "{subject} {motion_obj}",
    "{subject} {motion} {place}",
    "{subject} {motion}",
    "{obj} {place}",
    "{object_only}",
    "{scene_only}",
)
# Object-only and scene-only captions, so "A video of {concept}" has a close match.
OBJECT_ONLY_FORMS: tuple[str, ...] = ("{obj}", "a video of {obj_bare}")
SCENE_ONLY_FORMS: tuple[str, ...] = ("{scene}", "{scene} scene", "a video of {scene_bare}")

_SLOT = re.compile(r"\{[a-z_]+\}")


def _pick(options: tuple[str, ...], rng: np.random.Generator) -> str:
    """One option, drawn uniformly."""
    return options[int(rng.integers(len(options)))]


def object_noun(concept: str) -> str:
    """'a bat', 'an acoustic guitar': the concept with its indefinite article."""
    return f"{'an' if concept[0] in 'aeiou' else 'a'} {concept}"


def _check_known(class_name: str, hold: str, object_name: str, scene_name: str) -> None:
    """A clear error for a name the phrase tables do not cover."""
    for value, table, what in (
        (class_name, MOTION_PHRASES, "class"),
        (hold, HOLD_RELATIONS, "hold mode"),
        (object_name, OBJECT_PHRASES, "object"),
        (scene_name, SCENE_PHRASES, "scene"),
    ):
        if value not in table:
            raise ValueError(f"no caption phrases for {what} {value!r}; known: {sorted(table)}")


def video_captions(
    class_name: str,
    class_hold: str,
    hold: str,
    object_name: str,
    scene_name: str,
    rng: np.random.Generator,
) -> list[str]:
    """Captions of one video: its class's motion, its object (held as `hold`) and its scene.

    class_hold: how the class holds its own object; a video holding the object the same way
    uses the class's own motion-with-object phrases, any other a motion plus a relation.
    """
    _check_known(class_name, hold, object_name, scene_name)
    captions: list[str] = []
    for template in CAPTION_TEMPLATES:
        concept = _pick(OBJECT_PHRASES[object_name], rng)
        scene = _pick(SCENE_PHRASES[scene_name], rng)
        motion = _pick(MOTION_PHRASES[class_name], rng)
        if hold == class_hold:
            motion_obj = _pick(MOTION_WITH_OBJECT[class_name], rng)
        else:
            motion_obj = f"{motion} {_pick(HOLD_RELATIONS[hold], rng)}"
        slots = {
            "subject": _pick(SUBJECTS, rng),
            "motion": motion,
            "obj": object_noun(concept),
            "obj_bare": concept,
            "scene": scene.noun,
            "scene_bare": scene.concept,
            "place": scene.place,
        }
        slots["motion_obj"] = motion_obj.format(**slots)
        slots["object_only"] = _pick(OBJECT_ONLY_FORMS, rng).format(**slots)
        slots["scene_only"] = _pick(SCENE_ONLY_FORMS, rng).format(**slots)
        captions.append(template.format(**slots))
    return captions


def spec_captions(spec: RenderSpec, object_name: str, scene_name: str) -> list[str]:
    """The captions of a rendered video, from its own random stream (seed, class, index)."""
    extra = (1,) if spec.shifted else ()
    rng = video_rng(spec.seed, spec.cls, spec.index, STREAM_CAPTIONS, *extra)
    return video_captions(
        spec.cls.name, spec.cls.hold, spec.context.hold, object_name, scene_name, rng
    )


def caption_vocabulary() -> list[str]:
    """Every word a caption can contain, sorted (to build a tokenizer that covers them)."""
    texts: list[str] = [*SUBJECTS, *CAPTION_TEMPLATES, *OBJECT_ONLY_FORMS, *SCENE_ONLY_FORMS]
    for concepts in OBJECT_PHRASES.values():
        texts.extend(object_noun(c) for c in concepts)
    for scenes in SCENE_PHRASES.values():
        texts.extend(f"{s.concept} {s.noun} {s.place}" for s in scenes)
    for table in (MOTION_PHRASES, MOTION_WITH_OBJECT, HOLD_RELATIONS):
        for phrases in table.values():
            texts.extend(phrases)
    return sorted({word for text in texts for word in _SLOT.sub(" ", text).split()})
