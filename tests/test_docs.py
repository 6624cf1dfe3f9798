"""The documentation lives in the repository: its links resolve and nothing points outside.

README.md and docs/*.md link files of the repository (and headings inside them); code
comments cite docs/ pages, and docs/method.md by section number. A user's clone has
nothing beside it, so no file may refer to the design notes that once lived outside.
Every `dance ...` command the user pages show exists with the options they give it, and
docs/outputs.md lists the columns the preprocess and concept tables are written with.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from dance.cli import app
from dance.concepts import LABELS_SCHEMA
from dance.preprocess import CLIPS_SCHEMA, VIDEOS_SCHEMA

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = REPO_ROOT / "docs"
MARKDOWN_PAGES = [REPO_ROOT / "README.md", *sorted(DOCS.glob("*.md"))]

# Everything a user's clone holds that may cite a path: code, configs, docs, build files.
SCANNED = ["README.md", "Makefile", "pyproject.toml", "docs", "dance", "actors", "ray_jobs",
           "cluster_config", "requirements", "tests", "benchmarks"]  # fmt: skip
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".txt", ".cfg", ".sh", ""}
# The test fixture that finds the optional sample media beside a development checkout,
# and this file, which names the patterns it forbids.
OUTSIDE_PATH_ALLOWED = {"tests/conftest.py", "tests/test_docs.py"}

# The pages a user reads for commands: their code spans and fenced blocks are checked.
USER_PAGES = [*MARKDOWN_PAGES, REPO_ROOT / "cluster_config" / "README.md"]
CODE_SPAN = re.compile(r"`([^`\n]+)`")
INVOCATION = re.compile(r"(?:^|[\s(`$])dance ([a-z][a-z-]*(?: [a-z][a-z-]*)?)([^`|\n]*)")
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z-]*)")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`[^`]*`")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
DOCS_CITATION = re.compile(r"\bdocs/([\w.-]+\.md)")
METHOD_SECTIONS = re.compile(r"docs/method\.md,? sections? (\d+(?:(?:, | and )\d+)*)")


def _prose_lines(path: Path) -> list[str]:
    """The lines of a Markdown file outside fenced code blocks."""
    lines, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: plain text, lower case, punctuation dropped, '-' for spaces."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "").replace("*", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, with GitHub's -1, -2 suffixes for repeats."""
    seen: dict[str, int] = {}
    anchors = set()
    for line in _prose_lines(path):
        match = HEADING.match(line)
        if not match:
            continue
        slug = _slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _section_titles() -> list[str]:
    """The '## ' headings of docs/method.md."""
    return [line[3:].strip() for line in _prose_lines(DOCS / "method.md") if line.startswith("## ")]


def _relative_links(path: Path) -> list[str]:
    """Targets of the Markdown links in a page's prose that point inside the repository."""
    targets = []
    for line in _prose_lines(path):
        for target in LINK.findall(INLINE_CODE.sub("", line)):
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                targets.append(target)
    return targets


def _scanned_files() -> list[Path]:
    """Text files of the scanned parts of the repository."""
    files = []
    for name in SCANNED:
        root = REPO_ROOT / name
        candidates = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in candidates:
            if path.is_file() and "__pycache__" not in path.parts and (
                path.suffix in TEXT_SUFFIXES or path.name in {"Makefile", "Dockerfile"}
            ):
                files.append(path)
    return files


def _relative(path: Path) -> str:
    """A path relative to the repository root, with forward slashes."""
    return path.relative_to(REPO_ROOT).as_posix()


def _lines_matching(pattern: re.Pattern[str], allowed: set[str]) -> list[str]:
    """'file:line: text' for every line of a scanned file (not in `allowed`) that matches."""
    hits = []
    for path in _scanned_files():
        if _relative(path) in allowed:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if pattern.search(line):
                hits.append(f"{_relative(path)}:{number}: {line.strip()}")
    return hits


@pytest.mark.parametrize("page", MARKDOWN_PAGES, ids=_relative)
def test_every_relative_link_of_a_page_resolves(page: Path) -> None:
    broken = []
    for target in _relative_links(page):
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        if not linked.exists():
            broken.append(f"{target}: no file {linked}")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading with anchor #{anchor} in {_relative(linked)}")
    assert not broken, f"{_relative(page)} has broken links:\n" + "\n".join(broken)


def test_slugs_follow_github() -> None:
    assert _slug("1. Keyframes and key clips") == "1-keyframes-and-key-clips"
    assert _slug("Token authentication (Ray 2.60)") == "token-authentication-ray-260"
    assert _slug("`dance/` is the library") == "dance-is-the-library"


