"""Key poses on COCO-17, motion programs, smooth interpolation and per-video motion jitter.

A pose is a small vector of joint angles (plus jump lift and thigh foreshortening) turned
into COCO-17 keypoints by forward kinematics, so bone lengths stay fixed while poses are
interpolated. Units are "body units": a standing person is about 1.0 tall, the hip midpoint
is the origin, x points to the image right (the person's LEFT), y points down.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from dance.pose.skeleton import COCO17_FLIP

# Angle convention (degrees): 0 = limb hangs straight down, 90 = horizontal pointing away
# from the body's midline, 180 = straight up, negative = crossing in front of the body.
PARAMS: tuple[str, ...] = (
    "lean",  # torso tilt; positive leans to the person's left (image right)
    "head",  # head tilt relative to the torso
    "l_uarm",
    "l_farm",
    "r_uarm",
    "r_farm",
    "l_thigh",
    "l_shin",
    "r_thigh",
    "r_shin",
    "l_thigh_len",  # thigh foreshortening (1 = full length; < 1 points towards the camera)
    "r_thigh_len",
    "lift",  # jump height in body units
)
_P = {name: i for i, name in enumerate(PARAMS)}
_ANGLES = tuple(i for i, n in enumerate(PARAMS) if not n.endswith("_len") and n != "lift")
_MIRROR_PAIRS = (
    ("l_uarm", "r_uarm"),
    ("l_farm", "r_farm"),
    ("l_thigh", "r_thigh"),
    ("l_shin", "r_shin"),
    ("l_thigh_len", "r_thigh_len"),
)

_STAND = {
    "lean": 0.0, "head": 0.0,
    "l_uarm": 10.0, "l_farm": 6.0, "r_uarm": 10.0, "r_farm": 6.0,
    "l_thigh": 4.0, "l_shin": 2.0, "r_thigh": 4.0, "r_shin": 2.0,
    "l_thigh_len": 1.0, "r_thigh_len": 1.0, "lift": 0.0,
}  # fmt: skip


def _both(prefix: str, value: float) -> dict[str, float]:
    """The same value for the left and right side of a parameter."""
    return {f"l_{prefix}": value, f"r_{prefix}": value}


# Key poses are shared between classes the way real actions share movements.
_KEY_POSE_OVERRIDES: dict[str, dict[str, float]] = {
    "stand": {},
    "arms_side": {**_both("uarm", 88.0), **_both("farm", 90.0)},
    "arms_up": {**_both("uarm", 150.0), **_both("farm", 162.0)},
    "jack_open": {
        **_both("uarm", 138.0), **_both("farm", 150.0),
        **_both("thigh", 20.0), **_both("shin", 20.0), "lift": 0.04,
    },
    "squat_low": {
        **_both("uarm", 70.0), **_both("farm", 78.0),
        **_both("thigh", 55.0), **_both("thigh_len", 0.6), **_both("shin", 6.0),
    },
    "sit": {
        **_both("uarm", 14.0), **_both("farm", -28.0),
        **_both("thigh", 24.0), **_both("thigh_len", 0.3), **_both("shin", 4.0),
    },
    "swing_ready": {
        "r_uarm": 125.0, "r_farm": 160.0, "l_uarm": -25.0, "l_farm": -60.0, "lean": -5.0,
    },
    "swing_through": {
        "r_uarm": -45.0, "r_farm": -75.0, "l_uarm": 60.0, "l_farm": 80.0, "lean": 6.0,
    },
    "throw_cock": {
        "r_uarm": 150.0, "r_farm": 215.0, "l_uarm": 60.0, "l_farm": 70.0, "lean": -6.0,
    },
    "throw_release": {
        "r_uarm": 95.0, "r_farm": 70.0, "l_uarm": 20.0, "l_farm": 10.0, "lean": 8.0,
    },
    "press_rack": {**_both("uarm", 45.0), **_both("farm", 165.0)},
    "strum_up": {"r_uarm": -15.0, "r_farm": -75.0, "l_uarm": 45.0, "l_farm": 115.0},
    "strum_down": {"r_uarm": -4.0, "r_farm": -40.0, "l_uarm": 45.0, "l_farm": 115.0},
    "rope_down": {**_both("uarm", 28.0), **_both("farm", 50.0)},
    "rope_up": {**_both("uarm", 28.0), **_both("farm", 50.0), "lift": 0.07},
}  # fmt: skip


def _pose_vector(overrides: dict[str, float]) -> np.ndarray:
    """A full parameter vector: the standing pose with some parameters replaced."""
    values = {**_STAND, **overrides}
    return np.array([values[name] for name in PARAMS], dtype=np.float64)


KEY_POSES: dict[str, np.ndarray] = {
    name: _pose_vector(over) for name, over in _KEY_POSE_OVERRIDES.items()
}
STAND_POSE: np.ndarray = KEY_POSES["stand"]


@dataclass(frozen=True)
class Step:
    """Move into a key pose over `move` of the timeline, then hold it for `hold`."""

    pose: str
    move: float
    hold: float


def _cycle(steps: list[tuple[str, float, float]], times: int) -> list[tuple[str, float, float]]:
    """Repeat the steps of a cyclic movement."""
    return steps * times


# Motion programs: the first step's `move` is ignored (the video starts in that pose).
_PROGRAMS: dict[str, list[tuple[str, float, float]]] = {
    "raise_arms": [("stand", 0, 0.18), ("arms_side", 0.3, 0.06), ("arms_up", 0.3, 0.16)],
    "sit_down": [("stand", 0, 0.2), ("squat_low", 0.25, 0.0), ("sit", 0.2, 0.35)],
    "swing": [
        ("stand", 0, 0.08), ("swing_ready", 0.28, 0.1), ("swing_through", 0.16, 0.12),
        ("stand", 0.26, 0.0),
    ],
    "squat": [("stand", 0, 0.06)]
    + _cycle([("squat_low", 0.2, 0.07), ("stand", 0.2, 0.0)], 2),
    "jumping_jacks": [("stand", 0, 0.04)]
    + _cycle([("jack_open", 0.12, 0.03), ("stand", 0.12, 0.03)], 3),
    "throw": [
        ("stand", 0, 0.08), ("throw_cock", 0.3, 0.1), ("throw_release", 0.12, 0.16),
        ("stand", 0.24, 0.0),
    ],
    "press": [
        ("stand", 0, 0.06), ("press_rack", 0.2, 0.08), ("arms_up", 0.18, 0.12),
        ("press_rack", 0.18, 0.04), ("stand", 0.14, 0.0),
    ],
    "strum": [("strum_up", 0, 0.04)]
    + _cycle([("strum_down", 0.1, 0.02), ("strum_up", 0.1, 0.02)], 4),
    "jump_rope": [("rope_down", 0, 0.02)]
    + _cycle([("rope_up", 0.08, 0.0), ("rope_down", 0.08, 0.02)], 5),
}  # fmt: skip


@dataclass(frozen=True)
class MotionProgram:
    """A named sequence of key-pose steps; `reversed_from` plays another program backwards."""

    name: str
    steps: tuple[Step, ...]
    reversed_from: str | None = None

    def pose_names(self) -> tuple[str, ...]:
        """Key poses in the order they are visited (for a reversed program: played back)."""
        names = tuple(step.pose for step in self.steps)
        return names[::-1] if self.reversed_from else names


def motion_program(name: str, reversed_from: str | None = None) -> MotionProgram:
    """The motion program `name`, or `reversed_from` played backwards under that name."""
    base = reversed_from or name
    if base not in _PROGRAMS:
        raise ValueError(f"unknown motion program {base!r}; known: {', '.join(sorted(_PROGRAMS))}")
    steps = tuple(Step(pose, float(move), float(hold)) for pose, move, hold in _PROGRAMS[base])
    return MotionProgram(name=name, steps=steps, reversed_from=reversed_from)


def _segments(program: MotionProgram) -> list[tuple[float, float, str, str]]:
    """Timeline segments (start, end, from_pose, to_pose) normalised to [0, 1]."""
    raw: list[tuple[float, str, str]] = []
    steps = program.steps
    raw.append((steps[0].hold, steps[0].pose, steps[0].pose))
    for prev, step in pairwise(steps):
        raw.append((step.move, prev.pose, step.pose))
        raw.append((step.hold, step.pose, step.pose))
    total = sum(length for length, _, _ in raw)
    out: list[tuple[float, float, str, str]] = []
    start = 0.0
    for length, src, dst in raw:
        if length <= 0:
            continue
        end = start + length / total
        out.append((start, end, src, dst))
        start = end
    return out


def primitive_name(src: str, dst: str) -> str:
    """The motion primitive of a timeline segment: a hold of a pose or a move between two."""
    return f"hold:{src}" if src == dst else f"{src}>{dst}"


def program_primitives(program: MotionProgram) -> tuple[str, ...]:
    """Primitive names of a program in playing order (reversed programs swap their moves)."""
    names = [primitive_name(src, dst) for _, _, src, dst in _segments(program)]
    if program.reversed_from:
        names = [_reverse_primitive(n) for n in names[::-1]]
    return tuple(names)


def _reverse_primitive(name: str) -> str:
    """The primitive seen when a segment is played backwards."""
    if name.startswith("hold:"):
        return name
    src, dst = name.split(">")
    return f"{dst}>{src}"


def all_program_names() -> tuple[str, ...]:
    """Names of all forward motion programs."""
    return tuple(_PROGRAMS)


@dataclass(frozen=True)
class MotionJitter:
    """Per-video variation of a motion: timing, amplitude and left-right mirroring."""

    speed: float = 1.0  # timeline units per clip length (>= 1 finishes the program early)
    phase: float = 0.0  # fraction of the clip before the program starts
    amplitude: float = 1.0  # scale of every parameter's deviation from the standing pose
    mirror: bool = False  # perform the motion with the other side of the body


@dataclass(frozen=True)
class BodyShape:
    """Bone lengths in body units (a standing person is about 1.0 tall)."""

    torso: float = 0.30
    shoulder_half: float = 0.115
    hip_half: float = 0.07
    neck: float = 0.155
    head_radius: float = 0.08
    upper_arm: float = 0.17
    forearm: float = 0.15
    thigh: float = 0.24
    shin: float = 0.23


def sample_motion_jitter(rng: np.random.Generator) -> MotionJitter:
    """Draw a video's motion jitter."""
    return MotionJitter(
        speed=float(rng.uniform(1.0, 1.22)),
        phase=float(rng.uniform(0.0, 0.08)),
        amplitude=float(rng.uniform(0.85, 1.08)),
        mirror=bool(rng.random() < 0.5),
    )


