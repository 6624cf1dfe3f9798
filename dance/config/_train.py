"""Config sections of the training jobs: concept layers, evaluation, backbone fine-tuning."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from dance.config._base import Section, StageResources, check_tiny_shapes


class TrainConfig(Section):
    """Concept layers + sparse classifier (docs/method.md section 6)."""

    variant: Literal["dance", "linear_probe"] = Field(
        "dance",
        description="dance: concept layers (motion, object, scene) then the sparse layer; "
        "linear_probe: the sparse layer straight on the standardised backbone features "
        "(Table 1's baseline without interpretability)",
    )
    concept_types: list[Literal["motion", "object", "scene"]] = Field(
        ["motion", "object", "scene"], description="concept types the model uses, in order"
    )
    motion_concepts: Literal["clusters", "language"] = Field(
        "clusters",
        description="clusters: DANCE's pose-cluster motion concepts, BCE on their multi-hot "
        "labels (Eq. 4); language: motion phrases with pseudo labels, trained like objects "
        "(Eq. 5 and both cuts), as Table 1's LF-CBM rows",
    )
    allow_empty_types: bool = Field(
        False,
        description="continue (with a warning) when a type is left with no concept after "
        "the cuts; otherwise that is an error",
    )
    motion_steps: int = Field(3000, ge=1, description="Adam steps of the motion layer (Eq. 4)")
    motion_lr: float = Field(1e-3, gt=0, description="learning rate of the motion layer")
    concept_lr: float = Field(
        1e-3, gt=0, description="learning rate of the object and scene layers (Eq. 5)"
    )
    concept_max_steps: int = Field(
        10_000,
        ge=1,
        description="most steps of an object/scene layer; it stops earlier at the first "
        "validation that does not improve",
    )
    eval_every: int = Field(500, ge=1, description="steps between validation checks")
    concept_loss: Literal["per_concept", "per_sample"] = Field(
        "per_concept",
        description="Eq. 5's cos^3 similarity per concept column (Label-free CBM's code) or "
        "per video row (the paper as printed)",
    )
    clip_cut: float = Field(
        0.2, description="drop a concept whose top-5 train pseudo labels <= this"
    )
    clip_cut_top_k: int = Field(
        5, ge=1, description="how many top train pseudo labels clip_cut averages"
    )
    interpretability_cut: float = Field(
        0.3, description="drop a concept whose val similarity <= this"
    )
    lam: float = Field(7e-4, gt=0, description="elastic-net strength (lambda_eff = lam / alpha)")
    alpha: float = Field(0.99, gt=0, le=1, description="L1 share of the elastic net")
    solver: Literal["proximal", "saga"] = Field(
        "proximal",
        description="proximal: full-batch FISTA, data-parallel, to a KKT residual <= "
        "proximal_tol; saga: GLM-SAGA as the reference (one process)",
    )
    proximal_tol: float = Field(1e-6, gt=0, description="stop at this KKT residual")
    proximal_max_iter: int = Field(20_000, ge=1, description="most proximal iterations")
    saga_step: float = Field(0.05, gt=0, description="saga: step size")
    saga_batch: int = Field(128, ge=1, description="saga: rows per minibatch")
    saga_max_epochs: int = Field(30_000, ge=1, description="saga: most epochs")
    saga_tol: float = Field(
        1e-4, gt=0, description="saga: stop when one step moves the weights by at most this"
    )
    sweep_lams: list[float] = Field(
        [3e-2, 1e-2, 7e-3, 5e-3, 3e-3, 2e-3, 1e-3, 7e-4, 5e-4, 3e-4, 1e-4],
        min_length=1,
        description="`dance train --sweep`: the lambdas of the path (solved largest first, "
        "each warm-started from the previous)",
    )
    sweep_max_nonzeros_per_class: int | None = Field(
        None, ge=1, description="the sweep's target sparsity: the pick keeps at most this "
        "many non-zero weights in every class (None: any)",
    )
    sweep_tasks: int = Field(
        2, ge=1, description="Ray tasks the path is cut into (contiguous segments, in parallel)"
    )
    paper_protocol: bool = Field(
        False, description="use the test split as validation, as the paper"
    )
    output: str | None = Field(None, description="the model bundle; None = <workdir>/model")
    state_dir: str | None = Field(
        None, description="Ray Train checkpoints; None = <workdir>/training"
    )
    run_name: str = Field(
        "train",
        min_length=1,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Ray Train run name; a rerun with the same name resumes it",
    )
    resume: bool = Field(True, description="continue from the run's latest checkpoint")
    keep_checkpoints: int = Field(2, ge=1, description="Ray Train checkpoints kept on disk")
    max_failures: int = Field(
        3, ge=0, description="worker failures Ray Train recovers from (from the last checkpoint)"
    )
    resources: StageResources = Field(
        StageResources(pool_size=1, num_cpus=1.0, num_gpus=0.0, batch_size=1024),
        description="the train job's Ray Train workers: pool_size workers with "
        "num_cpus/num_gpus each (torch uses num_cpus threads; with num_gpus > 0 each worker "
        "fits on its GPU, NCCL between workers); batch_size = rows per block read from the "
        "joined Ray Dataset (no effect on results)",
    )


class EvaluateConfig(Section):
    """Evaluate / explain."""

    top_k: int = Field(3, ge=1, description="concept contributions shown per sample")
    language_motion_file: str | None = Field(
        None,
        description="`dance evaluate --table`'s LF-CBM rows: a JSON of motion phrases "
        "{entangled: {class: [phrase]}, disentangled: {...}}; 'synth' = the file shipped "
        "for DANCE-Synth; None = no LF-CBM rows",
    )
    deletion_ks: list[int] = Field(
        [0, 1, 2, 3, 5, 10],
        description="`dance sanity`'s deletion curve: numbers of top contributing concepts "
        "zeroed per video (and of random concepts, its baseline)",
    )
    deletion_repeats: int = Field(
        5, ge=1, description="random draws averaged per point of the deletion curve's baseline"
    )
    suggest_per_class: int = Field(
        2, ge=0, description="`dance sanity`'s suggested class edits: at most this many per class"
    )
    suggest_min_activation: float = Field(
        0.5,
        description="a suggested edit's concept must have at least this mean standardised "
        "activation on the class's misclassified validation videos",
    )


class FinetuneConfig(Section):
    """Fine-tuning VideoMAE for classification: the backbone f and the paper's baseline.

    Defaults follow VideoMAE's fine-tuning recipe (AdamW, weight decay 0.05, 5 warmup
    epochs then cosine decay, label smoothing 0.1, horizontal flips) from
    MCG-NJU/videomae-base; clips are sampled as `backbone` says (frames, sampling). The
    demo preset trains a small VideoMAE from scratch (init "tiny", sized by `tiny_*`).
    """

    init: str = Field(
        "MCG-NJU/videomae-base",
        description="hub id or from_pretrained directory to start from; 'tiny' = a small "
        "random VideoMAE trained from scratch, sized by image_size and the tiny_* fields",
    )
    output: str | None = Field(
        None, description="from_pretrained directory written at the end; None = <workdir>/backbone"
    )
    state_dir: str | None = Field(
        None, description="clip cache and Ray Train checkpoints; None = <workdir>/finetune"
    )
    run_name: str = Field(
        "finetune",
        min_length=1,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Ray Train run name; a rerun with the same name resumes it",
    )
    epochs: int = Field(50, ge=1, description="passes over the train split")
    lr: float = Field(5e-4, gt=0, description="peak AdamW learning rate (after warmup)")
    weight_decay: float = Field(0.05, ge=0, description="AdamW weight decay")
    warmup_epochs: float = Field(5.0, ge=0, description="linear warmup, then cosine decay to 0")
    label_smoothing: float = Field(0.1, ge=0, lt=1, description="cross-entropy label smoothing")
    flip: bool = Field(
        True, description="random horizontal flips (mirrors left/right, keeps the action)"
    )
    seed: int = Field(0, ge=0, description="seed of the tiny init, shuffling and augmentation")
    eval_every_epochs: int = Field(
        1, ge=1, description="validate (and checkpoint) every n epochs and after the last"
    )
    keep_checkpoints: int = Field(2, ge=1, description="Ray Train checkpoints kept on disk")
    resume: bool = Field(True, description="continue from the run's latest checkpoint")
    workers: StageResources = Field(
        StageResources(pool_size=1, num_cpus=1.0, num_gpus=0.0, batch_size=8),
        description="the Ray Train workers: pool_size workers (DDP), num_cpus/num_gpus each "
        "(torch uses num_cpus threads); batch_size = clips per worker per optimiser step",
    )
    decode: StageResources = Field(
        StageResources(pool_size=16, num_cpus=1.0, num_gpus=0.0, batch_size=64),
        description="the clip-decoding Ray tasks: batch_size = videos per clip-cache file "
        "(one task each); pool_size = tasks running at once",
    )
    image_size: int = Field(64, ge=8, description="tiny only: frame side in pixels")
    tiny_patch_size: int = Field(16, ge=1, description="tiny only: spatial patch side")
    tiny_hidden_size: int = Field(96, ge=8, description="tiny only: token width")
    tiny_layers: int = Field(3, ge=1, description="tiny only: transformer layers")
    tiny_heads: int = Field(4, ge=1, description="tiny only: attention heads")
    tiny_intermediate_size: int = Field(192, ge=8, description="tiny only: MLP width")

    @model_validator(mode="after")
    def _tiny_shapes_fit(self) -> FinetuneConfig:
        check_tiny_shapes(
            self.image_size, self.tiny_patch_size, self.tiny_hidden_size, self.tiny_heads
        )
        return self
