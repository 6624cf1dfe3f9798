"""The report's Grad-CAM overlays: per sampled video, DANCE's predicted class as a GIF
beside its top concepts, named by a hash; a video without a map says why."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from dance.config import DanceConfig
from dance.manifest import Manifest
from dance.posthoc import gif_bytes
from dance.progress import quiet
from dance.report import (
    CamOverlay,
    ReportInputs,
    cam_file,
    video_file,
    write_report_site,
)
from dance.train import DanceModel
from dance.workdir import manifest_uri
from ray_jobs.report import cam_reader, report_inputs

NAMES = {"motion": ["motion_000", "motion_001"], "object": ["bat"], "scene": ["beach"]}


@pytest.fixture(scope="module")
def tiny_site(tiny_trained: DanceConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny trained workdir's report site, written to a folder of its own."""
    out = tmp_path_factory.mktemp("report_gradcam")
    write_report_site(report_inputs(tiny_trained, quiet), str(out), log=quiet)
    return out


def _beside(page: str) -> str:
    """The block holding the top-concepts table and the Grad-CAM panel."""
    match = re.search(r'<div class="beside".*?<div class="cam-panel".*?</div></div>', page,
                      re.DOTALL)
    assert match is not None, "no Grad-CAM panel beside the top concepts"
    return match.group(0)


def test_each_sampled_video_page_shows_a_gradcam_gif_beside_its_top_three(tiny_site):
    pages = sorted((tiny_site / "videos").glob("v-*.html"))
    assert pages
    for path in pages:
        block = _beside(path.read_text())
        assert block.count("<tr>") - 1 == 3  # the header row and the top three
        src = re.search(r'<img class="gradcam" src="\.\./([^"]+)"', block).group(1)
        with Image.open(tiny_site / src) as gif:
            assert gif.format == "GIF" and gif.n_frames > 1


def test_gradcam_gifs_are_named_by_a_hash_of_the_video_id(tiny_site):
    ids = re.findall(r'<a href="videos/(v-[0-9a-f]+\.html)">([^<]+)</a>',
                     (tiny_site / "index.html").read_text())
    gifs = {p.name for p in (tiny_site / "assets" / "cams").iterdir()}
    assert gifs == {Path(cam_file(video_id)).name for _, video_id in ids}
    assert all(re.fullmatch(r"[0-9a-f]{24}\.gif", name) for name in gifs)


def test_a_video_that_cannot_be_read_gets_the_reason_instead_of_an_overlay(tiny_trained,
                                                                          tmp_path):
    manifest = Manifest.read(manifest_uri(tiny_trained.workdir))
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    uris = manifest.table["uri"].to_pylist()
    table = manifest.table.set_column(manifest.table.schema.get_field_index("uri"), "uri",
                                      pa.array([str(broken)] + uris[1:]))
    model = DanceModel.from_pretrained(str(Path(tiny_trained.workdir) / "model"))
    read = cam_reader(tiny_trained, Manifest(table, manifest.class_names), model, quiet)
    overlay = read(manifest.video_ids[0], 0)
    assert overlay.gif is None and overlay.error.startswith("not_a_video")
    assert read(manifest.video_ids[1], 0).gif is not None


def _inputs(cams) -> ReportInputs:
    rng = np.random.default_rng(0)
    model = DanceModel(
        kind="dance", concept_weights={t: rng.normal(size=(len(v), 4)) for t, v in NAMES.items()},
        mean=np.zeros(4), std=np.ones(4), final_weight=rng.normal(size=(3, 4)),
        final_bias=np.zeros(3), concept_names=NAMES, class_names=["a", "b", "c"],
    )
    return ReportInputs(
        model=model, video_ids=[f"clip/{i:02d}" for i in range(6)], splits=["test"] * 6,
        labels=np.arange(6) % 3, features=rng.normal(size=(6, 4)).astype(np.float32),
        metrics={"splits": {"test": {"num_videos": 6, "top1": 0.5, "top5": 1.0}}}, cams=cams,
    )


def test_a_video_without_a_map_says_why_on_its_page_and_the_others_keep_theirs(tmp_path):
    gif = gif_bytes(np.zeros((2, 8, 8, 3), np.uint8))

    def cams(video_id: str, class_index: int) -> CamOverlay:
        if video_id == "clip/00":
            return CamOverlay(error="unreadable: <script>alert(1)</script>")
        return CamOverlay(gif=gif, class_name="a", layer="encoder.layer.1")

    summary = write_report_site(_inputs(cams), str(tmp_path), log=quiet)
    assert summary.video_pages == 6
    failed = (tmp_path / "videos" / video_file("clip/00")).read_text()
    assert "No Grad-CAM for this video: unreadable: &lt;script&gt;" in failed
    assert "<script>" not in failed and 'class="gradcam"' not in failed
    shown = (tmp_path / "videos" / video_file("clip/01")).read_text()
    assert f'src="../{cam_file("clip/01")}"' in shown
    assert len(list((tmp_path / "assets" / "cams").iterdir())) == 5


def test_a_linear_probe_gets_no_gradcam_overlays(tiny_trained):
    probe = DanceModel(kind="linear_probe", concept_weights={}, mean=np.zeros(4, np.float32),
                       std=np.ones(4, np.float32), final_weight=np.zeros((2, 4), np.float32),
                       final_bias=np.zeros(2, np.float32), concept_names={},
                       class_names=["a", "b"])
    manifest = Manifest.read(manifest_uri(tiny_trained.workdir))
    assert cam_reader(tiny_trained, manifest, probe, quiet) is None
