"""Drawn objects: held in a hand (moving with it), worn on the torso, or placed in the scene."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from dance.pose.skeleton import COCO17_FLIP

Color = tuple[int, int, int]
OBJECTS: tuple[str, ...] = ("ball", "bat", "racket", "barbell", "rope", "guitar", "chair")
# How a class uses its object; a held object moves with the hand every frame.
HOLD_MODES: tuple[str, ...] = ("right_hand", "both_hands", "guitar", "seat", "placed")
LAYER_BEHIND, LAYER_TORSO, LAYER_HAND = "behind", "torso", "hand"
_R_WRIST, _L_WRIST, _R_ELBOW, _L_ELBOW = 10, 9, 8, 7
_SHIFT = 4
_ONE = 1 << _SHIFT

# The fill colours an object can take; a video draws one of them per object.
OBJECT_COLORS: dict[str, tuple[Color, ...]] = {
    "ball": ((230, 60, 40), (250, 200, 30), (240, 240, 240), (40, 120, 220)),
    "bat": ((190, 140, 80), (150, 100, 55), (60, 60, 60)),
    "racket": ((220, 30, 30), (30, 60, 200), (250, 200, 0)),
    "barbell": ((40, 40, 40), (160, 20, 20), (20, 60, 150)),
    "rope": ((230, 40, 120), (30, 200, 220), (250, 140, 0)),
    "guitar": ((200, 110, 40), (170, 30, 30), (235, 170, 60)),
    "chair": ((140, 90, 40), (90, 60, 30), (50, 110, 160)),
}


@dataclass(frozen=True)
class ObjectSpec:
    """One video's object: what, how it is held, its colour, and where it lies if placed."""

    name: str
    mode: str
    color: Color
    side: float  # +1: placed on the image right of the person, -1: left
    mirrored: bool  # the motion is mirrored, so "right hand" means the left wrist


def sample_object(name: str, mode: str, mirrored: bool, rng: np.random.Generator) -> ObjectSpec:
    """Draw the per-video look of an object."""
    if name not in OBJECTS:
        raise ValueError(f"unknown object {name!r}; known: {', '.join(OBJECTS)}")
    if mode not in HOLD_MODES:
        raise ValueError(f"unknown hold mode {mode!r}; known: {', '.join(HOLD_MODES)}")
    colors = OBJECT_COLORS[name]
    return ObjectSpec(
        name=name,
        mode=mode,
        color=colors[int(rng.integers(len(colors)))],
        side=1.0 if rng.random() < 0.5 else -1.0,
        mirrored=mirrored,
    )


def object_layer(spec: ObjectSpec) -> str:
    """Which drawing layer the object belongs to (behind, torso or hand)."""
    if spec.mode in ("seat", "placed"):
        return LAYER_BEHIND
    return LAYER_TORSO if spec.mode == "guitar" else LAYER_HAND


def _pt(p: np.ndarray) -> tuple[int, int]:
    """Fixed-point sub-pixel OpenCV point."""
    return round(float(p[0]) * _ONE), round(float(p[1]) * _ONE)


def _line(img: np.ndarray, a: np.ndarray, b: np.ndarray, color: Color, width: float) -> None:
    """An anti-aliased line of the given width in pixels."""
    cv2.line(img, _pt(a), _pt(b), color, max(1, round(width)), cv2.LINE_AA, _SHIFT)


def _unit(v: np.ndarray) -> np.ndarray:
    """v scaled to unit length."""
    n = float(np.hypot(v[0], v[1]))
    return v / n if n > 1e-9 else np.array([0.0, -1.0])


def _dark(c: Color, f: float = 0.6) -> Color:
    """A darker shade for outlines."""
    return int(c[0] * f), int(c[1] * f), int(c[2] * f)


def _hand(spec: ObjectSpec) -> tuple[int, int]:
    """(wrist, elbow) joint indices of the holding hand, following the mirror."""
    if spec.mirrored:
        return COCO17_FLIP[_R_WRIST], COCO17_FLIP[_R_ELBOW]
    return _R_WRIST, _R_ELBOW


def _ball(img: np.ndarray, c: np.ndarray, r: float, color: Color) -> None:
    """A ball with a seam pattern."""
    cv2.circle(img, _pt(c), int(r * _ONE) + _ONE, _dark(color), -1, cv2.LINE_AA, _SHIFT)
    cv2.circle(img, _pt(c), int(r * _ONE), color, -1, cv2.LINE_AA, _SHIFT)
    cv2.ellipse(img, _pt(c), (int(r * _ONE), int(r * 0.4 * _ONE)), 30, 0, 360, _dark(color, 0.4),
                1, cv2.LINE_AA, _SHIFT)  # fmt: skip


