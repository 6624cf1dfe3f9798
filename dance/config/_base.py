"""What every config section shares: strict keys, and one shape for a stage's resources."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @model_validator(mode="before")
    @classmethod
    def _partial_subsections_keep_defaults(cls, data: Any) -> Any:
        """`finetune.workers.pool_size=2` alone keeps finetune.workers' other defaults.

        Without this, the keys not given would take the subsection class's defaults
        (StageResources' num_cpus 0.5) instead of this field's (finetune.workers' 1.0).
        """
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for name, field in cls.model_fields.items():
            given, default = data.get(name), field.default
            if isinstance(given, dict) and isinstance(default, BaseModel):
                merged[name] = {**default.model_dump(exclude_unset=True), **given}
        return merged


def check_tiny_shapes(image_size: int, patch_size: int, hidden_size: int, heads: int) -> None:
    """A small ViT from scratch needs whole patches per frame and whole widths per head."""
    if image_size % patch_size:
        raise ValueError(
            f"image_size {image_size} must be a multiple of tiny_patch_size {patch_size}; "
            f"e.g. image_size: {patch_size * 4}"
        )
    check_attention_heads(hidden_size, heads)


def check_attention_heads(hidden_size: int, heads: int) -> None:
    """A transformer from scratch needs whole widths per head."""
    if hidden_size % heads:
        raise ValueError(f"tiny_hidden_size {hidden_size} must be divisible by tiny_heads {heads}")


class StageResources(Section):
    """Where one stage runs: how many actors/tasks/workers, and CPUs, GPUs, batch of each.

    The same shape for every stage of every job: a Ray Data actor pool, one Ray task
    (pool_size 1) or the Ray Train workers. GPUs are values here, never a code path: an
    actor or worker given a GPU by Ray uses it.
    """

    pool_size: int = Field(
        1, ge=1, description="actors in the pool (one Ray task: 1; Ray Train: workers)"
    )
    num_cpus: float = Field(
        0.5, gt=0, description="CPUs per actor/task/worker; fractional on small machines"
    )
    num_gpus: float = Field(
        0.0, ge=0, description="GPUs per actor/task/worker; 0 on CPU-only machines"
    )
    batch_size: int = Field(8, ge=1, description="items per batch handed to each actor/worker")
