"""The report's model-level pages: summary, classes, concept gallery, Sankey views, checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dance.report._html import class_file, esc, page, percent, table, type_badge, video_file
from dance.train import DanceModel

SPLIT_ORDER = ("train", "val", "test", "shifted")


def index_page(title: str, model: DanceModel, metrics: Mapping[str, Any],
               table_rows: Sequence[Mapping[str, Any]] | None,
               checks: Mapping[str, Any] | None, sampled: Sequence[tuple[str, str]],
               tcav: bool = False) -> str:
    """The summary page: accuracy, Table 1, checks, the test confusion matrix, links
    (`tcav`: the site has a TCAV page)."""
    splits = metrics.get("splits", {})
    counts = ", ".join(f"{len(n)} {esc(t)}" for t, n in model.concept_names_by_type.items())
    parts = [f"<h1>{esc(title)}</h1>",
             f"<p>Model: {esc(model.kind)}, {model.num_classes} classes"
             + (f", concepts: {counts}" if counts else "") + ".</p>",
             "<h2>Accuracy</h2>",
             table(("split", "videos", "top-1", "top-5"), [
                 (esc(s), str(splits[s]["num_videos"]), percent(splits[s]["top1"]),
                  percent(splits[s]["top5"]))
                 for s in SPLIT_ORDER if s in splits and splits[s]["num_videos"]
             ])]
    if table_rows:
        parts.append("<h2>Table 1: DANCE and the baselines on the same backbone</h2>")
        parts.append(table(("method", "val", "test", "shifted"), [
            (esc(r["row"]), percent(r.get("val")), percent(r.get("test")),
             percent(r.get("shifted"))) for r in table_rows
        ]))
    if checks:
        parts.append("<h2>Checks</h2>" + checks_summary(checks)
                     + '<p><a href="checks.html">All checks</a></p>')
    if tcav:
        parts.append('<h2>Post-hoc baseline</h2><p><a id="tcav-link" href="tcav.html">TCAV: '
                     "concept sensitivity of the backbone, per class and layer</a></p>")
    test = splits.get("test")
    if test and test.get("confusion"):
        parts.append("<h2>Test confusion matrix</h2><p class=\"muted\">Rows: true class; "
                     "columns: predicted. A cell links to the videos.</p>")
        parts.append(confusion_table(np.asarray(test["confusion"]), model.class_names))
    parts.append("<h2>Classes</h2><ul>" + "".join(
        f'<li><a href="classes/{class_file(i)}">{esc(name)}</a></li>'
        for i, name in enumerate(model.class_names)) + "</ul>")
    if sampled:
        parts.append("<h2>Sampled test videos</h2><ul>" + "".join(
            f'<li><a href="videos/{video_file(v)}">{esc(v)}</a> ({esc(c)})</li>'
            for v, c in sampled) + "</ul>")
    return page(title, "\n".join(parts))


def confusion_table(confusion: np.ndarray, class_names: Sequence[str]) -> str:
    """The confusion matrix; each non-zero cell links to its class page's section."""
    head = "".join(f'<th title="{esc(n)}">{j}</th>' for j, n in enumerate(class_names))
    rows = []
    for i, name in enumerate(class_names):
        cells = []
        for j, count in enumerate(confusion[i]):
            css = "diag" if i == j else ("off" if count else "")
            inner = f'<a href="classes/{class_file(i)}#p{j}">{int(count)}</a>' if count else ""
            cells.append(f'<td class="{css}">{inner}</td>')
        rows.append(f'<tr><th>{i} {esc(name)}</th>{"".join(cells)}</tr>')
    return f'<table class="confusion"><tr><th></th>{head}</tr>{"".join(rows)}</table>'


def class_page(model: DanceModel, index: int, per_class: Mapping[str, Any] | None,
               videos: Sequence[tuple[str, int]], with_page: set[str],
               top_n: int = 10) -> str:
    """One class: accuracy, its largest weights, and its test videos by predicted class."""
    name = model.class_names[index]
    parts = [f"<h1>Class {esc(name)}</h1>"]
    if per_class:
        parts.append(f"<p>Test accuracy {percent(per_class.get('accuracy'))} on "
                     f"{per_class.get('videos', 0)} videos.</p>")
    weight = model.final.weight.detach().numpy()[index]
    order = [k for k in np.argsort(-np.abs(weight), kind="stable")[:top_n] if weight[k] != 0]
    parts.append("<h2>Largest weights</h2>" + table(("concept", "type", "weight"), [
        (esc(model.concept_names[k]), type_badge(model.concept_types[k]), f"{weight[k]:+.3f}")
        for k in order]))
    parts.append("<h2>Test videos by predicted class</h2>")
    by_prediction: dict[int, list[str]] = {}
    for video_id, predicted in videos:
        by_prediction.setdefault(predicted, []).append(video_id)
    for predicted in sorted(by_prediction):
        items = "".join(
            f'<li><a href="../videos/{video_file(v)}">{esc(v)}</a></li>' if v in with_page
            else f"<li>{esc(v)}</li>" for v in by_prediction[predicted])
        parts.append(f'<h3 id="p{predicted}">predicted {esc(model.class_names[predicted])} '
                     f"({len(by_prediction[predicted])})</h3><ul>{items}</ul>")
    return page(f"Class {name}", "\n".join(parts), depth=1)


