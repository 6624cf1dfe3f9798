"""SynthConfig: every knob of the DANCE-Synth generator, with the tiny/demo/bench presets."""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Classes in DANCE-Synth's catalogue (dance.synth checks its catalogue has exactly these).
SYNTH_MAX_CLASSES = 13


def _default_workers() -> int:
    """min(2, CPU count): the generator's default process count."""
    return max(1, min(2, os.cpu_count() or 1))


class SynthConfig(BaseModel):
    """DANCE-Synth generator settings; defaults are the `demo` preset.

    Defaults: 10 classes x 32 videos (25 % test), 64 frames of 160x160 at 25 fps, seed 0,
    shifted test split on, h264 in mp4 at crf 23, camera jitter 3 px, noise std 3, up to 3
    distractor shapes, person 50-60 % of the frame height.
    """

    model_config = ConfigDict(extra="forbid")

    preset: Literal["tiny", "demo", "bench", "captions", "custom"] = Field(
        default="demo",
        description="start from this preset; keys given beside it override its values; "
        "custom: the keys as given",
    )
    num_classes: int = Field(
        default=10, ge=1, le=SYNTH_MAX_CLASSES, description="action classes, from the catalogue"
    )
    videos_per_class: int = Field(default=32, ge=2, description="train + test videos per class")
    test_fraction: float = Field(
        default=0.25, gt=0.0, lt=1.0, description="share of each class's videos in test"
    )
    num_frames: int = Field(default=64, ge=8, le=1024, description="frames per video")
    height: int = Field(default=160, ge=96, le=1080, description="frame height in pixels (even)")
    width: int = Field(default=160, ge=96, le=1920, description="frame width in pixels (even)")
    fps: int = Field(default=25, gt=0, le=120, description="frames per second of the files")
    seed: int = Field(default=0, ge=0, description="same seed and settings, same bytes")
    workers: int = Field(
        default_factory=_default_workers, ge=1, le=256, description="rendering processes"
    )
    shifted_test: bool = Field(
        default=True,
        description="also render the shifted test split (objects and scenes swapped across "
        "classes)",
    )
    context: Literal["class", "mixed"] = Field(
        default="class",
        description="class: a video's object, scene and way of holding follow its class; "
        "mixed: they come from a class drawn at random per video (seeded), so objects and "
        "scenes vary apart from the motion, as in a captions corpus for a dual encoder",
    )
    codec: Literal["h264", "mpeg4"] = Field(default="h264", description="video codec")
    container: Literal["mp4", "avi"] = Field(default="mp4", description="file format")
    crf: int = Field(default=23, ge=0, le=51, description="h264 quality; mpeg4 uses crf // 6")
    person_height: tuple[float, float] = Field(
        default=(0.5, 0.6), description="person height as a fraction of the frame height"
    )
    camera_jitter_px: int = Field(
        default=3, ge=0, le=32, description="largest per-frame camera shake, in pixels"
    )
    noise_std: float = Field(
        default=3.0, ge=0.0, le=50.0, description="std of the pixel noise (0-255 scale)"
    )
    max_distractors: int = Field(
        default=3, ge=0, le=20, description="most distractor shapes drawn in a video"
    )

    @field_validator("height", "width")
    @classmethod
    def _even(cls, value: int) -> int:
        """yuv420p video needs even frame sizes."""
        if value % 2:
            raise ValueError(f"must be even for yuv420p video, got {value}; use {value + 1}")
        return value

    @field_validator("person_height")
    @classmethod
    def _person_range(cls, value: tuple[float, float]) -> tuple[float, float]:
        """A (low, high) range inside (0.2, 0.75] so raised arms stay in the frame."""
        low, high = value
        if not 0.2 <= low <= high <= 0.75:
            raise ValueError(f"must be (low, high) with 0.2 <= low <= high <= 0.75, got {value}")
        return value

    @model_validator(mode="after")
    def _split_sizes(self) -> SynthConfig:
        """Every class needs at least one train and one test video."""
        n_test = self.num_test_per_class
        if n_test < 1 or n_test >= self.videos_per_class:
            raise ValueError(
                f"test_fraction={self.test_fraction} with videos_per_class="
                f"{self.videos_per_class} leaves {n_test} test videos per class; "
                "each class needs at least 1 train and 1 test video"
            )
        return self

    @property
    def num_test_per_class(self) -> int:
        """Test videos per class: round(videos_per_class * test_fraction)."""
        return round(self.videos_per_class * self.test_fraction)

    @classmethod
    def preset_config(cls, name: str, **overrides: Any) -> SynthConfig:
        """A preset ("tiny", "demo", "bench") with field overrides applied on top."""
        if name not in SYNTH_PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {sorted(SYNTH_PRESETS)}")
        return cls(**{**SYNTH_PRESETS[name], **overrides})


SYNTH_PRESETS: dict[str, dict[str, Any]] = {
    # tests: a reversal pair and a context pair, seconds to make
    "tiny": {"preset": "tiny", "num_classes": 4, "videos_per_class": 4, "num_frames": 32},
    # the embedded demo dataset
    "demo": {"preset": "demo"},
    # throughput runs: the whole catalogue at thousands of videos
    "bench": {"preset": "bench", "num_classes": SYNTH_MAX_CLASSES, "videos_per_class": 240},
    # a captions corpus to train the demo's dual encoder on: the demo's motions with objects
    # and scenes drawn apart from them, another seed, no test re-render
    "captions": {
        "preset": "captions",
        "context": "mixed",
        "seed": 1,
        "videos_per_class": 96,
        "test_fraction": 0.1,
        "shifted_test": False,
    },
}
