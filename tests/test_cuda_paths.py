"""The GPU code paths: each model and fit gives on CUDA what it gives on the CPU.

Up to the kernels: CUDA's resizing and convolutions round differently from the CPU's (on
an H200 the tiny backbone's features differ by up to 2e-4, its TCAV gradients by 2e-3,
the detector's scores by 1.3e-3), so values are compared at those scales.

These run where torch sees a CUDA device (a GPU node: `pytest tests/test_cuda_paths.py`)
and skip elsewhere. Tiny random models, built and saved as every test does; the NCCL tests
use a one-process group, the backend Ray Train gives GPU workers.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="needs a CUDA GPU: these check the GPU code paths (run them on a GPU node)",
)


@pytest.fixture
def nccl_group() -> Iterator[None]:
    """A one-process NCCL group on GPU 0, destroyed afterwards."""
    import torch.distributed as dist

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    torch.cuda.set_device(0)
    dist.init_process_group("nccl", init_method=f"tcp://127.0.0.1:{port}", rank=0,
                            world_size=1, device_id=torch.device("cuda", 0))
    try:
        yield
    finally:
        dist.destroy_process_group()


def clips(count: int, frames: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, frames, 40, 56, 3), dtype=np.uint8)


def test_the_backbone_embeds_on_cuda_as_on_the_cpu(tmp_path: Path) -> None:
    from dance.encoders import VideoBackbone, build_tiny_videomae

    path = build_tiny_videomae(str(tmp_path / "videomae"), num_labels=3)
    on_gpu = VideoBackbone.from_pretrained(path, device="cuda").embed(clips(3))
    on_cpu = VideoBackbone.from_pretrained(path).embed(clips(3))
    np.testing.assert_allclose(on_gpu, on_cpu, atol=1e-3)


def test_the_dual_encoder_embeds_videos_and_texts_on_cuda_as_on_the_cpu(tmp_path: Path) -> None:
    from dance.encoders import DualEncoder, build_tiny_xclip

    path = build_tiny_xclip(str(tmp_path / "xclip"))
    gpu = DualEncoder.from_pretrained(path, kind="xclip", device="cuda")
    cpu = DualEncoder.from_pretrained(path, kind="xclip")
    texts = ["a person throwing a ball", "a gym"]
    np.testing.assert_allclose(gpu.embed_texts(texts), cpu.embed_texts(texts), atol=1e-4)
    videos = clips(2, frames=8)
    np.testing.assert_allclose(gpu.embed_videos(videos), cpu.embed_videos(videos), atol=1e-4)


def test_gradcam_maps_on_cuda_match_the_cpu(tmp_path: Path) -> None:
    from dance.encoders import VideoBackbone, build_tiny_videomae
    from dance.posthoc import VideoCam

    path = build_tiny_videomae(str(tmp_path / "videomae"), num_labels=3)
    frames = clips(1)[0]
    gpu = VideoCam.for_backbone_head(VideoBackbone.from_pretrained(path, device="cuda"))
    cpu = VideoCam.for_backbone_head(VideoBackbone.from_pretrained(path))
    on_gpu, on_cpu = gpu.explain(frames, class_index=1), cpu.explain(frames, class_index=1)
    np.testing.assert_allclose(on_gpu.maps, on_cpu.maps, atol=1e-3)


def test_tcav_layer_activations_and_gradients_on_cuda_match_the_cpu(tmp_path: Path) -> None:
    from dance.encoders import VideoBackbone, build_tiny_videomae
    from dance.posthoc import VideoCam, layer_activations, layer_gradients

    path = build_tiny_videomae(str(tmp_path / "videomae"), num_labels=3)
    gpu = VideoCam.for_backbone_head(VideoBackbone.from_pretrained(path, device="cuda"))
    cpu = VideoCam.for_backbone_head(VideoBackbone.from_pretrained(path))
    examples = list(clips(2))
    for cam_gpu, cam_cpu in ((layer_activations(gpu, examples, "encoder.layer.0"),
                              layer_activations(cpu, examples, "encoder.layer.0")),
                             (layer_gradients(gpu, examples, "encoder.layer.1", 1),
                              layer_gradients(cpu, examples, "encoder.layer.1", 1))):
        assert cam_gpu.device.type == "cpu"  # what the TCAV tasks hand back to the driver
        torch.testing.assert_close(cam_gpu, cam_cpu, atol=5e-3, rtol=1e-2)


def test_the_object_detector_scores_on_cuda_as_on_the_cpu(tmp_path: Path) -> None:
    from dance.pose import build_tiny_rtdetr
    from dance.posthoc import ObjectDetector

    path = build_tiny_rtdetr(tmp_path / "rtdetr")
    frames = clips(1, frames=3)[0]
    gpu = ObjectDetector.from_pretrained(path, device="cuda", threshold=0.01).detect(frames)
    cpu = ObjectDetector.from_pretrained(path, threshold=0.01).detect(frames)
    assert len(gpu) == len(cpu) == 3
    for on_gpu, on_cpu in zip(gpu, cpu, strict=True):
        assert len(on_cpu) > 0
        np.testing.assert_allclose(on_gpu.scores[0], on_cpu.scores[0], atol=5e-3)


def test_vitpose_runs_on_cuda_and_keeps_its_keypoints_in_the_frame(tmp_path: Path) -> None:
    from dance.pose import ViTPoseEstimator, build_tiny_rtdetr, build_tiny_vitpose

    estimator = ViTPoseEstimator(
        build_tiny_vitpose(tmp_path / "vitpose"), build_tiny_rtdetr(tmp_path / "rtdetr"),
        detector_threshold=0.0, device="cuda",
    )
    result = estimator.estimate(clips(1, frames=5)[0])
    assert result.keypoints.shape == (5, 17, 3) and result.found.all()
    x, y = result.keypoints[..., 0], result.keypoints[..., 1]
    assert (x >= 0).all() and (x <= 56).all() and (y >= 0).all() and (y <= 40).all()


def test_vitpose_crops_on_cuda_give_the_keypoints_of_the_cpu(tmp_path: Path) -> None:
    from dance.pose import ViTPoseEstimator, build_tiny_rtdetr, build_tiny_vitpose

    pose, detector = build_tiny_vitpose(tmp_path / "vitpose"), build_tiny_rtdetr(tmp_path / "rtdetr")
    crops = np.random.default_rng(0).integers(0, 256, (6, 256, 192, 3), dtype=np.uint8)
    on_cpu = ViTPoseEstimator(pose, detector).estimate_crops(crops)
    on_gpu = ViTPoseEstimator(pose, detector, device="cuda").estimate_crops(crops)
    np.testing.assert_allclose(on_gpu, on_cpu, atol=1e-2)


def test_the_detector_batch_defaults_to_32_frames_on_a_gpu(tmp_path: Path) -> None:
    from dance.config import PoseConfig
    from dance.pose import ViTPoseEstimator, build_tiny_rtdetr, build_tiny_vitpose

    config = PoseConfig(
        model=build_tiny_vitpose(tmp_path / "vitpose"), detector=build_tiny_rtdetr(tmp_path / "rtdetr")
    )
    assert ViTPoseEstimator.from_config(config, device="cuda").detector_batch_size == 32


def small_problem(rows: int = 600, classes: int = 6, seed: int = 0):
    """TrainingArrays of a small seeded problem whose concepts follow the classes."""
    from dance.train import TrainingArrays

    rng = np.random.default_rng(seed)
    labels = np.arange(rows) % classes
    features = (rng.normal(size=(classes, 32))[labels] + rng.normal(size=(rows, 32)))
    motion = (rng.random((rows, 8)) < 0.1) | (np.arange(8)[None] % classes == labels[:, None])
    language = np.clip(0.2 + 0.05 * features[:, :12] / 2, 0.1, 0.35)
    arrays = TrainingArrays(
        video_ids=[f"v{i:04d}" for i in range(rows)],
        splits=np.where(np.arange(rows) % 10 == 0, "val", "train").astype(object),
        labels=labels.astype(np.int64),
        features=features.astype(np.float32),
        motion=motion.astype(np.float32),
        motion_known=np.ones(rows, dtype=bool),
        objects=language[:, :6].astype(np.float32),
        scenes=language[:, 6:].astype(np.float32),
        language_known=np.ones(rows, dtype=bool),
    )
    names = {"motion": [f"m{i}" for i in range(8)], "objects": [f"o{i}" for i in range(6)],
             "scenes": [f"s{i}" for i in range(6)]}
    return arrays, names, classes


def test_the_train_fit_on_cuda_keeps_the_concepts_and_objective_of_the_cpu_fit() -> None:
    from dance.config import TrainConfig
    from dance.train import fit_model

    arrays, names, classes = small_problem()
    cfg = TrainConfig(motion_steps=200, concept_max_steps=200, eval_every=100)
    gpu = fit_model(arrays, names, classes, cfg, 0, device="cuda")
    cpu = fit_model(arrays, names, classes, cfg, 0)
    assert {k: r.names for k, r in gpu.types.items()} == {k: r.names for k, r in cpu.types.items()}
    assert gpu.final.objective == pytest.approx(cpu.final.objective, rel=1e-6)
    assert gpu.final.W.device.type == "cpu" and gpu.standardizer.mean.device.type == "cpu"


def test_the_train_fit_runs_through_an_nccl_collective(nccl_group) -> None:
    from dance.config import TrainConfig
    from dance.train import TorchDistributedCollective, fit_model

    arrays, names, classes = small_problem()
    cfg = TrainConfig(motion_steps=50, concept_max_steps=50, eval_every=25)
    progress = fit_model(arrays, names, classes, cfg, 0, collective=TorchDistributedCollective(),
                         device="cuda")
    assert progress.final.converged


def test_a_cpu_tensor_is_summed_through_an_nccl_group_and_stays_on_the_cpu(nccl_group) -> None:
    from dance.finetune import all_reduce_sum

    values = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    summed = all_reduce_sum(values)
    assert summed.device.type == "cpu" and summed.tolist() == [1.0, 2.0, 3.0]


def test_a_finetune_epoch_runs_on_cuda_in_an_nccl_group(nccl_group) -> None:
    from dance.config import BackboneConfig, FinetuneConfig
    from dance.finetune import (
        ClipSet,
        build_classifier,
        clip_spec_for,
        make_optimizer,
        train_one_epoch,
    )

    config = FinetuneConfig(init="tiny", image_size=16, tiny_patch_size=8, tiny_hidden_size=32,
                            tiny_layers=1, tiny_heads=2, tiny_intermediate_size=64,
                            workers={"batch_size": 4}, warmup_epochs=0)
    model = build_classifier(config, ["a", "b"], 4).to("cuda")
    data = ClipSet([f"v{i}" for i in range(8)],
                   torch.randint(0, 256, (8, 4, 16, 16, 3), dtype=torch.uint8),
                   torch.arange(8) % 2)
    loss, accuracy = train_one_epoch(model, make_optimizer(model, config), data,
                                     clip_spec_for(config, BackboneConfig(num_frames=4)),
                                     config, epoch=0, steps=2)
    assert np.isfinite(loss) and 0.0 <= accuracy <= 1.0


def test_a_dual_encoder_training_epoch_runs_on_cuda_in_an_nccl_group(nccl_group) -> None:
    from dance.config import BackboneConfig, DualEncoderConfig, DualTrainingConfig
    from dance.dual import (
        CaptionedClips,
        VideoTextModel,
        build_clip,
        dual_clip_spec,
        load_text_tokenizer,
        train_one_epoch,
        vocabulary_words,
    )
    from dance.finetune import make_optimizer

    config = DualTrainingConfig(
        image_size=16, tiny_patch_size=4, tiny_vision_widths=[8, 16], tiny_vision_depths=[1, 1],
        tiny_hidden_size=32, tiny_heads=2, tiny_intermediate_size=64, tiny_text_layers=1,
        tiny_projection_dim=16, frames_per_step=2, warmup_epochs=0,
        workers={"pool_size": 1, "num_cpus": 1, "batch_size": 4},
    )
    captions = [["a red scene"], ["a blue scene"]] * 4
    tokenizer = load_text_tokenizer(config, vocabulary_words([c[0] for c in captions]))
    model = VideoTextModel(build_clip(config, tokenizer)).to("cuda")
    data = CaptionedClips([f"v{i}" for i in range(8)],
                          torch.randint(0, 256, (8, 4, 16, 16, 3), dtype=torch.uint8), captions)
    spec = dual_clip_spec(config, BackboneConfig(num_frames=8), DualEncoderConfig(num_frames=4))
    loss, accuracy = train_one_epoch(model, make_optimizer(model, config), tokenizer, data, spec,
                                     config, epoch=0, steps=2)
    assert np.isfinite(loss) and 0.0 <= accuracy <= 1.0
