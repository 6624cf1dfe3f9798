"""The report's TCAV page: built from posthoc/tcav/tcav.json when the TCAV job wrote one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from dance.config import load_config
from dance.progress import quiet
from dance.report import ReportInputs, tcav_page, write_report_site
from dance.train import DanceModel
from ray_jobs.report import read_tcav, report_plan, tcav_json_uri

SCRIPT = "<script>alert(1)</script>"
LAYERS = ["encoder.layer.0", "encoder.layer.2"]


def _result(cls: str, layer: str, concept: str, sign_count: float, significant: bool,
            p_corrected: float, group: str = "object", kind: str = "spatial") -> dict:
    return {"class": cls, "layer": layer, "group": group, "concept": concept, "kind": kind,
            "sign_count": sign_count, "sign_count_std": 0.05, "magnitude": 0.77,
            "random_sign_count": 0.5, "random_sign_count_std": 0.2, "cav_accuracy": 0.93,
            "t": 5.1, "p": 0.0001, "p_corrected": p_corrected, "significant": significant}


def _tcav(concept: str = "bat") -> dict:
    return {
        "target": "backbone", "pooling": "none", "layers": LAYERS, "runs": 10, "alpha": 0.05,
        "hypotheses": 8,
        "results": [
            _result("bat_swing", LAYERS[0], concept, 0.52, False, 1.0),
            _result("bat_swing", LAYERS[1], concept, 0.81, True, 0.0036),
            _result("bat_swing", LAYERS[1], "beach", 0.47, False, 0.9, "scene", "frame"),
            _result("squat", LAYERS[0], concept, 0.33, False, 0.2),
        ],
    }


def _inputs(tcav: dict | None) -> ReportInputs:
    rng = np.random.default_rng(0)
    names = {"motion": ["motion_000", "motion_001"], "object": ["bat"], "scene": ["beach"]}
    model = DanceModel(
        kind="dance", concept_weights={t: rng.normal(size=(len(v), 4)) for t, v in names.items()},
        mean=np.zeros(4), std=np.ones(4), final_weight=rng.normal(size=(2, 4)),
        final_bias=np.zeros(2), concept_names=names, class_names=["bat_swing", "squat"],
    )
    return ReportInputs(
        model=model, video_ids=["a", "b"], splits=["test", "test"], labels=np.array([0, 1]),
        features=rng.normal(size=(2, 4)).astype(np.float32),
        metrics={"splits": {"test": {"num_videos": 2, "top1": 0.5, "top5": 1.0,
                                     "confusion": np.eye(2, dtype=int).tolist()}}},
        tcav=tcav,
    )


def _write_tcav(workdir: Path, content: str) -> None:
    uri = Path(tcav_json_uri(str(workdir)))
    uri.parent.mkdir(parents=True)
    uri.write_text(content)


def _site_from_workdir(tmp_path: Path) -> Path:
    out = tmp_path / "reports"
    write_report_site(_inputs(read_tcav(str(tmp_path / "work"), quiet)), str(out), log=quiet)
    return out


def _cells(row_html: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", row_html)


def _row(page: str, concept: str, table_index: int) -> str:
    table = page.split('<table class="tcav">')[1 + table_index].split("</table>")[0]
    return next(r for r in table.split("<tr>") if f'class="concept">{concept}<' in r)


def test_a_tcav_json_in_the_workdir_yields_a_tcav_page_linked_from_the_index(tmp_path):
    _write_tcav(tmp_path / "work", json.dumps(_tcav()))
    site = _site_from_workdir(tmp_path)
    assert (site / "tcav.html").is_file()
    assert 'href="tcav.html"' in (site / "index.html").read_text()


def test_the_tcav_page_has_a_table_per_class_with_a_column_per_layer(tmp_path):
    page = tcav_page(_tcav())
    assert page.count('<table class="tcav">') == 2
    assert page.index("Class bat_swing") < page.index("Class squat")
    head = page.split('<table class="tcav">')[1].split("</thead>")[0]
    assert re.findall(r"<th>(.*?)</th>", head) == ["concept", "group", "kind", *LAYERS]


def test_a_tcav_cell_holds_the_mean_sign_count_of_its_concept_and_layer(tmp_path):
    page = tcav_page(_tcav())
    cells = _cells(_row(page, "bat", 0))
    assert cells[:3] == ['<span class="concept">bat</span>', "object", "spatial"]
    assert cells[3].startswith("0.52") and cells[4].startswith("<strong>0.81 *</strong>")
    assert _cells(_row(page, "bat", 1))[3].startswith("0.33")
    assert _cells(_row(page, "beach", 0))[3] == "-"  # not tested at that layer


def test_a_significant_tcav_score_is_marked_and_shows_its_corrected_p():
    page = tcav_page(_tcav())
    row = _row(page, "bat", 0)
    significant = re.search(r'<td class="num significant" title="([^"]*)">(.*?)</td>', row)
    assert significant is not None and "<strong>0.81 *</strong>" in significant.group(2)
    assert "p 0.0036" in significant.group(2) and "corrected p 0.0036" in significant.group(1)
    assert row.count("<strong>") == 1


def test_a_hostile_concept_name_is_escaped_on_the_tcav_page():
    hostile = _tcav(SCRIPT)
    hostile["results"][0]["class"] = '"><img src=x onerror=alert(1)>'
    page = tcav_page(hostile)
    assert SCRIPT not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_without_a_tcav_json_the_report_has_no_tcav_page_and_no_link(tmp_path):
    assert read_tcav(str(tmp_path / "work"), quiet) is None
    site = _site_from_workdir(tmp_path)
    assert not (site / "tcav.html").exists()
    assert "tcav" not in (site / "index.html").read_text().lower()


def test_a_report_without_tcav_removes_an_earlier_reports_tcav_page(tmp_path):
    out = tmp_path / "reports"
    write_report_site(_inputs(_tcav()), str(out), log=quiet)
    write_report_site(_inputs(None), str(out), log=quiet)
    assert not (out / "tcav.html").exists()


def test_a_damaged_tcav_json_gives_no_tcav_page_and_says_why(tmp_path):
    _write_tcav(tmp_path / "work", '{"results": [')
    said: list[str] = []
    assert read_tcav(str(tmp_path / "work"), said.append) is None
    assert len(said) == 1 and "tcav.json" in said[0]


def test_a_tcav_json_is_an_input_of_the_report_stage(tmp_path):
    cfg = load_config("demo").model_copy(update={"workdir": str(tmp_path / "work")})
    assert "tcav" not in report_plan(cfg).inputs
    _write_tcav(tmp_path / "work", json.dumps(_tcav()))
    first = report_plan(cfg).inputs["tcav"]["sha256"]
    Path(tcav_json_uri(cfg.workdir)).write_text(json.dumps(_tcav("ball")))
    assert report_plan(cfg).inputs["tcav"]["sha256"] != first
