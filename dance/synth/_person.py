"""Draw a filled, front-facing cartoon person (body, limbs, face) from COCO-17 keypoints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

Color = tuple[int, int, int]

_SKIN_TONES: tuple[Color, ...] = (
    (255, 224, 196), (241, 194, 155), (224, 172, 125), (198, 134, 86),
    (160, 104, 66), (120, 76, 46), (92, 58, 36),
)  # fmt: skip
_HAIR: tuple[Color, ...] = (
    (30, 22, 18),
    (80, 50, 30),
    (150, 100, 50),
    (220, 190, 120),
    (60, 60, 60),
)
_SHIFT = 4  # sub-pixel bits for OpenCV drawing calls
_ONE = 1 << _SHIFT


@dataclass(frozen=True)
class PersonStyle:
    """Colours of one person (RGB)."""

    skin: Color
    hair: Color
    shirt: Color
    trousers: Color
    shoes: Color
    long_hair: bool


def _vivid(rng: np.random.Generator) -> Color:
    """A saturated random colour (clothes stand out from most backgrounds)."""
    hue = int(rng.integers(0, 180))
    sat = int(rng.integers(150, 256))
    val = int(rng.integers(120, 240))
    hsv = np.array([[[hue, sat, val]]], dtype=np.uint8)
    r, g, b = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]
    return int(r), int(g), int(b)


def sample_person_style(rng: np.random.Generator) -> PersonStyle:
    """Draw a person's colours."""
    trousers_dark = rng.random() < 0.5
    trousers: Color = (
        tuple(int(v) for v in rng.integers(20, 90, size=3))  # type: ignore[assignment]
        if trousers_dark
        else _vivid(rng)
    )
    return PersonStyle(
        skin=_SKIN_TONES[int(rng.integers(len(_SKIN_TONES)))],
        hair=_HAIR[int(rng.integers(len(_HAIR)))],
        shirt=_vivid(rng),
        trousers=trousers,
        shoes=tuple(int(v) for v in rng.integers(10, 70, size=3)),  # type: ignore[arg-type]
        long_hair=bool(rng.random() < 0.4),
    )


def _darker(color: Color, factor: float = 0.55) -> Color:
    """An outline colour for a fill colour."""
    return tuple(int(c * factor) for c in color)  # type: ignore[return-value]


def _pt(p: np.ndarray) -> tuple[int, int]:
    """A point in OpenCV's fixed-point sub-pixel format."""
    return round(float(p[0]) * _ONE), round(float(p[1]) * _ONE)


def _segment(img: np.ndarray, a: np.ndarray, b: np.ndarray, width: float, color: Color) -> None:
    """A thick limb segment with round caps and a dark outline."""
    w = max(1, round(width))
    outline = w + max(2, round(width * 0.25))
    cv2.line(img, _pt(a), _pt(b), _darker(color), outline, cv2.LINE_AA, _SHIFT)
    cv2.line(img, _pt(a), _pt(b), color, w, cv2.LINE_AA, _SHIFT)


def _disc(
    img: np.ndarray, c: np.ndarray, radius: float, color: Color, outline: bool = True
) -> None:
    """A filled circle, optionally outlined."""
    r = max(1, round(radius * _ONE))
    if outline:
        cv2.circle(img, _pt(c), r + _ONE, _darker(color), -1, cv2.LINE_AA, _SHIFT)
    cv2.circle(img, _pt(c), r, color, -1, cv2.LINE_AA, _SHIFT)


def _ellipse(
    img: np.ndarray,
    c: np.ndarray,
    axes: tuple[float, float],
    angle: float,
    color: Color,
    thickness: int = -1,
    arc: tuple[float, float] = (0.0, 360.0),
) -> None:
    """A (filled) ellipse or arc with sub-pixel centre."""
    cv2.ellipse(
        img, _pt(c), (max(1, int(axes[0] * _ONE)), max(1, int(axes[1] * _ONE))), angle,
        arc[0], arc[1], color, thickness, cv2.LINE_AA, _SHIFT,
    )  # fmt: skip


def _poly(img: np.ndarray, points: np.ndarray, color: Color) -> None:
    """A filled polygon with a dark outline."""
    pts = np.round(points * _ONE).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(img, [pts], color, cv2.LINE_AA, _SHIFT)
    cv2.polylines(img, [pts], True, _darker(color), 2, cv2.LINE_AA, _SHIFT)


def _unit(v: np.ndarray) -> np.ndarray:
    """v scaled to unit length (a zero vector stays zero)."""
    n = float(np.hypot(v[0], v[1]))
    return v / n if n > 1e-9 else v * 0.0