def _bat(img: np.ndarray, grip: np.ndarray, d: np.ndarray, s: float, color: Color) -> None:
    """A tapered baseball bat from the grip along direction d."""
    n = np.array([-d[1], d[0]])
    tip = grip + 0.5 * s * d
    pts = np.array([grip + 0.012 * s * n, tip + 0.03 * s * n, tip - 0.03 * s * n,
                    grip - 0.012 * s * n])  # fmt: skip
    p = np.round(pts * _ONE).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(img, [p], color, cv2.LINE_AA, _SHIFT)
    cv2.polylines(img, [p], True, _dark(color), 1, cv2.LINE_AA, _SHIFT)
    cv2.circle(img, _pt(tip), int(0.03 * s * _ONE), color, -1, cv2.LINE_AA, _SHIFT)


def _racket(img: np.ndarray, grip: np.ndarray, d: np.ndarray, s: float, color: Color) -> None:
    """A racket: handle, oval frame and string grid."""
    neck = grip + 0.17 * s * d
    _line(img, grip, neck, (40, 40, 40), 0.03 * s)
    centre = neck + 0.12 * s * d
    angle = float(np.degrees(np.arctan2(d[1], d[0])))
    axes = (int(0.13 * s * _ONE), int(0.09 * s * _ONE))
    cv2.ellipse(img, _pt(centre), axes, angle, 0, 360, (235, 235, 235), -1, cv2.LINE_AA, _SHIFT)
    n = np.array([-d[1], d[0]])
    for k in np.linspace(-0.07, 0.07, 5):
        _line(
            img,
            centre + k * s * n - 0.1 * s * d,
            centre + k * s * n + 0.1 * s * d,
            (150, 150, 150),
            1,
        )
        _line(img, centre + k * 1.3 * s * d - 0.07 * s * n, centre + k * 1.3 * s * d + 0.07 * s * n,
              (150, 150, 150), 1)  # fmt: skip
    cv2.ellipse(
        img, _pt(centre), axes, angle, 0, 360, color, max(2, int(0.025 * s)), cv2.LINE_AA, _SHIFT
    )


def _barbell(img: np.ndarray, a: np.ndarray, b: np.ndarray, s: float, color: Color) -> None:
    """A bar through both hands with weight plates at both ends."""
    d = _unit(b - a)
    n = np.array([-d[1], d[0]])
    ea, eb = a - 0.22 * s * d, b + 0.22 * s * d
    _line(img, ea, eb, (120, 120, 125), 0.022 * s)
    for end, sign in ((ea, 1.0), (eb, -1.0)):
        for k in (0.03, 0.075):
            c = end + sign * k * s * d
            _line(img, c - 0.11 * s * n, c + 0.11 * s * n, color, 0.04 * s)


def _rope(img: np.ndarray, a: np.ndarray, b: np.ndarray, low: float, high: float, phase: float,
          color: Color, s: float) -> None:  # fmt: skip
    """A skipping rope from hand to hand, swinging between above the head and below the feet."""
    mid_y = 0.5 * (low + high) + 0.5 * (low - high) * np.cos(phase)
    t = np.linspace(0.0, 1.0, 24)
    x = (1 - t) * a[0] + t * b[0]
    base = (1 - t) * a[1] + t * b[1]
    y = base + (mid_y - 0.5 * (a[1] + b[1])) * np.sin(np.pi * t)
    pts = np.round(np.stack([x, y], axis=1) * _ONE).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(img, [pts], False, color, max(1, int(0.018 * s)), cv2.LINE_AA, _SHIFT)


def _guitar(img: np.ndarray, body: np.ndarray, head: np.ndarray, s: float, color: Color) -> None:
    """An acoustic guitar: two-lobed body with a sound hole and a neck towards `head`."""
    d = _unit(head - body)
    angle = float(np.degrees(np.arctan2(d[1], d[0])))
    _line(img, body, head, (90, 55, 25), 0.035 * s)
    _line(img, head, head + 0.06 * s * d, (40, 30, 20), 0.05 * s)
    lower, upper = body - 0.05 * s * d, body + 0.06 * s * d
    for c, r in ((lower, (0.13, 0.11)), (upper, (0.09, 0.085))):
        axes = (int(r[0] * s * _ONE), int(r[1] * s * _ONE))
        cv2.ellipse(img, _pt(c), axes, angle, 0, 360, _dark(color), -1, cv2.LINE_AA, _SHIFT)
        axes2 = (max(1, axes[0] - 2 * _ONE), max(1, axes[1] - 2 * _ONE))
        cv2.ellipse(img, _pt(c), axes2, angle, 0, 360, color, -1, cv2.LINE_AA, _SHIFT)
    cv2.circle(
        img, _pt(body + 0.02 * s * d), int(0.035 * s * _ONE), (30, 20, 10), -1, cv2.LINE_AA, _SHIFT
    )


def _chair(img: np.ndarray, seat: np.ndarray, s: float, color: Color) -> None:
    """A front-view chair whose seat centre is `seat`; legs reach down to the floor."""
    w, leg, back = 0.2 * s, 0.25 * s, 0.4 * s
    x, y = float(seat[0]), float(seat[1])
    dark = _dark(color)
    for dx in (-w, w):
        _line(img, np.array([x + dx * 0.9, y]), np.array([x + dx * 0.9, y + leg]), dark, 0.03 * s)
        _line(
            img, np.array([x + dx * 0.9, y]), np.array([x + dx * 0.9, y - back]), color, 0.035 * s
        )
    for k in (0.35, 0.7, 0.95):
        _line(img, np.array([x - w * 0.9, y - back * k]), np.array([x + w * 0.9, y - back * k]),
              color, 0.035 * s)  # fmt: skip
    _line(img, np.array([x - w, y]), np.array([x + w, y]), dark, 0.05 * s)