def concepts_page(model: DanceModel, motion: Sequence[Mapping[str, Any]],
                  language: Sequence[Mapping[str, Any]]) -> str:
    """Every motion concept animated; object and scene concepts kept or cut, and why.

    `motion`: per concept name, size, animation and strip asset paths (or None);
    `language`: per concept type, name, status and reason.
    """
    weight = model.final.weight.detach().numpy()
    columns = {n: k for k, (n, t) in enumerate(zip(model.concept_names, model.concept_types,
                                                   strict=True)) if t == "motion"}
    cards = []
    for concept in motion:
        k = columns.get(concept["name"])
        classes = ""
        if k is not None:
            top = [c for c in np.argsort(-weight[:, k], kind="stable")[:3] if weight[c, k] > 0]
            classes = ", ".join(esc(model.class_names[c]) for c in top) or "no class"
        picture = (f'<img class="animation" src="{esc(concept["animation"])}" '
                   f'alt="pose animation of {esc(concept["name"])}">'
                   if concept.get("animation") else '<p class="muted">no clip</p>')
        strip = (f'<img class="strip" src="{esc(concept["strip"])}" alt="key poses">'
                 if concept.get("strip") else "")
        cards.append(f'<div class="card" id="m-{esc(concept["name"])}"><strong>'
                     f'{esc(concept["name"])}</strong> <span class="muted">{concept["size"]} '
                     f"clips</span><br>{picture}{strip}<br>"
                     + (f"weighs most in: {classes}" if k is not None else
                        '<span class="muted">not in the model</span>') + "</div>")
    parts = [f"<h1>Concepts</h1><h2>Motion concepts ({len(motion)})</h2>",
             f'<div class="gallery">{"".join(cards)}</div>']
    for kind in ("object", "scene"):
        rows = [(esc(c["name"]), esc(c["status"]), esc(c.get("reason") or ""))
                for c in language if c["type"] == kind]
        if rows:
            parts.append(f"<h2>{kind.capitalize()} concepts</h2>"
                         + table(("concept", "status", "why"), rows))
    return page("Concepts", "\n".join(parts))


def checks_summary(checks: Mapping[str, Any]) -> str:
    """The headline figures of the sanity stage as a short list."""
    items = []
    rev = checks.get("reversal") or {}
    if rev:
        items.append(f"Reversed test videos: prediction changed for {percent(rev['changed'])}; "
                     f"{percent(rev['top_kept'])} of the top concepts kept.")
        if rev.get("pair_videos"):
            items.append(f"Reversal pairs: {percent(rev['pair_rate'])} of {rev['pair_videos']} "
                         f"reversed videos predicted as their pair class "
                         f"({percent(rev['pair_rate_forward'])} forward).")
    fid = checks.get("fidelity")
    if fid:
        items.append(f"Explanation fidelity: {percent(fid['share'])} of top-{fid['top_k']} "
                     f"contributions are of the separating factor's type (chance "
                     f"{percent(fid['chance'])}).")
    shift = checks.get("shift_edit")
    if shift:
        o = shift["outcome"]
        items.append(f"Shifted test set: {percent(o['accuracy_before'])} -> "
                     f"{percent(o['accuracy_after'])} after {len(shift['edits'])} suggested "
                     f"class edit(s) ({o['fixed']} fixed, {o['broken']} broken).")
        t = shift.get("test_outcome")
        if t:
            items.append(f"The same edits on the test set: {percent(t['accuracy_before'])} -> "
                         f"{percent(t['accuracy_after'])} ({t['fixed']} fixed, "
                         f"{t['broken']} broken).")
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def checks_page(checks: Mapping[str, Any]) -> str:
    """Reversal per video, fidelity by factor, the deletion curve, the suggested edits."""
    parts = ["<h1>Checks</h1>", checks_summary(checks)]
    deletion = checks.get("deletion")
    if deletion:
        parts.append("<h2>Deletion curve (test)</h2><p>Accuracy with each video's k most "
                     "contributing concepts set to their training mean, against k random "
                     "concepts.</p>")
        parts.append(table(("k", "top-k removed", "random k removed"), [
            (str(k), percent(a), percent(b))
            for k, a, b in zip(deletion["ks"], deletion["top"], deletion["random"], strict=True)
        ]))
    fid = checks.get("fidelity")
    if fid and fid.get("by_factor"):
        parts.append("<h2>Fidelity by separating factor</h2>" + table(
            ("factor", "videos", "share", "chance"),
            [(type_badge(f), str(v["videos"]), percent(v["share"]), percent(v["chance"]))
             for f, v in fid["by_factor"].items()]))
    shift = checks.get("shift_edit")
    if shift and shift["edits"]:
        parts.append("<h2>Suggested class edits (from validation videos)</h2>" + table(
            ("class", "concept", "type", "new weight", "missed val videos", "activation there",
             "elsewhere"),
            [(esc(e["class_name"]), esc(e["concept"]), type_badge(e["concept_type"]),
              f"{e['value']:+.3f}", str(e["misclassified_videos"]), f"{e['activation']:.2f}",
              f"{e['elsewhere']:.2f}") for e in shift["edits"]]))
    rev = (checks.get("reversal") or {}).get("per_video")
    if rev:
        parts.append("<h2>Reversed videos</h2>" + table(
            ("video", "class", "forward", "reversed", "top concepts forward", "reversed"),
            [(esc(v["video_id"]), esc(v["label"]), esc(v["forward"]), esc(v["reversed"]),
              esc(", ".join(v["forward_top"])), esc(", ".join(v["reversed_top"])))
             for v in rev]))
    return page("Checks", "\n".join(parts))
