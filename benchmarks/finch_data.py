"""Row sets for benchmarks/finch.py: every kind generated in blocks, float32, seeded.

- blobs: Gaussian blobs around 200 random centres (rows centred on the origin).
- uniform: uniform random rows in [0, 1)^d, no structure at all.
- pose_like: noisy copies of 300 smooth random 16-frame, 17-joint trajectories, min-max
  scaled per frame like the normalised pose clips.
- positive_orthant: rows around 2,000 centres drawn uniformly in [0, 1]^d plus Gaussian
  noise (0.1): every row points roughly the same way, so spherical k-means lists are
  unbalanced (the issue's data).
- synth_pose: DANCE-Synth pose clips at scale: noise-free COCO-17 keypoints of as many
  videos as the `bench` preset has (13 classes x 240, 64 frames) from DANCE-Synth's
  motion programs, each cut into 10 evenly spaced 16-frame clips (31,200 clips), tiled
  to the requested count with per-joint jitter (0.01 body units, every copy) and min-max
  normalised as the pipeline does.
"""

from __future__ import annotations

import numpy as np

KINDS = ("blobs", "uniform", "pose_like", "positive_orthant", "synth_pose")
_BLOCK = 50_000


def pose_like(n: int, dim: int, seed: int, prototypes: int = 300) -> np.ndarray:
    """Clustered pose-like rows: noisy copies of smooth prototype trajectories, min-max per frame.

    Rows are (frames, joints, 2) with frames * joints * 2 == dim when dim is a multiple of
    34 (16 frames for 544); generated in blocks so memory stays at the float32 output.
    """
    joints, axes = 17, 2
    frames = max(1, dim // (joints * axes))
    rng = np.random.default_rng(seed)
    base = rng.random((prototypes, 1, joints, axes))
    walk = np.cumsum(0.05 * rng.normal(size=(prototypes, frames, joints, axes)), axis=1)
    proto = base + walk
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, _BLOCK):
        size = min(_BLOCK, n - start)
        which = rng.integers(0, prototypes, size)
        noise = np.cumsum(0.01 * rng.normal(size=(size, frames, joints, axes)), axis=1)
        xy = proto[which] + noise + 0.03 * rng.normal(size=(size, 1, joints, axes))
        low = xy.min(axis=2, keepdims=True)
        span = np.maximum(xy.max(axis=2, keepdims=True) - low, 1e-9)
        flat = ((xy - low) / span).reshape(size, -1)
        out[start : start + size, : flat.shape[1]] = flat
        out[start : start + size, flat.shape[1] :] = 0.0
    return out


def blobs(n: int, dim: int, seed: int, centres: int = 200) -> np.ndarray:
    """Gaussian blobs around random centres."""
    rng = np.random.default_rng(seed)
    middle = rng.normal(size=(centres, dim)).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, _BLOCK):
        size = min(_BLOCK, n - start)
        out[start : start + size] = middle[rng.integers(0, centres, size)]
        out[start : start + size] += rng.standard_normal((size, dim), dtype=np.float32)
    return out


def uniform(n: int, dim: int, seed: int) -> np.ndarray:
    """Uniform random rows in [0, 1)."""
    return np.random.default_rng(seed).random((n, dim), dtype=np.float32)


def positive_orthant(
    n: int, dim: int, seed: int, centres: int = 2000, noise: float = 0.1
) -> np.ndarray:
    """Rows around `centres` centres drawn uniformly in [0, 1]^dim, plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    middle = rng.random((centres, dim), dtype=np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, _BLOCK):
        size = min(_BLOCK, n - start)
        out[start : start + size] = middle[rng.integers(0, centres, size)]
        out[start : start + size] += noise * rng.standard_normal((size, dim), dtype=np.float32)
    return out


def synth_base_clips(clip_length: int = 16, clips_per_video: int = 10, seed: int = 0) -> np.ndarray:
    """(videos * clips, clip_length, 17, 2) body-unit keypoints of bench-preset-sized videos.

    DANCE-Synth's own classes, motion programs and forward kinematics (its public API);
    each video's timing, amplitude, mirroring and body proportions are drawn here over
    the generator's ranges (its per-video streams are private to dance.synth).
    """
    from dance.config import SynthConfig
    from dance.synth import (
        BodyShape,
        MotionJitter,
        class_catalogue,
        class_motion_program,
        motion_keypoints,
    )

    config = SynthConfig.preset_config("bench")
    rng = np.random.default_rng(seed)
    starts = np.linspace(0, config.num_frames - clip_length, clips_per_video).round().astype(int)
    base = BodyShape()
    clips = []
    for cls in class_catalogue(config):
        program = class_motion_program(cls)
        for _ in range(config.videos_per_class):
            jitter = MotionJitter(
                speed=float(rng.uniform(1.0, 1.22)),
                phase=float(rng.uniform(0.0, 0.08)),
                amplitude=float(rng.uniform(0.85, 1.08)),
                mirror=bool(rng.random() < 0.5),
            )
            limb, width = rng.uniform(0.94, 1.06), rng.uniform(0.92, 1.1)
            body = BodyShape(
                torso=base.torso * rng.uniform(0.95, 1.05),
                shoulder_half=base.shoulder_half * width,
                hip_half=base.hip_half * width,
                neck=base.neck,
                head_radius=base.head_radius * rng.uniform(0.95, 1.08),
                upper_arm=base.upper_arm * limb,
                forearm=base.forearm * limb,
                thigh=base.thigh * limb,
                shin=base.shin * limb,
            )
            keypoints, _ = motion_keypoints(program, config.num_frames, jitter, body)
            clips += [keypoints[s : s + clip_length] for s in starts]
    return np.stack(clips)


def synth_pose(n: int, dim: int, seed: int, jitter: float = 0.01) -> np.ndarray:
    """`n` jittered copies of the bench preset's clips, min-max normalised (module doc)."""
    from dance.pose.normalize import normalize_clips

    base = synth_base_clips(clip_length=dim // 34, seed=seed)
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1] * 34), dtype=np.float32)
    for start in range(0, n, _BLOCK):
        size = min(_BLOCK, n - start)
        # Every copy is jittered, as a pose detector's noise would (the generator's clips
        # repeat exactly wherever a motion holds a pose).
        which = np.arange(start, start + size) % base.shape[0]
        xy = base[which] + jitter * rng.normal(size=(size, *base.shape[1:]))
        scored = np.concatenate([xy, np.ones((*xy.shape[:3], 1))], axis=3)
        out[start : start + size] = normalize_clips(scored)
    return out


def make_rows(kind: str, n: int, dim: int, seed: int) -> np.ndarray:
    """`n` rows of data kind `kind` (see KINDS)."""
    makers = {
        "blobs": blobs,
        "uniform": uniform,
        "pose_like": pose_like,
        "positive_orthant": positive_orthant,
        "synth_pose": synth_pose,
    }
    if kind not in makers:
        raise ValueError(f"unknown data kind {kind!r}; choose from {KINDS}")
    return makers[kind](n, dim, seed)
