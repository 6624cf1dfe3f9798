"""dance's configuration: one typed model per job, loaded from YAML presets with overrides.

    cfg = load_config("ucf101", overrides=["train.lam=1e-3"])

A bad value or an unknown key raises ConfigError naming the key path before any work; a
key that moved (MOVED_KEYS) names its new key. Every section is public here
(`from dance.config import ClipConfig, SynthConfig, StageResources`), and importing this
package loads only pydantic and yaml, so any algorithm package may import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from dance.config._base import Section, StageResources
from dance.config._data import (
    DATASET_NAMES,
    DatasetConfig,
    DatasetName,
    RayConfig,
    RunConfig,
    StorageConfig,
    split_s3_endpoint,
)
from dance.config._discover import (
    DiscoverConfig,
    LanguageConceptConfig,
    MotionConceptConfig,
    NeighborConfig,
    PseudoLabelConfig,
)
from dance.config._dual_training import DualTrainingConfig
from dance.config._loader import (
    ConfigError,
    apply_override,
    explain_validation_error,
    list_presets,
    load_raw,
)
from dance.config._moved_keys import MOVED_KEYS
from dance.config._posthoc import ConceptClipConfig, TcavConfig
from dance.config._preprocess import (
    BackboneConfig,
    ClipConfig,
    DualEncoderConfig,
    KeyframeConfig,
    PoseConfig,
    PreprocessConfig,
)
from dance.config._reference import render_reference
from dance.config._synth import SYNTH_MAX_CLASSES, SYNTH_PRESETS, SynthConfig
from dance.config._train import EvaluateConfig, FinetuneConfig, TrainConfig


class DanceConfig(Section):
    """Everything one dance run needs: data, where outputs go, and every stage's settings."""

    name: str = Field("dance", description="a label for this experiment")
    seed: int = Field(0, description="seed for every random choice (splits, init, sampling)")
    workdir: str = Field("outputs/dance", description="local path or s3:// prefix for all outputs")
    dataset: DatasetConfig
    synth: SynthConfig | None = Field(
        None, description="generate DANCE-Synth into dataset.root first (dataset.name: synth)"
    )
    storage: StorageConfig = StorageConfig()
    ray: RayConfig = RayConfig()
    run: RunConfig = RunConfig()
    keyframes: KeyframeConfig = KeyframeConfig()
    clips: ClipConfig = ClipConfig()
    pose: PoseConfig = PoseConfig()
    backbone: BackboneConfig = BackboneConfig()
    dual_encoder: DualEncoderConfig = DualEncoderConfig()
    preprocess: PreprocessConfig = PreprocessConfig()
    discover: DiscoverConfig = DiscoverConfig()
    train: TrainConfig = TrainConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    finetune: FinetuneConfig = FinetuneConfig()
    dual_training: DualTrainingConfig = DualTrainingConfig()
    concept_clips: ConceptClipConfig = ConceptClipConfig()
    tcav: TcavConfig = TcavConfig()

    @field_validator("synth", mode="before")
    @classmethod
    def _expand_synth_preset(cls, value: Any) -> Any:
        """`synth: {preset: demo, seed: 3}` means the demo preset with seed 3."""
        if isinstance(value, dict) and value.get("preset", "custom") != "custom":
            return SynthConfig.preset_config(value["preset"], **value)
        return value

    @model_validator(mode="after")
    def _synth_feeds_synth_dataset(self) -> DanceConfig:
        if self.synth is not None and self.dataset.name != "synth":
            raise ValueError(
                f"'synth' generates DANCE-Synth, but dataset.name is '{self.dataset.name}'; "
                "set dataset.name=synth or remove the synth section"
            )
        return self

    def to_yaml(self) -> str:
        """The resolved config as YAML (what `dance config show` prints)."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, width=100)


def load_config(source: str | Path, overrides: Sequence[str] = ()) -> DanceConfig:
    """Load a preset name or YAML file, apply `a.b=c` overrides, and validate everything."""
    raw = load_raw(source)
    for override in overrides:
        apply_override(raw, override)
    try:
        return DanceConfig.model_validate(raw)
    except ValidationError as err:
        origin = f"'{source}'" + (f" with overrides {list(overrides)}" if overrides else "")
        raise explain_validation_error(DanceConfig, err, origin) from None


__all__ = [
    "DATASET_NAMES",
    "MOVED_KEYS",
    "SYNTH_MAX_CLASSES",
    "SYNTH_PRESETS",
    "BackboneConfig",
    "ClipConfig",
    "ConceptClipConfig",
    "ConfigError",
    "DanceConfig",
    "DatasetConfig",
    "DatasetName",
    "DiscoverConfig",
    "DualEncoderConfig",
    "DualTrainingConfig",
    "EvaluateConfig",
    "FinetuneConfig",
    "KeyframeConfig",
    "LanguageConceptConfig",
    "MotionConceptConfig",
    "NeighborConfig",
    "PoseConfig",
    "PreprocessConfig",
    "PseudoLabelConfig",
    "RayConfig",
    "RunConfig",
    "Section",
    "StageResources",
    "StorageConfig",
    "SynthConfig",
    "TcavConfig",
    "TrainConfig",
    "list_presets",
    "load_config",
    "render_reference",
    "split_s3_endpoint",
]
