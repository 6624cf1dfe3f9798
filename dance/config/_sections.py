"""Typed config sections for each stage; defaults are the paper's settings (REFERENCE.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RayConfig(Section):
    """Where and how Ray runs: a cluster address, or a local instance started in-process."""

    address: str | None = Field(
        None, description="Ray cluster address; None uses $RAY_ADDRESS, else starts Ray locally."
    )
    num_cpus: int | None = Field(None, gt=0, description="CPUs of a local Ray instance.")
    namespace: str = "dance"


class StageResources(Section):
    """Resources of one Ray Data stage: actor pool size, per-actor CPUs/GPUs, batch size."""

    pool_size: int = Field(1, ge=1, description="actors in the pool")
    num_cpus: float = Field(
        0.5, gt=0, description="CPUs per actor; fractional on small machines (ENVIRONMENT.md)"
    )
    num_gpus: float = Field(0.0, ge=0, description="GPUs per actor; 0 on CPU-only machines")
    batch_size: int = Field(8, ge=1, description="items per batch handed to the actor")


class KeyframeConfig(Section):
    """Pixel-difference keyframe detector (REFERENCE.md 1)."""

    blur_kernel: int = Field(9, ge=1, description="Gaussian blur kernel size (odd)")
    blur_sigma: float = Field(0.0, ge=0, description="0 lets OpenCV derive sigma from the kernel")
    fused_blur: bool = Field(
        True,
        description="gray, blur, compare and count in one compiled pass where that provably "
        "equals OpenCV (the 9x9 blur): 2-3x less detector CPU, about 120 MiB more per "
        "decode worker (numba); False: one cv2 call per operation, same keyframes",
    )
    threshold: float = Field(
        0.3, gt=0, lt=1, description="peak threshold relative to the corrected signal's range"
    )
    baseline_degree: int = Field(2, ge=0, description="degree of the iterative baseline fit")
    baseline_max_iter: int = Field(100, ge=1)
    baseline_tol: float = Field(1e-3, gt=0, description="relative coefficient change to stop")
    min_distance: int = Field(1, ge=1, description="minimum frames between peaks")

    @model_validator(mode="after")
    def _odd_kernel(self) -> KeyframeConfig:
        if self.blur_kernel % 2 == 0:
            raise ValueError(f"blur_kernel must be odd, got {self.blur_kernel}")
        return self


class ClipConfig(Section):
    """Key clips around keyframes (REFERENCE.md 1)."""

    num_clips: int = Field(10, ge=1, description="N: key clips per video (Penn Action run: 12)")
    clip_length: int = Field(
        16, ge=1, description="L: frames per key clip (UCF-101 run: 10, Penn Action run: 15)"
    )


class PoseConfig(Section):
    """Person detection + 2D pose, frame/clip filters and normalisation (REFERENCE.md 2)."""

    backend: Literal["vitpose", "mediapipe", "mmpose", "annotations"] = "vitpose"
    model: str = Field("usyd-community/vitpose-base-simple", description="ViTPose hub id or path")
    detector: str = Field("PekingU/rtdetr_r50vd_coco_o365", description="RT-DETR hub id or path")
    detector_threshold: float = Field(0.25, ge=0, le=1, description="person box confidence")
    mediapipe_tracking: bool = Field(
        True,
        description="mediapipe: per video, each frame's pose seeds the next frame's search "
        "(BlazePose video mode; 2.4x faster and more accurate on DANCE-Synth); "
        "False runs the person detector on every frame",
    )
    box_padding: int = Field(10, ge=0, description="pixels added around the person box")
    box_aspect: tuple[int, int] = Field((3, 4), description="width:height the box is grown to")
    frame_min_score: float = Field(0.1, ge=0, le=1, description="mean joint score of a valid frame")
    clip_min_score: float = Field(0.5, ge=0, le=1, description="mean joint score of a kept clip")
    clip_min_cosine: float = Field(
        0.92, ge=-1, le=1, description="min cosine between consecutive frames' raw (x, y)"
    )
    normalization: Literal["minmax", "torso", "box"] = "minmax"
    resources: StageResources = StageResources(batch_size=32)


class BackboneConfig(Section):
    """VideoMAE backbone features x (REFERENCE.md 6)."""

    model: str = Field(
        "MCG-NJU/videomae-base-finetuned-kinetics",
        description="VideoMAE hub id or local from_pretrained directory (fine-tuned on the target)",
    )
    num_frames: int = Field(16, ge=1)
    sampling: Literal["segment_middles", "stride_around_middle"] = Field(
        "segment_middles",
        description="KTH/Penn/HAA: segment middles; UCF-101: stride 4 around middle",
    )
    stride: int = Field(4, ge=1, description="frame stride for stride_around_middle")
    resources: StageResources = StageResources(batch_size=8)


class DualEncoderConfig(Section):
    """Video-text dual encoder for pseudo labels (REFERENCE.md 5)."""

    kind: Literal["xclip", "clip_frames"] = "xclip"
    model: str = Field("microsoft/xclip-base-patch16", description="hub id or local path")
    num_frames: int = Field(8, ge=1, description="every second frame of the backbone clip")
    resources: StageResources = StageResources(batch_size=8)


class PreprocessConfig(Section):
    """The preprocess job: decode-side resources and output placement."""

    decode: StageResources = StageResources(pool_size=2, batch_size=1)
    decode_chunk_frames: int = Field(
        16,
        ge=1,
        description="frames decoded per streamed chunk; small chunks stay in cache and leave "
        "the keyframe detector less to finish after the last one (benchmarks/keyframes)",
    )
    rows_per_part: int = Field(256, ge=1, description="videos per output Parquet part")
    min_frames: int = Field(
        3, ge=1, description="videos with fewer decoded frames fail as too_short"
    )
    frame_max_side: int = Field(
        640, ge=16, description="spilled pose frames are downscaled so their longer side <= this"
    )
    spill_dir: str | None = Field(
        None, description="local folder for per-video frame spill files; None = system temp"
    )
    enable_backbone: bool = Field(True, description="compute backbone features (else null)")
    enable_dual: bool = Field(True, description="compute dual-encoder embeddings (else null)")
    encoder_frame_side: int = Field(
        224,
        ge=8,
        description="shorter side encoder frames travel at when the model's input size "
        "cannot be read from a local model directory (hub ids)",
    )
    tiny_model_fallback: bool | None = Field(
        None,
        description="replace a backbone/dual model that is not a local directory by a tiny "
        "random one (offline demo; embeddings carry no meaning); None = on for "
        "dataset.name=synth only",
    )
    writer_num_cpus: float = Field(
        0.25, gt=0, description="CPUs of the part writer actor (writing Parquet is I/O-bound)"
    )
    ground_truth: str | None = Field(
        None,
        description="ground_truth.parquet to score kept clips' keypoints against; None = "
        "<dataset.root>/ground_truth.parquet for dataset.name=synth when it exists",
    )


class NeighborConfig(Section):
    """How FINCH finds first neighbours; defaults suit a few million 544-d rows on CPU."""

    mode: Literal["auto", "exact", "ann"] = Field(
        "auto",
        description="auto: exact up to ann_threshold rows, approximate above; every mode "
        "searches fewer than 1000 rows exactly",
    )
    ann_threshold: int = Field(200_000, ge=1, description="rows above which auto goes approximate")
    ann_index: Literal["ivf", "hnsw"] = Field(
        "ivf", description="ivf: IVF-Flat, deterministic; hnsw: HNSW-Flat, not bit-reproducible"
    )
    ivf_nlist: int | None = Field(
        None, ge=1, description="IVF lists; None = sqrt(n), at most n // 39"
    )
    ivf_kmeans_iters: int = Field(10, ge=1, description="k-means iterations training IVF")
    ivf_nprobe: int = Field(4, ge=1, description="IVF lists scanned per query")
    ivf_train_rows: int | None = Field(
        None, ge=1, description="rows sampled (with seed) to train IVF; None = 40 per list"
    )
    hnsw_m: int = Field(32, ge=2, description="HNSW links per node")
    hnsw_ef_construction: int = Field(64, ge=1, description="HNSW build beam width")
    ef_search: int = Field(64, ge=1, description="HNSW search beam width")
    exact_pruning: bool = Field(
        True,
        description="exact search skips IVF lists that provably hold no first neighbour "
        "(same result, much faster on clustered rows); off = a full pass",
    )
    exact_chunk_rows: int = Field(4096, ge=1, description="query rows per float64 exact block")
    exact_block_bytes: int = Field(
        256 * 2**20, ge=2**20, description="cap on one float64 exact block; default 256 MiB"
    )
    use_gpu: bool | None = Field(None, description="None = use a GPU when faiss sees one")
    seed: int = Field(0, description="seed of IVF training samples and k-means")


class MotionConceptConfig(Section):
    """FINCH motion concepts (REFERENCE.md 3)."""

    partition: int = Field(1, ge=0, description="FINCH partition index; 1 = the second level")
    num_concepts: int | None = Field(None, ge=2, description="request a count instead of a level")
    transductive: bool = Field(False, description="cluster all splits together, as the paper did")
    neighbors: NeighborConfig = Field(
        default_factory=lambda: NeighborConfig(),
        description="FINCH's first-neighbour search (exact, or approximate above a size)",
    )
    num_cpus: float = Field(1.0, gt=0, description="CPUs of the one Ray task holding the clips")
    num_gpus: float = Field(
        0.0, ge=0, description="GPUs of that task; faiss searches on every GPU it is given"
    )


class LanguageConceptConfig(Section):
    """LLM object/scene concepts and their filters (REFERENCE.md 4)."""

    source: Literal["llm", "files", "annotations"] = "llm"
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint; None = OpenAI")
    model: str = "gpt-4o"
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the key")
    temperature: float = Field(0.2, ge=0, le=2)
    max_tokens: int = Field(512, ge=1)
    queries_per_class: int = Field(2, ge=1)
    object_prompt: str = (
        "For the {action}, list the most important physical objects that commonly appear "
        "when this action occurs."
    )
    scene_prompt: str = (
        "List the most common places or background scenes where {action} typically occurs. "
        "Do not include objects or equipment"
    )
    object_file: str | None = Field(None, description="concept list file (source=files)")
    scene_file: str | None = Field(None, description="concept list file (source=files)")
    max_concept_length: int = Field(30, ge=1)
    class_similarity_cutoff: float = Field(0.84, ge=-1, le=1)
    duplicate_similarity_cutoff: float = Field(0.90, ge=-1, le=1)
    one_shot: bool = Field(
        False,
        description="the authors' one-shot variant: an example question and answer first",
    )
    object_focus: str = Field(
        "Focus only on tangible items; no body parts, poses or background scenes.",
        description="appended to the object prompt in one-shot mode (the authors' code)",
    )
    object_example_action: str = "drinking water"
    object_example_answer: str = "- cup\n- glass\n- water bottle\n- drinking straw"
    scene_example_action: str = "riding a bicycle"
    scene_example_answer: str = "- road\n- bike path\n- park\n- mountain trail"
    concurrency: int = Field(4, ge=1, description="LLM requests in flight at once")
    requests_per_minute: float | None = Field(
        None, gt=0, description="client-side rate limit; None = unlimited"
    )
    timeout_s: float = Field(60.0, gt=0, description="per-request timeout")
    max_retries: int = Field(
        6, ge=0, description="retries after the first try on 429, 5xx, timeouts, lost connections"
    )
    backoff_initial_s: float = Field(1.0, gt=0, description="first retry wait; doubles each try")
    backoff_max_s: float = Field(
        60.0, gt=0, description="cap on one retry wait, Retry-After included"
    )

    @model_validator(mode="after")
    def _prompts_name_the_action(self) -> LanguageConceptConfig:
        """Each prompt template must contain the {action} placeholder."""
        for name in ("object_prompt", "scene_prompt"):
            if "{action}" not in getattr(self, name):
                raise ValueError(
                    f"discover.language.{name} has no {{action}} placeholder; add one where "
                    "the class name goes"
                )
        return self


class PseudoLabelConfig(Section):
    """Pseudo labels = cos(text, video) (REFERENCE.md 5, Eq. 3)."""

    template: str = "A video of {concept}"

    @model_validator(mode="after")
    def _template_names_the_concept(self) -> PseudoLabelConfig:
        """The text template must contain the {concept} placeholder."""
        if "{concept}" not in self.template:
            raise ValueError(
                "discover.pseudo_labels.template has no {concept} placeholder; write e.g. "
                "'A video of {concept}'"
            )
        return self


class DiscoverConfig(Section):
    """The discover job."""

    motion: MotionConceptConfig = MotionConceptConfig()
    language: LanguageConceptConfig = LanguageConceptConfig()
    pseudo_labels: PseudoLabelConfig = PseudoLabelConfig()


class TrainConfig(Section):
    """Concept layers + sparse classifier (REFERENCE.md 6)."""

    motion_steps: int = Field(3000, ge=1)
    motion_lr: float = Field(1e-3, gt=0)
    concept_lr: float = Field(1e-3, gt=0)
    concept_max_steps: int = Field(10_000, ge=1)
    eval_every: int = Field(500, ge=1, description="steps between validation checks")
    concept_loss: Literal["per_concept", "per_sample"] = "per_concept"
    clip_cut: float = Field(
        0.2, description="drop a concept whose top-5 train pseudo labels <= this"
    )
    clip_cut_top_k: int = Field(5, ge=1)
    interpretability_cut: float = Field(
        0.3, description="drop a concept whose val similarity <= this"
    )
    lam: float = Field(7e-4, gt=0, description="elastic-net strength (lambda_eff = lam / alpha)")
    alpha: float = Field(0.99, gt=0, le=1, description="L1 share of the elastic net")
    saga_step: float = Field(0.05, gt=0)
    saga_batch: int = Field(128, ge=1)
    saga_max_epochs: int = Field(30_000, ge=1)
    saga_tol: float = Field(1e-4, gt=0)
    paper_protocol: bool = Field(
        False, description="use the test split as validation, as the paper"
    )
    num_workers: int = Field(1, ge=1, description="Ray Train workers")
    use_gpu: bool = False


class EvaluateConfig(Section):
    """Evaluate / explain."""

    top_k: int = Field(3, ge=1, description="concept contributions shown per sample")


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
    batch_size: int = Field(8, ge=1, description="clips per worker per optimiser step")
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
    num_workers: int = Field(1, ge=1, description="Ray Train workers")
    cpus_per_worker: float = Field(
        1.0, gt=0, description="CPUs per worker; fractional on small machines (2 workers x 0.5)"
    )
    use_gpu: bool = Field(False, description="one GPU per worker")
    cache_part_videos: int = Field(
        64, ge=1, description="videos per clip-cache file (one decode task each)"
    )
    decode_cpus: float = Field(1.0, gt=0, description="CPUs per clip-decoding Ray task")
    image_size: int = Field(64, ge=8, description="tiny only: frame side in pixels")
    tiny_patch_size: int = Field(16, ge=1, description="tiny only: spatial patch side")
    tiny_hidden_size: int = Field(96, ge=8, description="tiny only: token width")
    tiny_layers: int = Field(3, ge=1, description="tiny only: transformer layers")
    tiny_heads: int = Field(4, ge=1, description="tiny only: attention heads")
    tiny_intermediate_size: int = Field(192, ge=8, description="tiny only: MLP width")

    @model_validator(mode="after")
    def _tiny_shapes_fit(self) -> FinetuneConfig:
        if self.image_size % self.tiny_patch_size:
            raise ValueError(
                f"image_size {self.image_size} must be a multiple of tiny_patch_size "
                f"{self.tiny_patch_size}; e.g. image_size: {self.tiny_patch_size * 4}"
            )
        if self.tiny_hidden_size % self.tiny_heads:
            raise ValueError(
                f"tiny_hidden_size {self.tiny_hidden_size} must be divisible by tiny_heads "
                f"{self.tiny_heads}"
            )
        return self
