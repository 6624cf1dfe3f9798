"""ViTPose heatmaps to keypoints: argmax refined to sub-pixel with DARK."""

from __future__ import annotations

import numpy as np
import torch

# DARK smoothing as in transformers' ViTPose post-processing: 3x3 Gaussian, sigma 0.8.
_DARK_SIGMA = 0.8


def _dark_kernel() -> np.ndarray:
    """The normalised 3-tap Gaussian (sigma 0.8) of DARK's smoothing, as a 1-D array."""
    taps = np.exp(-(np.arange(-1, 2, dtype=np.float64) ** 2) / (2 * _DARK_SIGMA**2))
    return taps / taps.sum()


def decode_heatmaps(heatmaps: torch.Tensor) -> np.ndarray:
    """(N, J, H, W) heatmaps -> (N, J, 3) x, y, score; x, y in heatmap pixel indices.

    x, y = argmax refined by one Newton step on the log of the Gaussian-smoothed heatmap
    (DARK, as in transformers' ViTPose post-processing), applied only where that surface
    is concave and limited to half a pixel.
    score = the raw heatmap maximum. Only the 5x5 neighbourhood of each argmax is
    smoothed (edges replicated), so the cost does not grow with the heatmap size.
    """
    if heatmaps.ndim != 4:
        raise ValueError(f"heatmaps must have shape (N, J, H, W), got {tuple(heatmaps.shape)}")
    num, joints, height, width = heatmaps.shape
    if num == 0:
        return np.zeros((0, joints, 3), dtype=np.float32)
    raw = heatmaps.detach().float()
    scores, flat_index = raw.reshape(num, joints, -1).max(dim=2)
    maps = raw.cpu().numpy()
    flat_index = flat_index.cpu().numpy()
    ix, iy = flat_index % width, flat_index // width
    steps = np.arange(-1, 2)
    # q: the 3x3 points around the argmax; p: each one's 3x3 smoothing support.
    qy = np.clip(iy[..., None] + steps, 0, height - 1)  # (N, J, 3)
    qx = np.clip(ix[..., None] + steps, 0, width - 1)
    py = np.clip(qy[..., None] + steps, 0, height - 1)  # (N, J, 3, 3): [q, k]
    px = np.clip(qx[..., None] + steps, 0, width - 1)
    n_idx = np.arange(num)[:, None, None, None, None, None]
    j_idx = np.arange(joints)[None, :, None, None, None, None]
    patch = maps[
        n_idx,
        j_idx,
        py[:, :, :, None, :, None],
        px[:, :, None, :, None, :],
    ].astype(np.float64)  # (N, J, qy, qx, ky, kx)
    kernel = _dark_kernel()
    smooth = np.einsum("njabkl,k,l->njab", patch, kernel, kernel)
    log_map = np.log(np.clip(smooth, 1e-3, 50.0))  # (N, J, 3, 3), centre at [1, 1]

    def at(dy: int, dx: int) -> np.ndarray:
        return log_map[:, :, 1 + dy, 1 + dx]

    centre = at(0, 0)
    grad_x = 0.5 * (at(0, 1) - at(0, -1))
    grad_y = 0.5 * (at(1, 0) - at(-1, 0))
    hxx = at(0, 1) - 2 * centre + at(0, -1)
    hyy = at(1, 0) - 2 * centre + at(-1, 0)
    hxy = 0.25 * (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1))
    det = hxx * hyy - hxy**2
    concave = (det > 1e-12) & (hxx < 0)
    safe_det = np.where(concave, det, 1.0)
    # offset = -H^-1 g, with H^-1 = [[hyy, -hxy], [-hxy, hxx]] / det.
    offset_x = np.where(concave, -(hyy * grad_x - hxy * grad_y) / safe_det, 0.0)
    offset_y = np.where(concave, -(hxx * grad_y - hxy * grad_x) / safe_det, 0.0)
    out = np.empty((num, joints, 3), dtype=np.float32)
    out[..., 0] = ix + np.clip(offset_x, -0.5, 0.5)
    out[..., 1] = iy + np.clip(offset_y, -0.5, 0.5)
    out[..., 2] = scores.cpu().numpy()
    return out
