"""What `dance predict` shows: a text block per video, one JSON document, or HTML pages.

Every string that comes from data (video names, URIs, class and concept names, error
texts) is HTML-escaped, and page file names are a hash of the video id, never the id:
ids may hold '/', '..' or markup.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from dance import storage
from dance.report import STYLE, esc, page, percent, video_file, video_page
from dance.train import DanceModel

if TYPE_CHECKING:
    from ray_jobs.predict import VideoPrediction

Echo = Callable[[str], None]

def concept_line(part: Any) -> str:
    """`type  shown_name  activation x weight = contribution` of one concept."""
    return (f"{part.type}  {part.shown_name}  {part.activation:.3f} x {part.weight:.3f} = "
            f"{part.contribution:.3f}")


def text_block(result: VideoPrediction) -> str:
    """The human-readable lines of one predicted video."""
    lines = [f"video: {result.video}", f"class: {result.class_name}",
             f"confidence: {result.confidence:.3f}"]
    if result.top:
        lines.append(f"top {len(result.top)} concepts (activation x weight = contribution):")
        lines += [f"  {concept_line(part)}" for part in result.top]
    return "\n".join(lines)


def emit_predictions(
    results: Sequence[VideoPrediction], as_json: bool, html_dir: str | None, out: Echo, err: Echo,
    model_dir: str | None = None,
) -> int:
    """Print the results (text blocks, or one JSON document), write HTML pages; exit code.

    A failed video is one line on `err` naming the file and the reason; the exit code is 1
    when any video failed, else 0.
    """
    for result in results:
        if result.status != "ok":
            err(f"failed: {result.video} ({result.uri}): {result.error}")
    if as_json:
        out(json.dumps([r.to_json() for r in results], indent=2, allow_nan=False))
    else:
        out("\n\n".join(text_block(r) for r in results if r.status == "ok"))
    if html_dir is not None:
        if model_dir is None:
            raise ValueError("HTML pages need the model bundle's directory (model_dir)")
        pages = write_html_pages(results, DanceModel.from_pretrained(model_dir), html_dir)
        err(f"{len(pages)} HTML page(s) written to {html_dir} (index.html lists them)")
    return 1 if any(r.status != "ok" for r in results) else 0


def write_html_pages(
    results: Sequence[VideoPrediction], model: DanceModel, out_dir: str
) -> dict[str, str]:
    """The report's page of each predicted video, and an index, under `out_dir`.

    The same pages as `dance report` (dance.report.video_page): out_dir/index.html,
    out_dir/videos/v-<hash of the video id>.html, out_dir/assets/style.css; local or s3://.
    Returns video -> page.
    """
    pages: dict[str, str] = {}
    links = []
    for result in results:
        if result.status != "ok":
            links.append(f"<li>{esc(result.video)}: <span class=\"wrong\">failed</span> "
                         f"({esc(result.error or '')})</li>")
            continue
        name = f"videos/{video_file(result.video)}"
        if result.explanation is not None:
            html = video_page(result.explanation, result.confidence or 0.0, model, result.flips)
        else:  # a linear probe has no concepts to show
            html = page(result.video, f"<h1>Video <code>{esc(result.video)}</code></h1><p>"
                        f"Predicted: <strong>{esc(result.class_name)}</strong> ("
                        f"{percent(result.confidence)} confidence).</p>", depth=1, nav=False)
        pages[result.video] = storage.join(out_dir, name)
        storage.write_bytes(pages[result.video], html.encode("utf-8"))
        links.append(f'<li><a href="{name}">{esc(result.video)}</a>: '
                     f"{esc(result.class_name)} ({percent(result.confidence)})</li>")
    index = page("dance predict", f"<h1>dance predict</h1><ul>{''.join(links)}</ul>", nav=False)
    storage.write_bytes(storage.join(out_dir, "assets", "style.css"), STYLE.encode())
    storage.write_bytes(storage.join(out_dir, "index.html"), index.encode("utf-8"))
    return pages
