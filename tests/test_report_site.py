"""The report site as files: sampled pages, names made by the code, animations cached."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dance.progress import quiet
from dance.report import ReportInputs, class_file, sample_videos, video_file, write_report_site
from dance.train import DanceModel

NAMES = {"motion": ["motion_000", "motion_001"], "object": ["bat"], "scene": ["beach"]}


def _inputs(videos: int = 12) -> ReportInputs:
    rng = np.random.default_rng(0)
    model = DanceModel(
        kind="dance", concept_weights={t: rng.normal(size=(len(v), 4)) for t, v in NAMES.items()},
        mean=np.zeros(4), std=np.ones(4), final_weight=rng.normal(size=(3, 4)),
        final_bias=np.zeros(3), concept_names=NAMES, class_names=["a", "b", "c"],
    )
    labels = np.arange(videos) % 3
    return ReportInputs(
        model=model, video_ids=[f"clip/{i:02d}" for i in range(videos)], splits=["test"] * videos,
        labels=labels, features=rng.normal(size=(videos, 4)).astype(np.float32),
        metrics={"splits": {"test": {"num_videos": videos, "top1": 0.5, "top5": 1.0,
                                     "confusion": np.eye(3, dtype=int).tolist()}}},
        motion=[{"name": n, "size": 4, "pose": rng.uniform(0, 50, size=(6, 17, 2))}
                for n in NAMES["motion"]],
    )


def test_sampled_videos_spread_over_the_classes_and_repeat_for_a_seed():
    labels = np.array([0] * 10 + [1] * 10 + [2] * 2)
    ids = [f"v{i:02d}" for i in range(22)]
    picked = sample_videos(ids, labels, 6, seed=1)
    assert sorted(np.bincount(labels[picked], minlength=3)) == [2, 2, 2]
    assert sample_videos(ids, labels, 6, seed=1) == picked
    assert sample_videos(ids, labels, 6, seed=2) != picked


def test_page_files_are_named_by_class_index_and_by_a_hash_of_the_video_id(tmp_path):
    summary = write_report_site(_inputs(), str(tmp_path / "reports"), max_videos=4, log=quiet)
    site = Path(summary.out)
    assert sorted(p.name for p in (site / "classes").iterdir()) == [class_file(i) for i in range(3)]
    pages = sorted(p.name for p in (site / "videos").iterdir())
    assert len(pages) == summary.video_pages == 4
    assert all(name.startswith("v-") and "/" not in name and ".." not in name for name in pages)
    assert set(pages) <= {video_file(f"clip/{i:02d}") for i in range(12)}


def test_a_second_report_reuses_the_motion_animations(tmp_path):
    out = tmp_path / "reports"
    write_report_site(_inputs(), str(out), log=quiet)
    animations = sorted((out / "assets" / "motion").glob("*.gif"))
    before = {p: p.stat().st_mtime_ns for p in animations}
    write_report_site(_inputs(), str(out), log=quiet)
    assert len(animations) == 2
    assert {p: p.stat().st_mtime_ns for p in animations} == before
