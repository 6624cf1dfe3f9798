"""The report in a real browser: it loads from disk cleanly, shows the explanations, and
shows hostile names as text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from browser_helpers import chromium_page, chromium_path, load

from dance.config import DanceConfig
from dance.progress import quiet
from dance.report import ReportInputs, video_file, write_report_site
from dance.train import DanceModel
from ray_jobs.report import run_report

pytestmark = pytest.mark.skipif(
    chromium_path() is None,
    reason="Debian's chromium is not installed (`make test` installs it with apt-get)",
)

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def site(tiny_trained: DanceConfig) -> Path:
    """The report job's site of the tiny trained model."""
    summary = run_report(tiny_trained, log=quiet)
    return Path(summary.out)


def _video_page_with_animation(page, site: Path) -> Path:
    """A sampled video page showing at least one motion animation."""
    for candidate in sorted((site / "videos").glob("v-*.html")):
        load(page, candidate)
        if page.locator("img.animation").count():
            return candidate
    raise AssertionError("no video page shows a motion animation")


def test_the_index_loads_from_disk_with_no_errors_and_no_network(site):
    with chromium_page() as page:
        seen = load(page, site / "index.html")
        assert seen.console_errors == [] and seen.failed_requests == []
        assert seen.remote_requests == []
        assert page.locator("table.confusion").count() == 1


def test_a_video_page_shows_its_top_three_concepts_and_an_animation(site, tmp_path):
    with chromium_page() as page:
        seen = load(page, _video_page_with_animation(page, site))
        assert seen.console_errors == [] and seen.failed_requests == []
        assert page.locator("table.top-concepts tbody tr").count() == 3
        assert page.locator("span.concept").count() == 3
        loaded = page.eval_on_selector_all(
            "img.animation", "images => images.filter(i => i.complete && i.naturalWidth > 0).length"
        )
        assert loaded >= 1
        shot = tmp_path / "video.png"
        page.screenshot(path=str(shot))
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_sankey_page_draws_its_views_with_the_inlined_plotly(site):
    with chromium_page() as page:
        seen = load(page, site / "sankey.html")
        assert seen.console_errors == [] and seen.remote_requests == []
        page.wait_for_selector("g.sankey", timeout=10_000)


# -- hostile names --------------------------------------------------------------------------


def _hostile_inputs() -> ReportInputs:
    names = {"motion": [SCRIPT, "motion_001"], "object": [IMG], "scene": ["beach"]}
    classes = [SCRIPT, IMG, "plain"]
    rng = np.random.default_rng(0)
    model = DanceModel(
        kind="dance", concept_weights={t: rng.normal(size=(len(v), 4)) for t, v in names.items()},
        mean=np.zeros(4), std=np.ones(4), final_weight=rng.normal(size=(3, 4)),
        final_bias=np.zeros(3), concept_names=names, class_names=classes,
    )
    ids = ["../../x", IMG, "ok_video"]
    features = rng.normal(size=(3, 4)).astype(np.float32)
    return ReportInputs(
        model=model, video_ids=ids, splits=["test"] * 3, labels=np.array([0, 1, 2]),
        features=features,
        metrics={"splits": {"test": {"num_videos": 3, "top1": 0.5, "top5": 1.0,
                                     "confusion": [[1, 0, 0], [0, 0, 1], [0, 1, 0]],
                                     "per_class": {SCRIPT: {"accuracy": 1.0, "videos": 1}}}}},
        title=SCRIPT, table=[{"row": IMG, "val": 0.5, "test": 0.5, "shifted": None}],
        motion=[{"name": SCRIPT, "size": 3, "pose": rng.uniform(0, 100, size=(8, 17, 2))}],
        language=[{"type": "object", "name": IMG, "status": "filtered", "reason": SCRIPT}],
    )


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("hostile")
    write_report_site(_hostile_inputs(), str(root / "reports"), log=quiet)
    return root, root / "reports"


def test_hostile_names_are_shown_as_text_on_every_page(hostile):
    _, site = hostile
    pages = [site / "index.html", site / "concepts.html", site / "classes" / "c0000.html",
             site / "videos" / video_file("../../x"), site / "videos" / video_file(IMG)]
    with chromium_page() as page:
        for path in pages:
            seen = load(page, path)
            assert seen.dialogs == [], path
            assert page.locator("script").count() == 0, path
            assert page.locator('img[src="x"]').count() == 0, path
            text = page.inner_text("body")
            assert SCRIPT in text or IMG in text, path


def test_hostile_names_in_the_sankey_run_no_code(hostile):
    _, site = hostile
    with chromium_page() as page:
        seen = load(page, site / "sankey.html")
        assert seen.dialogs == [] and page.locator('img[src="x"]').count() == 0


def test_nothing_is_written_outside_the_report_folder(hostile):
    root, site = hostile
    outside = [p for p in root.rglob("*") if site not in p.parents and p != site]
    assert outside == []
    assert not (root.parent / "x").exists() and not (root / "x").exists()
