"""Config sections of the discover job: motion (FINCH), object/scene concepts, pseudo labels."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from dance.config._base import Section, StageResources


class NeighborConfig(Section):
    """How FINCH finds first neighbours; defaults suit a few million 544-d rows on CPU."""

    mode: Literal["auto", "exact", "ann"] = Field(
        "auto",
        description="auto: exact up to ann_threshold rows, approximate above or where "
        "pruning is measured not to pay (see exact_full_pass_rows); every mode searches "
        "fewer than 1000 rows exactly",
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
    exact_full_pass_rows: int = Field(
        50_000,
        ge=0,
        description="auto: where pruning is measured not to pay, rows up to which a full "
        "exact pass still runs; above, approximate",
    )
    exact_chunk_rows: int = Field(4096, ge=1, description="query rows per plain exact tile")
    block_bytes: int = Field(
        256 * 2**20,
        ge=2**20,
        description="cap on the memory of one tile of any first-neighbour scan (its product, "
        "temporaries and gathered rows); each search thread holds one; default 256 MiB",
    )
    memory_limit_bytes: int | None = Field(
        None,
        ge=1,
        description="refuse before any work when FINCH's predicted peak beyond its input "
        "exceeds this; None = the memory available when it starts",
    )
    use_gpu: bool | None = Field(None, description="None = use a GPU when faiss sees one")
    seed: int = Field(0, description="seed of IVF training samples and k-means")


class MotionConceptConfig(Section):
    """FINCH motion concepts (docs/method.md section 3)."""

    partition: int = Field(1, ge=0, description="FINCH partition index; 1 = the second level")
    num_concepts: int | None = Field(None, ge=2, description="request a count instead of a level")
    transductive: bool = Field(False, description="cluster all splits together, as the paper did")
    neighbors: NeighborConfig = Field(
        default_factory=lambda: NeighborConfig(),
        description="FINCH's first-neighbour search (exact, or approximate above a size)",
    )
    resources: StageResources = Field(
        StageResources(pool_size=1, num_cpus=1.0, num_gpus=0.0, batch_size=1),
        description="the one Ray task holding every clip (pool_size 1); faiss searches on "
        "every GPU it is given; batch_size is not used",
    )

    @model_validator(mode="after")
    def _one_task(self) -> MotionConceptConfig:
        """FINCH clusters all clips at once, so it runs as exactly one task."""
        if self.resources.pool_size != 1:
            raise ValueError(
                f"discover.motion.resources.pool_size is {self.resources.pool_size}, but FINCH "
                "clusters every clip in one task; set it to 1 (give the task more num_cpus)"
            )
        return self


class LanguageConceptConfig(Section):
    """LLM object/scene concepts and their filters (docs/method.md section 4)."""

    source: Literal["llm", "answers", "files", "annotations"] = Field(
        "llm",
        description="llm: ask an LLM; answers: raw answers from answers_file, parsed and "
        "filtered like an LLM's; files: object_file/scene_file as given; annotations: the "
        "dataset's concept annotations (attribute-CBM baseline)",
    )
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint; None = OpenAI")
    model: str = Field("gpt-4o", description="model name sent to the endpoint")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the key")
    temperature: float = Field(0.2, ge=0, le=2, description="sampling temperature")
    max_tokens: int = Field(512, ge=1, description="most tokens of one answer")
    queries_per_class: int = Field(
        2, ge=1, description="answers sampled per class and prompt (each cached)"
    )
    object_prompt: str = Field(
        "For the {action}, list the most important physical objects that commonly appear "
        "when this action occurs.",
        description="object question; {action} is the class name",
    )
    scene_prompt: str = Field(
        "List the most common places or background scenes where {action} typically occurs. "
        "Do not include objects or equipment",
        description="scene question; {action} is the class name",
    )
    answers_file: str | None = Field(
        None,
        description="per-class raw answers, JSON dance.concept_answers.v1 (source=answers); "
        "'synth' = the file shipped for DANCE-Synth",
    )
    object_file: str | None = Field(None, description="concept list file (source=files)")
    scene_file: str | None = Field(None, description="concept list file (source=files)")
    max_concept_length: int = Field(
        30, ge=1, description="drop a concept longer than this many characters"
    )
    class_similarity_cutoff: float = Field(
        0.84, ge=-1, le=1, description="drop a concept this similar (cosine) to a class name"
    )
    duplicate_similarity_cutoff: float = Field(
        0.90, ge=-1, le=1, description="of two concepts this similar, drop one"
    )
    one_shot: bool = Field(
        False,
        description="the authors' one-shot variant: an example question and answer first",
    )
    object_focus: str = Field(
        "Focus only on tangible items; no body parts, poses or background scenes.",
        description="appended to the object prompt in one-shot mode (the authors' code)",
    )
    object_example_action: str = Field(
        "drinking water", description="one-shot mode: the example object question's action"
    )
    object_example_answer: str = Field(
        "- cup\n- glass\n- water bottle\n- drinking straw",
        description="one-shot mode: the example object answer",
    )
    scene_example_action: str = Field(
        "riding a bicycle", description="one-shot mode: the example scene question's action"
    )
    scene_example_answer: str = Field(
        "- road\n- bike path\n- park\n- mountain trail",
        description="one-shot mode: the example scene answer",
    )
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

    @model_validator(mode="after")
    def _answers_source_names_its_file(self) -> LanguageConceptConfig:
        """source=answers reads answers_file, so it must be set."""
        if self.source == "answers" and not (self.answers_file or "").strip():
            raise ValueError(
                "discover.language.source is answers but discover.language.answers_file is "
                "not set; point it at a dance.concept_answers.v1 JSON file, or write 'synth' "
                "for the file shipped for DANCE-Synth"
            )
        return self


class PseudoLabelConfig(Section):
    """Pseudo labels = cos(text, video) (docs/method.md section 5, Eq. 3)."""

    template: str = Field(
        "A video of {concept}", description="the text embedded per concept ({concept})"
    )

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
