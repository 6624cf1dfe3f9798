"""The report's HTML building blocks: every data string goes through `esc`, nothing else.

Class names, concept names (an LLM wrote them) and video ids are data: they reach a
page only as escaped text or attribute values, never as markup, and never as a file
name (`video_file` and `class_file` name pages by index or hash).
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterable, Sequence

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fafaf8}
header{background:#23324a;color:#fff;padding:10px 24px}
header a{color:#cfe0ff;margin-right:16px}
main{padding:16px 24px;max-width:1200px}
h1{font-size:22px;margin:8px 0 12px}h2{font-size:17px;margin:22px 0 8px}
table{border-collapse:collapse;margin:6px 0 14px}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;color:#fff}
.motion{background:#7b4fb0}.object{background:#2f6fc2}.scene{background:#2e8b57}
.feature{background:#777}.ok{color:#1d7a35}.wrong{color:#b3261e}
.confusion td{min-width:22px;text-align:center;padding:2px 4px}
.confusion td.diag{background:#e5f3e8}.confusion td.off{background:#fbeaea}
img.animation{width:120px;height:120px;border:1px solid #ccc;background:#fff}
img.strip{max-width:100%;border:1px solid #ccc}
.gallery{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #ddd;background:#fff;padding:8px;width:260px}
.muted{color:#777}
"""


def esc(value: object) -> str:
    """Text (or an attribute value) for HTML: `<`, `>`, `&` and both quotes escaped."""
    return html.escape(str(value), quote=True)


def video_file(video_id: str) -> str:
    """The page file name of a video: a hash, so no id can name a path."""
    return f"v-{hashlib.sha256(video_id.encode()).hexdigest()[:24]}.html"


def class_file(index: int) -> str:
    """The page file name of class `index`."""
    return f"c{int(index):04d}.html"


def page(title: str, body: str, depth: int = 0, nav: bool = True) -> str:
    """A whole page: escaped title, the shared style, a navigation bar, the body.

    `depth`: folders between the page and the site root; `nav`: the report's navigation
    bar (off for a site with only an index, as `dance predict --html` writes).
    """
    up = "../" * depth
    links = (("index.html", "Summary"), ("concepts.html", "Concepts"),
             ("sankey.html", "Weights (Sankey)"), ("checks.html", "Checks"))
    nav = "".join(f'<a href="{up}{target}">{label}</a>'
                  for target, label in (links if nav else links[:1]))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{esc(title)}</title><link rel=\"stylesheet\" href=\"{up}assets/style.css\">"
        f"</head><body><header>{nav}</header><main>\n{body}\n</main></body></html>\n"
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], css: str = "") -> str:
    """A table; `headers` are escaped, cells are HTML the caller built (escape data first)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    cls = f' class="{css}"' if css else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(content: str) -> str:
    """A cell; numbers right-aligned."""
    numeric = content.lstrip("+-").replace(".", "", 1).removesuffix("%").isdigit()
    return f'<td class="num">{content}</td>' if numeric else f"<td>{content}</td>"


def type_badge(kind: str) -> str:
    """A coloured badge naming a concept type."""
    known = kind if kind in ("motion", "object", "scene") else "feature"
    return f'<span class="badge {known}">{esc(kind)}</span>'


def percent(value: float | None) -> str:
    """0.6125 -> '61.3%' ('-' for None)."""
    return "-" if value is None else f"{100 * value:.1f}%"
