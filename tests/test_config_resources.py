"""One placement shape: every stage's resources are a StageResources; moved keys name their new home."""

from __future__ import annotations

import pytest

from dance.config import MOVED_KEYS, ConfigError, StageResources, load_config
from dance.errors import DanceError


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("preprocess.writer_num_cpus=0.1", "preprocess.writer.num_cpus"),
        ("preprocess.rows_per_part=32", "preprocess.writer.batch_size"),
        ("discover.motion.num_cpus=2", "discover.motion.resources.num_cpus"),
        ("discover.motion.num_gpus=1", "discover.motion.resources.num_gpus"),
        ("finetune.num_workers=2", "finetune.workers.pool_size"),
        ("finetune.cpus_per_worker=1", "finetune.workers.num_cpus"),
        ("finetune.use_gpu=true", "finetune.workers.num_gpus"),
        ("finetune.batch_size=8", "finetune.workers.batch_size"),
        ("finetune.decode_cpus=1", "finetune.decode.num_cpus"),
        ("finetune.cache_part_videos=64", "finetune.decode.batch_size"),
        ("train.num_workers=2", "train.resources.pool_size"),
        ("train.use_gpu=true", "train.resources.num_gpus"),
        ("discover.motion.search=exact", "discover.motion.neighbors.mode"),
        ("discover.motion.ef_search=32", "discover.motion.neighbors.ef_search"),
    ],
)
def test_an_old_key_fails_naming_the_key_that_replaced_it(old: str, new: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config("demo", [old])
    assert f"'{old.partition('=')[0]}' is now '{new}'" in str(err.value)


def test_an_old_key_in_a_yaml_file_names_its_new_key(tmp_path) -> None:
    path = tmp_path / "old.yaml"
    path.write_text("base: demo\nfinetune:\n  num_workers: 2\n  cpus_per_worker: 1\n")
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert "finetune.workers.pool_size" in str(err.value)
    assert "finetune.workers.num_cpus" in str(err.value)


def test_every_moved_key_points_at_a_key_that_exists() -> None:
    cfg = load_config("demo")
    for old, (new, _) in MOVED_KEYS.items():
        node = cfg
        for part in new.split("."):
            assert hasattr(node, part), f"{old} -> {new}: '{part}' does not exist"
            node = getattr(node, part)


def test_config_error_belongs_to_the_user_error_family() -> None:
    assert issubclass(ConfigError, DanceError)
    assert issubclass(ConfigError, ValueError)


def test_every_stage_of_every_job_declares_a_stage_resources() -> None:
    cfg = load_config("demo")
    stages = [
        cfg.preprocess.decode,
        cfg.pose.resources,
        cfg.backbone.resources,
        cfg.dual_encoder.resources,
        cfg.preprocess.writer,
        cfg.discover.motion.resources,
        cfg.finetune.workers,
        cfg.finetune.decode,
        cfg.train.resources,
    ]
    assert all(isinstance(stage, StageResources) for stage in stages)


def test_the_demo_keeps_its_placement() -> None:
    cfg = load_config("demo")
    assert (cfg.preprocess.writer.num_cpus, cfg.preprocess.writer.batch_size) == (0.1, 32)
    workers = cfg.finetune.workers
    assert (workers.pool_size, workers.num_cpus, workers.num_gpus, workers.batch_size) == (
        2,
        1,
        0,
        8,
    )
    assert (cfg.finetune.decode.num_cpus, cfg.finetune.decode.batch_size) == (1, 64)
    assert (cfg.discover.motion.resources.num_cpus, cfg.discover.motion.resources.num_gpus) == (
        1,
        0,
    )


def test_setting_one_resource_keeps_the_sections_other_defaults() -> None:
    workers = load_config("ucf101", ["finetune.workers.pool_size=2"]).finetune.workers
    assert (workers.pool_size, workers.num_cpus, workers.batch_size) == (2, 1.0, 8)
    decode = load_config("demo", ["finetune.decode.pool_size=4"]).finetune.decode
    assert (decode.pool_size, decode.num_cpus, decode.batch_size) == (4, 1.0, 64)


def test_gpu_presets_give_the_train_workers_a_gpu() -> None:
    for preset in ("ucf101", "penn_action", "kth", "haa500"):
        assert load_config(preset).train.resources.num_gpus == 1


def test_discover_motion_runs_as_exactly_one_task() -> None:
    with pytest.raises(ConfigError, match=r"discover\.motion\.resources\.pool_size"):
        load_config("demo", ["discover.motion.resources.pool_size=2"])