def draw_object(
    img: np.ndarray, layer: str, spec: ObjectSpec, kp: np.ndarray, scale: float,
    ground_y: float, anchor_x: float, seat_y: float, phase: float,
) -> None:  # fmt: skip
    """Draw the object if it belongs to `layer`; kp are this frame's pixel keypoints (17, 2).

    anchor_x: the person's standing x (placed objects stay put while the person moves);
    seat_y: the person's hip height when seated; phase: the motion's progress (radians).
    """
    if object_layer(spec) != layer:
        return
    s = scale
    if spec.mode in ("placed", "seat"):
        if spec.mode == "seat":
            _chair(img, np.array([anchor_x, seat_y + 0.04 * s]), s, spec.color)
            return
        floor = np.array([anchor_x + spec.side * 0.48 * s, ground_y + 0.04 * s])
        if spec.name == "ball":
            _ball(img, floor - np.array([0.0, 0.07 * s]), 0.07 * s, spec.color)
        elif spec.name == "chair":
            _chair(img, floor - np.array([0.0, 0.25 * s]), 0.8 * s, spec.color)
        elif spec.name in ("bat", "racket"):
            draw = _bat if spec.name == "bat" else _racket
            draw(
                img,
                floor - np.array([0.22 * s, 0.01 * s]),
                np.array([1.0, 0.0]),
                0.9 * s,
                spec.color,
            )
        elif spec.name == "barbell":
            _barbell(img, floor - np.array([0.1 * s, 0.1 * s]), floor + np.array([0.1 * s, -0.1 * s]),
                     0.6 * s, spec.color)  # fmt: skip
        elif spec.name == "guitar":
            _guitar(
                img,
                floor - np.array([0.0, 0.12 * s]),
                floor - np.array([0.0, 0.5 * s]),
                s,
                spec.color,
            )
        else:  # a coiled rope
            c = floor - np.array([0.0, 0.02 * s])
            for r in (0.1, 0.08, 0.06):
                cv2.ellipse(img, _pt(c), (int(r * s * _ONE), int(0.3 * r * s * _ONE)), 0, 0, 360,
                            spec.color, max(1, int(0.015 * s)), cv2.LINE_AA, _SHIFT)  # fmt: skip
        return
    wrist, elbow = _hand(spec)
    other = COCO17_FLIP[wrist]
    if spec.mode == "guitar":
        hip_mid = (kp[11] + kp[12]) / 2.0
        sh_mid = (kp[5] + kp[6]) / 2.0
        body = (
            hip_mid + 0.3 * (sh_mid - hip_mid) + 0.35 * (kp[wrist] - hip_mid) * np.array([0.3, 0.0])
        )
        _guitar(img, body, kp[other] + 0.02 * s * _unit(kp[other] - body), s, spec.color)
        return
    if spec.mode == "both_hands":
        if spec.name == "rope":
            low = ground_y + 0.08 * s
            high = float(min(kp[:, 1].min(), kp[9, 1], kp[10, 1])) - 0.08 * s
            _rope(img, kp[_R_WRIST], kp[_L_WRIST], low, high, phase, spec.color, s)
        elif spec.name == "barbell":
            _barbell(img, kp[_R_WRIST], kp[_L_WRIST], s, spec.color)
        else:
            _held_single(img, spec, kp, wrist, elbow, s)
        return
    _held_single(img, spec, kp, wrist, elbow, s)


def _held_single(img: np.ndarray, spec: ObjectSpec, kp: np.ndarray, wrist: int, elbow: int,
                 s: float) -> None:  # fmt: skip
    """An object in one hand, continuing the forearm's direction."""
    d = _unit(kp[wrist] - kp[elbow])
    grip = kp[wrist] + 0.03 * s * d
    if spec.name == "ball":
        _ball(img, grip + 0.06 * s * d, 0.065 * s, spec.color)
    elif spec.name == "bat":
        _bat(img, grip - 0.04 * s * d, d, s, spec.color)
    elif spec.name == "racket":
        _racket(img, grip - 0.03 * s * d, d, s, spec.color)
    elif spec.name == "barbell":
        n = np.array([-d[1], d[0]])
        _barbell(img, grip - 0.1 * s * n, grip + 0.1 * s * n, 0.6 * s, spec.color)
    elif spec.name == "guitar":
        _guitar(img, grip + 0.15 * s * d, grip + 0.55 * s * d, 0.8 * s, spec.color)
    elif spec.name == "chair":
        _chair(img, grip + np.array([0.0, 0.15 * s]), 0.6 * s, spec.color)
    else:
        _rope(img, grip, grip + 0.2 * s * d, grip[1] + 0.3 * s, grip[1], 0.0, spec.color, s)