def sample_body_shape(rng: np.random.Generator) -> BodyShape:
    """Draw a video's body proportions around the default shape."""
    base = BodyShape()
    limb = float(rng.uniform(0.94, 1.06))
    width = float(rng.uniform(0.92, 1.1))
    return BodyShape(
        torso=base.torso * float(rng.uniform(0.95, 1.05)),
        shoulder_half=base.shoulder_half * width,
        hip_half=base.hip_half * width,
        neck=base.neck,
        head_radius=base.head_radius * float(rng.uniform(0.95, 1.08)),
        upper_arm=base.upper_arm * limb,
        forearm=base.forearm * limb,
        thigh=base.thigh * limb,
        shin=base.shin * limb,
    )


def _ease(x: np.ndarray) -> np.ndarray:
    """Cosine easing: zero velocity at both key poses."""
    return 0.5 - 0.5 * np.cos(np.pi * x)


def _timeline(num_frames: int, jitter: MotionJitter) -> np.ndarray:
    """Program time u in [0, 1] for each frame."""
    t = np.linspace(0.0, 1.0, num_frames)
    return np.clip((t - jitter.phase) * jitter.speed, 0.0, 1.0)


def _forward_params(
    program: MotionProgram, num_frames: int, jitter: MotionJitter
) -> tuple[np.ndarray, list[str]]:
    """Pose parameters (T, P) and primitive names per frame of a forward program."""
    segments = _segments(program)
    u = _timeline(num_frames, jitter)
    params = np.empty((num_frames, len(PARAMS)), dtype=np.float64)
    prims: list[str] = []
    for frame, value in enumerate(u):
        index = len(segments) - 1
        for i, (_, end, _, _) in enumerate(segments):
            if value < end:
                index = i
                break
        start, end, src, dst = segments[index]
        alpha = float(_ease(np.clip((value - start) / (end - start), 0.0, 1.0)))
        params[frame] = (1.0 - alpha) * KEY_POSES[src] + alpha * KEY_POSES[dst]
        prims.append(primitive_name(src, dst))
    params = STAND_POSE + jitter.amplitude * (params - STAND_POSE)
    return params, prims


