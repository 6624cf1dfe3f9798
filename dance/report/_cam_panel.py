"""A sampled video's Grad-CAM overlay: DANCE's predicted class through its concept bottleneck.

    overlay = dance_cam_overlay(cam, backbone_frames, shown_frames, class_index)
    writer.bytes(cam_file(video_id), overlay.gif)      # assets/cams/<hash>.gif
    html = cam_panel(overlay, cam_file(video_id))       # beside the top concepts

The GIF is named by a hash of the video id, never by the id: ids are data. A video whose
map could not be computed gets a panel that says why instead of a picture.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from dance.posthoc import VideoCam, gif_bytes, overlay_heat
from dance.report._html import esc

CAM_SIDE = 112  # the overlay's longer side in pixels: ~90 kB a GIF, quick to write


@dataclass(frozen=True)
class CamOverlay:
    """One video's Grad-CAM overlay as GIF bytes, or the reason there is none."""

    gif: bytes | None = None
    error: str | None = None  # "reason: detail" when no map was made
    class_name: str | None = None
    layer: str | None = None


def cam_file(video_id: str) -> str:
    """The overlay's path from the site root: a hash of the id, so no id can name a path."""
    return f"assets/cams/{hashlib.sha256(video_id.encode()).hexdigest()[:24]}.gif"


def shown_size(height: int, width: int, side: int = CAM_SIDE) -> tuple[int, int]:
    """(H, W) of the overlay: the video's aspect ratio with its longer side `side`."""
    scale = side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def dance_cam_overlay(cam: VideoCam, frames: np.ndarray, shown: np.ndarray,
                      class_index: int) -> CamOverlay:
    """Grad-CAM of class `class_index` on the backbone's `frames`, blended over `shown`.

    `frames`: (T, S, S', 3) uint8 as the backbone takes them; `shown`: the same T frames
    of the video at the size the GIF has (same aspect ratio as the video).
    """
    result = cam.explain(frames, method="gradcam", class_index=class_index,
                         size=(shown.shape[1], shown.shape[2]))
    return CamOverlay(gif=gif_bytes(overlay_heat(shown, result.maps)),
                      class_name=result.class_name, layer=result.layer)


def cam_panel(overlay: CamOverlay, asset: str | None, depth: int = 1) -> str:
    """The panel beside a video's top concepts: the animated overlay, or why it is missing."""
    heading = '<h3 style="margin:0 0 6px">Grad-CAM of the predicted class</h3>'
    # a fixed width keeps the panel beside the table rather than wrapped below it
    opening = (f'<div class="cam-panel" style="width:{2 * CAM_SIDE}px;'
               f'overflow-wrap:anywhere">{heading}')
    if overlay.gif is None or asset is None:
        reason = overlay.error or "no map was computed"
        return (f'{opening}<p class="muted cam-missing">No Grad-CAM for this video: '
                f"{esc(reason)}</p></div>")
    up = "../" * depth
    return (
        f'{opening}<img class="gradcam" src="{up}{esc(asset)}" alt="Grad-CAM overlay of '
        f'{esc(overlay.class_name or "")}" style="width:100%;border:1px solid #ccc">'
        f'<p class="muted">{esc(overlay.class_name or "")} through the concept bottleneck, '
        f"at {esc(overlay.layer or 'the last block')}; red: where the frames raise its "
        "logit most.</p></div>"
    )