def _draw_head(img: np.ndarray, kp: np.ndarray, style: PersonStyle) -> None:
    """Head with hair and a face (eyes, brows, nose, mouth), oriented by the eye line."""
    le, re, lear, rear, nose = kp[1], kp[2], kp[3], kp[4], kp[0]
    across = _unit(lear - rear)
    up = np.array([across[1], -across[0]])
    r = float(np.hypot(*(lear - rear))) / 2.0 / 0.98
    centre = (lear + rear) / 2.0 - 0.05 * r * up
    angle = float(np.degrees(np.arctan2(across[1], across[0])))
    if style.long_hair:
        _ellipse(img, centre - 0.35 * r * up, (1.12 * r, 1.3 * r), angle, style.hair)
    _ellipse(img, centre, (r + 1.2, 1.15 * r + 1.2), angle, _darker(style.skin))
    _ellipse(img, centre, (r, 1.15 * r), angle, style.skin)
    # Ears as small skin bumps at the sides of the head.
    for ear in (lear, rear):
        _disc(img, ear, 0.2 * r, style.skin)
    # Hair: a cap over the top of the head, clear of the eyes and brows.
    _ellipse(img, centre + 0.62 * r * up, (0.98 * r, 0.52 * r), angle, style.hair)
    for eye in (le, re):
        _ellipse(img, eye, (0.26 * r, 0.17 * r), angle, (250, 250, 250))
        _disc(img, eye, 0.11 * r, (25, 25, 35), outline=False)
        brow = eye + 0.28 * r * up
        cv2.line(img, _pt(brow - 0.2 * r * across), _pt(brow + 0.2 * r * across),
                 _darker(style.hair, 0.8), max(1, int(0.08 * r)), cv2.LINE_AA, _SHIFT)  # fmt: skip
    cv2.line(img, _pt(nose + 0.12 * r * up), _pt(nose - 0.05 * r * up), _darker(style.skin, 0.7),
             max(1, int(0.08 * r)), cv2.LINE_AA, _SHIFT)  # fmt: skip
    mouth = nose - 0.4 * r * up
    _ellipse(img, mouth, (0.3 * r, 0.14 * r), angle, (170, 40, 50), max(1, int(0.1 * r)),
             (0.0, 180.0))  # fmt: skip


def draw_person(
    img: np.ndarray,
    kp: np.ndarray,
    scale: float,
    style: PersonStyle,
    before_arms: Callable[[np.ndarray], None] | None = None,
    before_hands: Callable[[np.ndarray], None] | None = None,
) -> None:
    """Draw a person from pixel COCO-17 keypoints (17, 2); `scale` is pixels per body unit.

    `before_arms` and `before_hands` draw objects between layers (a guitar in front of the
    torso but behind the arms; a bat in front of the forearm but under the hand).
    """
    # Legs: trousers from hips to ankles, then shoes.
    for hip, knee, ankle, side in ((11, 13, 15, 1.0), (12, 14, 16, -1.0)):
        _segment(img, kp[hip], kp[knee], 0.085 * scale, style.trousers)
        _segment(img, kp[knee], kp[ankle], 0.075 * scale, style.trousers)
        shoe = kp[ankle] + np.array([side * 0.03, 0.035]) * scale
        _ellipse(img, shoe, (0.055 * scale, 0.03 * scale), 0.0, style.shoes)
    # Pelvis and torso polygons (shirt over the trouser top).
    lh, rh, ls, rs = kp[11], kp[12], kp[5], kp[6]
    across = _unit(ls - rs)
    down = np.array([-across[1], across[0]])
    pelvis = np.array([lh + 0.05 * scale * across - 0.02 * scale * down,
                       rh - 0.05 * scale * across - 0.02 * scale * down,
                       rh - 0.045 * scale * across + 0.05 * scale * down,
                       lh + 0.045 * scale * across + 0.05 * scale * down])  # fmt: skip
    _poly(img, pelvis, style.trousers)
    torso = np.array([ls + 0.025 * scale * across - 0.02 * scale * down,
                      rs - 0.025 * scale * across - 0.02 * scale * down,
                      rh - 0.055 * scale * across + 0.01 * scale * down,
                      lh + 0.055 * scale * across + 0.01 * scale * down])  # fmt: skip
    # Neck first so the collar covers its base.
    neck_top = (kp[3] + kp[4]) / 2.0
    _segment(img, (ls + rs) / 2.0, neck_top, 0.06 * scale, style.skin)
    _poly(img, torso, style.shirt)
    _draw_head(img, kp, style)
    if before_arms is not None:
        before_arms(img)
    for shoulder, elbow, wrist in ((5, 7, 9), (6, 8, 10)):
        _segment(img, kp[shoulder], kp[elbow], 0.07 * scale, style.shirt)
        _segment(img, kp[elbow], kp[wrist], 0.058 * scale, style.skin)
    if before_hands is not None:
        before_hands(img)
    for elbow, wrist in ((7, 9), (8, 10)):
        hand = kp[wrist] + 0.03 * scale * _unit(kp[wrist] - kp[elbow])
        _disc(img, hand, 0.04 * scale, style.skin)