def pose_parameters(
    program: MotionProgram, num_frames: int, jitter: MotionJitter
) -> tuple[np.ndarray, list[str]]:
    """Pose parameters (T, P) and per-frame primitive names; reversed programs play backwards."""
    if num_frames < 2:
        raise ValueError(f"num_frames must be >= 2, got {num_frames}")
    if program.reversed_from is None:
        return _forward_params(program, num_frames, jitter)
    base = motion_program(program.reversed_from)
    params, prims = _forward_params(base, num_frames, jitter)
    return params[::-1].copy(), [_reverse_primitive(p) for p in prims[::-1]]


def _limb_dir(angle_deg: np.ndarray, side: float) -> np.ndarray:
    """Unit direction (N, 2) of a limb; side = +1 for the person's left, -1 for the right."""
    a = np.deg2rad(angle_deg)
    return np.stack([side * np.sin(a), np.cos(a)], axis=-1)


def forward_kinematics(params: np.ndarray, body: BodyShape) -> np.ndarray:
    """COCO-17 keypoints (T, 17, 2) in body units, lowest ankle on y = ground, for (T, P) params."""
    p = params
    n = p.shape[0]
    kp = np.zeros((n, 17, 2), dtype=np.float64)
    hip_mid = np.zeros((n, 2))
    lean = np.deg2rad(p[:, _P["lean"]])
    up = np.stack([np.sin(lean), -np.cos(lean)], axis=-1)  # torso axis, hips -> shoulders
    across = np.stack([np.cos(lean), np.sin(lean)], axis=-1)  # towards the person's left
    shoulder_mid = hip_mid + body.torso * up
    kp[:, 5] = shoulder_mid + body.shoulder_half * across
    kp[:, 6] = shoulder_mid - body.shoulder_half * across
    kp[:, 11] = hip_mid + np.array([body.hip_half, 0.0])
    kp[:, 12] = hip_mid - np.array([body.hip_half, 0.0])
    for side, shoulder, elbow, wrist, hip, knee, ankle, pre in (
        (1.0, 5, 7, 9, 11, 13, 15, "l"),
        (-1.0, 6, 8, 10, 12, 14, 16, "r"),
    ):
        kp[:, elbow] = kp[:, shoulder] + body.upper_arm * _limb_dir(p[:, _P[f"{pre}_uarm"]], side)
        kp[:, wrist] = kp[:, elbow] + body.forearm * _limb_dir(p[:, _P[f"{pre}_farm"]], side)
        thigh = body.thigh * p[:, _P[f"{pre}_thigh_len"]][:, None]
        kp[:, knee] = kp[:, hip] + thigh * _limb_dir(p[:, _P[f"{pre}_thigh"]], side)
        kp[:, ankle] = kp[:, knee] + body.shin * _limb_dir(p[:, _P[f"{pre}_shin"]], side)
    head_tilt = lean + np.deg2rad(p[:, _P["head"]])
    head_up = np.stack([np.sin(head_tilt), -np.cos(head_tilt)], axis=-1)
    head_across = np.stack([np.cos(head_tilt), np.sin(head_tilt)], axis=-1)
    centre = shoulder_mid + body.neck * up
    r = body.head_radius
    kp[:, 0] = centre - 0.18 * r * head_up
    kp[:, 1] = centre + 0.36 * r * head_across + 0.2 * r * head_up
    kp[:, 2] = centre - 0.36 * r * head_across + 0.2 * r * head_up
    kp[:, 3] = centre + 0.98 * r * head_across + 0.05 * r * head_up
    kp[:, 4] = centre - 0.98 * r * head_across + 0.05 * r * head_up
    # Feet stay on the ground (y = 0 at the lowest ankle) unless the pose lifts the body.
    lowest = kp[:, 15:17, 1].max(axis=1)
    kp[:, :, 1] -= (lowest + p[:, _P["lift"]])[:, None]
    return kp


def mirror_keypoints(kp: np.ndarray) -> np.ndarray:
    """Mirror (..., 17, 2) keypoints about x = 0 AND swap left/right labels, so GT stays right."""
    out = kp[..., list(COCO17_FLIP), :].copy()
    out[..., 0] = -out[..., 0]
    return out


def motion_keypoints(
    program: MotionProgram, num_frames: int, jitter: MotionJitter, body: BodyShape
) -> tuple[np.ndarray, list[str]]:
    """Body-unit COCO-17 keypoints (T, 17, 2) and per-frame primitive names of one motion."""
    params, prims = pose_parameters(program, num_frames, jitter)
    kp = forward_kinematics(params, body)
    if jitter.mirror:
        kp = mirror_keypoints(kp)
    return kp, prims