def test_no_file_refers_to_the_folder_beside_the_clone() -> None:
    hits = _lines_matching(re.compile(r"\.\./shared|shared/design"), OUTSIDE_PATH_ALLOWED)
    assert not hits, (
        "these lines point outside the repository; cite docs/ instead (only the sample-media "
        "fixture in tests/conftest.py may):\n" + "\n".join(hits)
    )


def test_no_file_cites_the_design_notes_that_lived_outside() -> None:
    old_notes = re.compile(r"\b(DESIGN|REFERENCE|SYNTH|ENVIRONMENT)\.md\b")
    hits = _lines_matching(old_notes, {"tests/test_docs.py"})
    assert not hits, (
        "cite docs/design.md, docs/method.md, docs/synth.md or docs/environment.md instead:\n"
        + "\n".join(hits)
    )


def test_every_docs_page_cited_in_the_repository_exists() -> None:
    missing = []
    for path in _scanned_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for name in sorted(set(DOCS_CITATION.findall(text))):
            if not (DOCS / name).is_file():
                missing.append(f"{_relative(path)} cites docs/{name}")
    assert not missing, "cited pages missing from docs/:\n" + "\n".join(missing)


def test_every_method_section_cited_in_the_repository_exists() -> None:
    numbered = {
        int(match.group(1))
        for match in (re.match(r"(\d+)\. ", title) for title in _section_titles())
        if match
    }
    missing = []
    for path in _scanned_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for listing in METHOD_SECTIONS.findall(" ".join(text.split())):
            for number in re.findall(r"\d+", listing):
                if int(number) not in numbered:
                    missing.append(f"{_relative(path)} cites docs/method.md section {number}")
    assert not missing, (
        f"docs/method.md has sections {sorted(numbered)}; these citations name none:\n"
        + "\n".join(missing)
    )



def _code_texts(path: Path) -> list[str]:
    """The lines of a page's fenced code blocks and the text of its inline code spans."""
    texts, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif fenced:
            texts.append(line)
        else:
            texts += CODE_SPAN.findall(line)
    return texts


@pytest.mark.parametrize("page", USER_PAGES, ids=_relative)
def test_every_dance_command_shown_exists_with_its_options(page: Path) -> None:
    """`dance CMD [SUB] --opt ...` in code: CMD (and a group's SUB) exist and take --opt.

    Options after ` -- ` belong to the submitted job (`dance submit evaluate -- --table`)."""
    cli = typer.main.get_command(app)
    problems = []
    for text in _code_texts(page):
        for match in INVOCATION.finditer(text):
            words, rest = match.group(1).split(), match.group(2)
            command = cli.commands.get(words[0])  # type: ignore[attr-defined]
            if command is None:
                problems.append(f"`dance {words[0]}` is no command: {text}")
                continue
            if len(words) > 1 and hasattr(command, "commands"):
                command = command.commands.get(words[1])
                if command is None:
                    problems.append(f"`dance {match.group(1)}` is no command: {text}")
                    continue
            known = {opt for param in command.params for opt in param.opts + param.secondary_opts}
            unknown = set(OPTION.findall(rest.split(" -- ")[0])) - known
            if unknown:
                problems.append(f"`dance {match.group(1)}` has no {sorted(unknown)}: {text}")
    assert not problems, f"{_relative(page)}:\n" + "\n".join(problems)


def _documented_columns(heading: str) -> dict[str, str]:
    """{column: type} of the first table after the docs/outputs.md heading `heading`."""
    lines = _prose_lines(DOCS / "outputs.md")
    start = lines.index(heading)
    columns: dict[str, str] = {}
    for line in lines[start + 1 :]:
        if columns and not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) >= 2 and cells[0].startswith("`"):
            columns[cells[0].strip("`")] = cells[1]
    return columns


def _arrow_type(field: object) -> str:
    """An Arrow type as docs/outputs.md writes it: `list<float>`, not `list<item: float>`."""
    return re.sub(r"(item|element): ", "", str(field.type))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("heading", "schema"),
    [
        ("### `videos/part-*.parquet`", VIDEOS_SCHEMA),
        ("### `clips/part-*.parquet`", CLIPS_SCHEMA),
        ("### `concepts/labels.parquet`", LABELS_SCHEMA),
    ],
    ids=["videos", "clips", "labels"],
)
def test_outputs_page_lists_the_written_columns_and_types(heading: str, schema: object) -> None:
    written = {field.name: _arrow_type(field) for field in schema}  # type: ignore[attr-defined]
    assert _documented_columns(heading) == written
