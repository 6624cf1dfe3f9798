"""Procedural backgrounds: each scene has its own colours and structure."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Color = tuple[int, int, int]
SCENES: tuple[str, ...] = (
    "field", "court", "gym", "living_room", "beach", "snow", "street", "pool",
)  # fmt: skip


def _jit(rng: np.random.Generator, color: Color, amount: int = 18) -> Color:
    """A colour with a small random shift, so two videos of one scene differ."""
    c = np.clip(np.array(color) + rng.integers(-amount, amount + 1, size=3), 0, 255)
    return int(c[0]), int(c[1]), int(c[2])


def _vgrad(img: np.ndarray, y0: int, y1: int, top: Color, bottom: Color) -> None:
    """Fill rows [y0, y1) with a vertical colour gradient."""
    if y1 <= y0:
        return
    t = np.linspace(0.0, 1.0, y1 - y0)[:, None, None]
    band = (1 - t) * np.array(top, dtype=np.float64) + t * np.array(bottom, dtype=np.float64)
    img[y0:y1] = np.round(band).astype(np.uint8)


def _sky(img: np.ndarray, horizon: int, rng: np.random.Generator) -> None:
    """A sky gradient above the horizon, with a cloud or two."""
    _vgrad(img, 0, horizon, _jit(rng, (110, 165, 230)), _jit(rng, (200, 225, 245)))
    w = img.shape[1]
    for _ in range(int(rng.integers(1, 3))):
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, max(1, horizon // 2)))
        for dx in (-1, 0, 1):
            cv2.ellipse(img, (cx + dx * w // 16, cy), (w // 12, w // 28), 0, 0, 360,
                        (245, 245, 250), -1, cv2.LINE_AA)  # fmt: skip


def _field(img: np.ndarray, horizon: int, rng: np.random.Generator) -> None:
    """Grass with mowing stripes, a white line and a goal frame."""
    h, w = img.shape[:2]
    _sky(img, horizon, rng)
    g1, g2 = _jit(rng, (60, 150, 60)), _jit(rng, (80, 175, 75))
    stripe = max(4, w // 8)
    for i, x in enumerate(range(0, w, stripe)):
        img[horizon:, x : x + stripe] = g1 if i % 2 == 0 else g2
    y = horizon + (h - horizon) // 3
    cv2.line(img, (0, y), (w, y), (240, 240, 240), max(1, h // 80), cv2.LINE_AA)
    gx = int(rng.integers(w // 8, w - w // 4))
    top = horizon - h // 8
    cv2.rectangle(
        img, (gx, top), (gx + w // 5, horizon + h // 40), (245, 245, 245), max(1, h // 90)
    )


def _court(img: np.ndarray, horizon: int, rng: np.random.Generator) -> None:
    """A hard court with boundary lines and a net in front of a back wall."""
    h, w = img.shape[:2]
    img[:horizon] = _jit(rng, (40, 70, 110))
    img[horizon:] = _jit(rng, [(40, 110, 170), (200, 100, 60), (70, 140, 90)][int(rng.integers(3))])
    lw = max(1, h // 70)
    for y in (horizon + (h - horizon) // 5, h - (h - horizon) // 6):
        cv2.line(img, (0, y), (w, y), (250, 250, 250), lw, cv2.LINE_AA)
    cv2.line(img, (w // 2, horizon), (w // 2, h), (250, 250, 250), lw, cv2.LINE_AA)
    net_top = horizon - h // 14
    cv2.line(img, (0, net_top), (w, net_top), (245, 245, 245), max(1, h // 60), cv2.LINE_AA)
    for x in range(0, w, max(3, w // 40)):
        cv2.line(img, (x, net_top), (x, horizon), (30, 30, 30), 1)


def _gym(img: np.ndarray, horizon: int, rng: np.random.Generator) -> None:
    """Panelled grey wall with wall bars, and a wooden floor with planks."""
    h, w = img.shape[:2]
    wall = _jit(rng, (175, 180, 185))
    img[:horizon] = wall
    for y in range(h // 10, horizon, max(4, h // 10)):
        cv2.line(img, (0, y), (w, y), tuple(int(c * 0.85) for c in wall), 1)
    bx = int(rng.integers(0, w - w // 4))
    for x in range(bx, bx + w // 4, max(3, w // 40)):
        cv2.line(img, (x, h // 10), (x, horizon), (150, 110, 60), max(1, w // 100))
    for y in range(h // 10, horizon, max(3, h // 25)):
        cv2.line(img, (bx, y), (bx + w // 4, y), (150, 110, 60), max(1, w // 120))
    _vgrad(img, horizon, h, _jit(rng, (190, 140, 80)), _jit(rng, (165, 115, 60)))
    for y in range(horizon, h, max(3, h // 20)):
        cv2.line(img, (0, y), (w, y), (130, 90, 45), 1)


def _living_room(img: np.ndarray, horizon: int, rng: np.random.Generator) -> None:
    """Wallpaper, a window, a sofa and a lamp over a carpet."""
    h, w = img.shape[:2]
    paper = _jit(rng, [(230, 215, 180), (200, 220, 210), (225, 200, 210)][int(rng.integers(3))])
    img[:horizon] = paper
    for x in range(0, w, max(4, w // 16)):
        cv2.line(img, (x, 0), (x, horizon), tuple(int(c * 0.93) for c in paper), 1)
    wx = int(rng.integers(0, w - w // 3))
    cv2.rectangle(img, (wx, h // 10), (wx + w // 4, h // 10 + h // 5), (170, 210, 240), -1)
    cv2.rectangle(
        img, (wx, h // 10), (wx + w // 4, h // 10 + h // 5), (110, 80, 50), max(1, h // 80)
    )
    _vgrad(img, horizon, h, _jit(rng, (150, 60, 60)), _jit(rng, (120, 45, 45)))
    sx = int(rng.integers(0, w - w // 3))
    sofa = _jit(rng, (80, 90, 140))
    cv2.rectangle(img, (sx, horizon - h // 9), (sx + w // 3, horizon + h // 30), sofa, -1)
    cv2.rectangle(
        img,
        (sx, horizon - h // 6),
        (sx + w // 3, horizon - h // 9),
        tuple(int(c * 0.8) for c in sofa),
        -1,
    )
    lx = w - sx // 2 - w // 10
    cv2.line(img, (lx, horizon), (lx, horizon - h // 4), (60, 60, 60), max(1, w // 100))
    cv2.ellipse(img, (lx, horizon - h // 4), (w // 24, h // 28), 0, 180, 360, (250, 230, 150), -1)


def _beach(img: np.ndarray, horizon: int, rng: np.random.Generator) -> None:
    """Sky with a sun, a sea band with wave crests, and sand."""
    h, w = img.shape[:2]
    _sky(img, horizon, rng)
    sea_end = horizon + (h - horizon) // 4
    _vgrad(img, horizon, sea_end, _jit(rng, (30, 110, 170)), _jit(rng, (60, 160, 200)))
    for y in range(horizon + 3, sea_end, max(3, h // 40)):
        for x in range(int(rng.integers(0, 8)), w, max(6, w // 10)):
            cv2.line(img, (x, y), (x + w // 30, y), (230, 240, 250), 1, cv2.LINE_AA)
    _vgrad(img, sea_end, h, _jit(rng, (240, 220, 160)), _jit(rng, (220, 195, 130)))
    cv2.circle(
        img,
        (int(rng.integers(w // 10, w - w // 10)), h // 10),
        h // 16,
        (255, 220, 80),
        -1,
        cv2.LINE_AA,
    )


def _snow(img: np.ndarray, horizon: int, rng: np.random.Generator) -> None:
    """Pale sky, pine trees on the horizon, and snow-covered ground."""
    h, w = img.shape[:2]
    _vgrad(img, 0, horizon, _jit(rng, (180, 195, 215)), _jit(rng, (225, 230, 240)))
    _vgrad(img, horizon, h, _jit(rng, (245, 248, 252), 6), _jit(rng, (215, 225, 240), 8))
    for _ in range(int(rng.integers(3, 6))):
        x, s = int(rng.integers(0, w)), int(rng.integers(h // 10, h // 5))
        pts = np.array([[x, horizon - s], [x - s // 3, horizon + 2], [x + s // 3, horizon + 2]])
        cv2.fillPoly(img, [pts.astype(np.int32)], _jit(rng, (30, 90, 50)), cv2.LINE_AA)
    for _ in range(w // 4):
        cv2.circle(img, (int(rng.integers(0, w)), int(rng.integers(0, h))), 1, (255, 255, 255), -1)


def _street(img: np.ndarray, horizon: int, rng: np.random.Generator) -> None:
    """Buildings with windows, a sidewalk and a road with dashed markings."""
    h, w = img.shape[:2]
    _sky(img, horizon, rng)
    x = 0
    while x < w:
        bw, bh = int(rng.integers(w // 6, w // 3)), int(rng.integers(horizon // 3, horizon))
        col = _jit(rng, [(150, 90, 70), (120, 120, 130), (200, 180, 140)][int(rng.integers(3))], 25)
        cv2.rectangle(img, (x, horizon - bh), (x + bw, horizon), col, -1)
        for wy in range(horizon - bh + 4, horizon - 4, max(5, h // 16)):
            for wx in range(x + 3, x + bw - 4, max(5, w // 20)):
                cv2.rectangle(
                    img, (wx, wy), (wx + max(2, w // 60), wy + max(2, h // 50)), (240, 230, 150), -1
                )
        x += bw
    walk_end = horizon + (h - horizon) // 3
    img[horizon:walk_end] = _jit(rng, (180, 180, 175))
    _vgrad(img, walk_end, h, _jit(rng, (85, 85, 90)), _jit(rng, (60, 60, 65)))
    y = (walk_end + h) // 2
    for x0 in range(0, w, max(8, w // 6)):
        cv2.line(img, (x0, y), (x0 + w // 12, y), (240, 220, 60), max(1, h // 80))


def _pool(img: np.ndarray, horizon: int, rng: np.random.Generator) -> None:
    """A tiled wall, blue water with lane ropes, and a tiled deck in front."""
    h, w = img.shape[:2]
    img[:horizon] = _jit(rng, (225, 235, 240))
    for x in range(0, w, max(4, w // 20)):
        cv2.line(img, (x, 0), (x, horizon), (190, 205, 215), 1)
    water_end = horizon + (h - horizon) // 2
    _vgrad(img, horizon, water_end, _jit(rng, (40, 150, 210)), _jit(rng, (70, 180, 225)))
    for y in range(horizon + 4, water_end, max(4, (water_end - horizon) // 3)):
        for x in range(0, w, max(3, w // 30)):
            c = (220, 40, 40) if (x // max(3, w // 30)) % 2 == 0 else (250, 250, 250)
            cv2.circle(img, (x, y), max(1, h // 100), c, -1)
    img[water_end:] = _jit(rng, (200, 200, 195))
    for y in range(water_end, h, max(4, h // 20)):
        cv2.line(img, (0, y), (w, y), (170, 170, 165), 1)


_PAINTERS: dict[str, Callable[[np.ndarray, int, np.random.Generator], None]] = {
    "field": _field,
    "court": _court,
    "gym": _gym,
    "living_room": _living_room,
    "beach": _beach,
    "snow": _snow,
    "street": _street,
    "pool": _pool,
}


def render_scene(name: str, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """An RGB uint8 background of the named scene; the horizon lies at 35-50 % of the height."""
    if name not in _PAINTERS:
        raise ValueError(f"unknown scene {name!r}; known: {', '.join(SCENES)}")
    img = np.zeros((height, width, 3), dtype=np.uint8)
    horizon = int(height * float(rng.uniform(0.35, 0.5)))
    _PAINTERS[name](img, horizon, rng)
    return img
