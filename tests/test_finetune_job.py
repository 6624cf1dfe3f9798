"""The fine-tuning job: the clip cache on real decoded videos, and Ray Train end to end."""

from __future__ import annotations

import json
from pathlib import Path

import torch
import typer
from typer.testing import CliRunner

from dance.config import BackboneConfig, FinetuneConfig
from dance.encoders import VideoBackbone
from dance.finetune import (
    MARKER,
    ClipSpec,
    build_part,
    cache_directory,
    clip_spec_for,
    load_clips,
    merge_parts,
    missing_videos,
    plan_parts,
    read_cache,
)
from dance.manifest import Manifest

# Small enough for a 2-core machine: 32 px clips of 4 frames, one transformer layer.
_TINY_MODEL = [
    "finetune.init=tiny",
    "finetune.image_size=32",
    "finetune.tiny_patch_size=16",
    "finetune.tiny_hidden_size=32",
    "finetune.tiny_layers=1",
    "finetune.tiny_heads=2",
    "finetune.tiny_intermediate_size=64",
    "finetune.workers.batch_size=4",
    "finetune.warmup_epochs=0",
    "finetune.decode.batch_size=8",
    "backbone.num_frames=4",
]


def _spec() -> ClipSpec:
    config = FinetuneConfig(init="tiny", image_size=32, tiny_patch_size=16)
    return clip_spec_for(config, BackboneConfig(num_frames=4))


def test_the_cache_holds_one_clip_per_video_keyed_by_id_and_skips_broken_ones(
    tiny_synth: Path, tmp_path: Path
) -> None:
    manifest = Manifest.read(str(tiny_synth / "manifest.parquet"))
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    spec = _spec()
    directory = cache_directory(str(tmp_path / "state"), spec)
    cache = read_cache(directory)
    videos = [*missing_videos(cache, manifest)[:3], ("broken", str(broken))]
    parts = [build_part(directory, name, rows, spec) for name, rows in plan_parts(cache, videos, 2)]
    cache = merge_parts(cache, parts)

    assert sorted(cache.failed) == ["broken"]
    ids = [vid for vid, _ in videos[:3]]
    clips = load_clips(cache, list(reversed(ids)))
    assert clips.shape == (3, 4, 32, 32, 3) and clips.dtype == torch.uint8
    assert torch.equal(clips[0], load_clips(cache, [ids[2]])[0])  # order follows the ids asked
    reread = read_cache(directory)
    assert reread.parts == cache.parts and set(reread.failed) == {"broken"}
    assert len(missing_videos(reread, manifest)) == len(manifest) - 3


def _write_config(tmp_path: Path, synth: Path) -> Path:
    config = tmp_path / "finetune.yaml"
    config.write_text(
        f"name: finetune-test\nworkdir: {tmp_path / 'work'}\n"
        f"dataset: {{name: synth, root: {synth}, val_fraction: 0.2}}\n"
        "ray: {num_cpus: 2}\n"
    )
    return config


def test_the_ray_job_trains_checkpoints_resumes_and_exports(
    tiny_synth: Path, tmp_path: Path, ray_session: str
) -> None:
    from ray_jobs.finetune_backbone import main

    config = _write_config(tmp_path, tiny_synth)
    args = ["--config", str(config), *[a for o in _TINY_MODEL for a in ("--set", o)]]
    assert main([*args, "--set", "finetune.epochs=2"]) == 0
    output = tmp_path / "work" / "backbone"
    metrics = json.loads((output / "metrics.json").read_text())
    assert [row["epoch"] for row in metrics["epochs"]] == [1, 2]
    assert metrics["class_names"] == Manifest.read(str(tiny_synth / "manifest.parquet")).class_names
    assert metrics["num_test"] == 4 and 0.0 <= metrics["test_acc"] <= 1.0
    assert {"train_loss", "train_acc", "val_acc", "seconds"} <= set(metrics["epochs"][0])
    assert (output / MARKER).is_file()
    backbone = VideoBackbone.from_pretrained(str(output))
    assert (backbone.num_frames, backbone.image_size) == (4, 32)

    # A longer rerun picks up after epoch 2 instead of starting over.
    assert main([*args, "--set", "finetune.epochs=3"]) == 0
    resumed = json.loads((output / "metrics.json").read_text())
    assert [row["epoch"] for row in resumed["epochs"]] == [1, 2, 3]
    assert resumed["epochs"][:2] == metrics["epochs"]
    assert resumed["num_test"] == 4


def test_the_cli_command_reports_a_bad_override_without_starting_ray() -> None:
    from dance.cli._finetune_cmd import finetune_backbone_command

    app = typer.Typer()
    app.command()(finetune_backbone_command)
    result = CliRunner().invoke(app, ["--config", "demo", "--set", "finetune.epochs=0"])
    assert result.exit_code == 2
    assert "finetune.epochs" in result.output
