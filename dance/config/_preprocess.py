"""Config sections of the preprocess job: keyframes, key clips, pose, encoders, placement."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from dance.config._base import Section, StageResources


class KeyframeConfig(Section):
    """Pixel-difference keyframe detector (docs/method.md section 1)."""

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
    baseline_max_iter: int = Field(100, ge=1, description="most iterations of the baseline fit")
    baseline_tol: float = Field(1e-3, gt=0, description="relative coefficient change to stop")
    min_distance: int = Field(1, ge=1, description="minimum frames between peaks")

    @model_validator(mode="after")
    def _odd_kernel(self) -> KeyframeConfig:
        if self.blur_kernel % 2 == 0:
            raise ValueError(f"blur_kernel must be odd, got {self.blur_kernel}")
        return self


class ClipConfig(Section):
    """Key clips around keyframes (docs/method.md section 1)."""

    num_clips: int = Field(10, ge=1, description="N: key clips per video (Penn Action run: 12)")
    clip_length: int = Field(
        16, ge=1, description="L: frames per key clip (UCF-101 run: 10, Penn Action run: 15)"
    )


class PoseConfig(Section):
    """Person boxes, 2D pose, frame/clip filters and normalisation (docs/method.md section 2)."""

    backend: Literal["vitpose", "mediapipe", "mmpose", "annotations"] = Field(
        "vitpose",
        description="vitpose: RT-DETR boxes + ViTPose (transformers); mediapipe: BlazePose, "
        "offline on CPU; mmpose: the optional extra; annotations: keypoints shipped with the "
        "dataset",
    )
    model: str = Field("usyd-community/vitpose-base-simple", description="ViTPose hub id or path")
    detector: str = Field("PekingU/rtdetr_r50vd_coco_o365", description="RT-DETR hub id or path")
    detector_threshold: float = Field(0.25, ge=0, le=1, description="person box confidence")
    detector_batch_size: int | None = Field(
        None,
        ge=1,
        description="vitpose: frames per person-detector pass; None = 32 on a GPU, 8 on a CPU",
    )
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
    normalization: Literal["minmax", "torso", "box"] = Field(
        "minmax",
        description="pose clip normalisation before clustering: minmax (per frame, x and y "
        "scaled to [0, 1] apart), torso (mid-hip centred, torso-length scaled) or box",
    )
    resources: StageResources = Field(
        StageResources(batch_size=32),
        description="the pose actors: batch_size = videos whose key-clip frames go through "
        "the model together",
    )


class BackboneConfig(Section):
    """VideoMAE backbone features x (docs/method.md section 6)."""

    model: str = Field(
        "MCG-NJU/videomae-base-finetuned-kinetics",
        description="VideoMAE hub id or local from_pretrained directory (fine-tuned on the target)",
    )
    num_frames: int = Field(16, ge=1, description="frames per backbone clip")
    sampling: Literal["segment_middles", "stride_around_middle"] = Field(
        "segment_middles",
        description="KTH/Penn/HAA: segment middles; UCF-101: stride 4 around middle",
    )
    stride: int = Field(4, ge=1, description="frame stride for stride_around_middle")
    resources: StageResources = Field(
        StageResources(batch_size=8), description="the backbone actors: batch_size = videos"
    )


class DualEncoderConfig(Section):
    """Video-text dual encoder for pseudo labels (docs/method.md section 5)."""

    kind: Literal["xclip", "clip_frames"] = Field(
        "xclip",
        description="xclip: an X-CLIP video model; clip_frames: an image-text model whose "
        "video embedding is the mean over frames (what dance train-dual-encoder writes)",
    )
    model: str = Field("microsoft/xclip-base-patch16", description="hub id or local path")
    num_frames: int = Field(8, ge=1, description="every second frame of the backbone clip")
    resources: StageResources = Field(
        StageResources(batch_size=8), description="the dual-encoder actors: batch_size = videos"
    )


class PreprocessConfig(Section):
    """The preprocess job: decode-side resources and output placement."""

    decode: StageResources = Field(
        StageResources(pool_size=2, batch_size=1),
        description="the decode actors: batch_size = videos handed to an actor at once",
    )
    writer: StageResources = Field(
        StageResources(pool_size=1, num_cpus=0.25, batch_size=256),
        description="the part writers: batch_size = videos per output Parquet part (small "
        "parts: a killed run resumes closer to where it stopped); writing Parquet is "
        "I/O-bound, so a fraction of a CPU each",
    )
    decode_chunk_frames: int = Field(
        16,
        ge=1,
        description="frames decoded per streamed chunk; small chunks stay in cache and leave "
        "the keyframe detector less to finish after the last one (benchmarks/keyframes)",
    )
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
    ground_truth: str | None = Field(
        None,
        description="ground_truth.parquet to score kept clips' keypoints against; None = "
        "<dataset.root>/ground_truth.parquet for dataset.name=synth when it exists",
    )
