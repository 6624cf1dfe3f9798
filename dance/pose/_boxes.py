"""Person-box maths for top-down pose: clipping, padding, aspect growth, selection, crops.

Image coordinates are continuous pixels: pixel (i, j) covers [i, i+1) x [j, j+1), so an
image of width W spans [0, W]. Boxes are (x1, y1, x2, y2) rows of an (N, 4) array.

Crops follow UDP (unbiased data processing, Huang et al. CVPR 2020), the geometry
ViTPose was trained with: a crop of width w has pixel indices 0..w-1, and the centres
of its first and last pixels sit exactly on the box's left and right edges.
"""

from __future__ import annotations

import cv2
import numpy as np


def _as_boxes(boxes: np.ndarray) -> np.ndarray:
    """Return boxes as a float64 (N, 4) array, or raise naming the bad shape."""
    array = np.asarray(boxes, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"boxes must have shape (N, 4) as x1, y1, x2, y2; got {array.shape}")
    return array


def clip_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Clip (N, 4) boxes to an image of the given width and height."""
    clipped = _as_boxes(boxes).copy()
    clipped[:, [0, 2]] = np.clip(clipped[:, [0, 2]], 0.0, float(width))
    clipped[:, [1, 3]] = np.clip(clipped[:, [1, 3]], 0.0, float(height))
    return clipped


def pad_boxes(boxes: np.ndarray, padding: float, width: int, height: int) -> np.ndarray:
    """Grow (N, 4) boxes by `padding` pixels on every side, then clip them to the image."""
    if padding < 0:
        raise ValueError(f"padding must be >= 0 pixels, got {padding}")
    padded = _as_boxes(boxes) + np.array([-padding, -padding, padding, padding])
    return clip_boxes(padded, width, height)


def grow_to_aspect(boxes: np.ndarray, aspect: tuple[int, int]) -> np.ndarray:
    """Grow the short side of (N, 4) boxes about their centre until width:height == aspect.

    The result is not clipped: as in the reference, the part outside the image is
    filled with black when cropped, so the person is never stretched.
    """
    aspect_w, aspect_h = aspect
    if aspect_w <= 0 or aspect_h <= 0:
        raise ValueError(f"aspect must be two positive numbers (width, height), got {aspect}")
    array = _as_boxes(boxes)
    centre_x = (array[:, 0] + array[:, 2]) / 2.0
    centre_y = (array[:, 1] + array[:, 3]) / 2.0
    box_w = np.maximum(array[:, 2] - array[:, 0], 0.0)
    box_h = np.maximum(array[:, 3] - array[:, 1], 0.0)
    ratio = aspect_w / aspect_h
    new_w = np.maximum(box_w, box_h * ratio)
    new_h = np.maximum(box_h, box_w / ratio)
    return np.stack(
        [centre_x - new_w / 2, centre_y - new_h / 2, centre_x + new_w / 2, centre_y + new_h / 2],
        axis=1,
    )


def crop_boxes(
    boxes: np.ndarray, padding: float, aspect: tuple[int, int], width: int, height: int
) -> np.ndarray:
    """The reference's crop region: pad by `padding` px, clip to the image, grow to `aspect`."""
    return grow_to_aspect(pad_boxes(boxes, padding, width, height), aspect)


def box_areas(boxes: np.ndarray) -> np.ndarray:
    """Areas of (N, 4) boxes; inverted boxes count as empty."""
    array = _as_boxes(boxes)
    return np.maximum(array[:, 2] - array[:, 0], 0.0) * np.maximum(array[:, 3] - array[:, 1], 0.0)


def select_largest(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> int:
    """Index of the largest box whose score is strictly above `threshold`, or -1 if none.

    Ties in area go to the higher score, then to the lower index, so the choice is
    deterministic.
    """
    array = _as_boxes(boxes)
    score_array = np.asarray(scores, dtype=np.float64)
    if score_array.shape != (array.shape[0],):
        raise ValueError(
            f"scores must have shape ({array.shape[0]},) to match the boxes, got {score_array.shape}"
        )
    candidates = np.flatnonzero(score_array > threshold)
    if candidates.size == 0:
        return -1
    areas = box_areas(array[candidates])
    # lexsort sorts by the last key first and is stable: area desc, score desc, index asc.
    order = np.lexsort((-score_array[candidates], -areas))
    return int(candidates[order[0]])


def crop_and_resize(
    image: np.ndarray, box: np.ndarray, out_width: int, out_height: int
) -> np.ndarray:
    """Crop `box` from an (H, W, C) image and resize it to out_width x out_height (bilinear).

    UDP geometry: crop pixel (j, i) samples image point (x1 + j * bw / (out_width - 1),
    y1 + i * bh / (out_height - 1)). Parts of the box outside the image come out black.
    """
    x1, y1, x2, y2 = (float(v) for v in np.asarray(box, dtype=np.float64).reshape(4))
    if not (x2 > x1 and y2 > y1):
        raise ValueError(f"crop box must have positive width and height, got {(x1, y1, x2, y2)}")
    if out_width < 2 or out_height < 2:
        raise ValueError(f"crop size must be at least 2 x 2, got {out_width} x {out_height}")
    scale_x = (x2 - x1) / (out_width - 1)
    scale_y = (y2 - y1) / (out_height - 1)
    # OpenCV indexes pixel centres at integers: continuous x is OpenCV index x - 0.5.
    dst_to_src = np.array(
        [
            [scale_x, 0.0, x1 - 0.5],
            [0.0, scale_y, y1 - 0.5],
        ]
    )
    return cv2.warpAffine(
        image,
        dst_to_src,
        (out_width, out_height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )


def crop_points_to_image(
    points: np.ndarray, boxes: np.ndarray, crop_width: int, crop_height: int
) -> np.ndarray:
    """Map (N, J, 2) points in crop pixel indices (UDP) to the image, crop n being boxes[n]."""
    array = _as_boxes(boxes)
    points_array = np.asarray(points, dtype=np.float64)
    if (
        points_array.ndim != 3
        or points_array.shape[0] != array.shape[0]
        or points_array.shape[2] < 2
    ):
        raise ValueError(
            f"points must have shape (N, J, 2) with N = {array.shape[0]} boxes, "
            f"got {points_array.shape}"
        )
    scale_x = (array[:, 2] - array[:, 0]) / (crop_width - 1)
    scale_y = (array[:, 3] - array[:, 1]) / (crop_height - 1)
    mapped = np.empty(points_array.shape[:2] + (2,), dtype=np.float64)
    mapped[..., 0] = array[:, None, 0] + points_array[..., 0] * scale_x[:, None]
    mapped[..., 1] = array[:, None, 1] + points_array[..., 1] * scale_y[:, None]
    return mapped
