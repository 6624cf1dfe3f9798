"""LLM answers -> concept items, by plain text rules (nothing is evaluated).

- A line starting with a bullet ("-", "•", "* ", "–", "—", "+") or a number ("1.",
  "1)") is one item; a description after the name ("cup: used to drink", "cup - for
  water") is cut off, keeping the name; an item ending in ":" is a heading, dropped.
- When an answer has such list lines, its other lines are prose ("Here are some
  objects:", "I hope this helps.") and are dropped.
- Without list lines, each line is a comma (or semicolon) list; text before a colon is
  an introduction and is dropped, and so is a line that reads like a sentence.
- Markdown emphasis, quotes, a leading "and"/"or" and trailing punctuation are removed.
- An item of punctuation alone ("---", "...") is layout and dropped here; any other item
  goes on, so the filters can drop one without a letter ("$", "<b></b>", an emoji) and
  report it (dance/concepts/_concept_hygiene.py).
"""

from __future__ import annotations

import re
import unicodedata

# "*" needs a space after it so a bold line ("**Objects:**") is not read as a bullet.
_LIST_MARKER = re.compile(r"^(?:[-•–—+]\s*|\*\s+|\(?\d{1,3}[.)](?!\d)\s*)")
_DESCRIPTION = re.compile(r"\s*(?::|\s[-–—]\s)")
_CONJUNCTION = re.compile(r"^(?:and|or)\s+", re.IGNORECASE)
_EMPHASIS = re.compile(r"\*\*|__|`")
_EDGE_PUNCTUATION = " \t\"'“”‘’.,;:!?*_[]{}"
_SENTENCE_END = (".", "!", "?")
_SENTENCE_MIN_WORDS = 4


def _clean(item: str) -> str:
    """An item without emphasis, quotes, a leading conjunction or edge punctuation."""
    item = _EMPHASIS.sub("", item)
    item = item.strip(_EDGE_PUNCTUATION)
    item = _CONJUNCTION.sub("", item)
    return " ".join(item.split()).strip(_EDGE_PUNCTUATION)


def _list_item(body: str) -> str:
    """The name of a bullet or numbered item, without any description after it."""
    body = _EMPHASIS.sub("", body).strip()
    if body.endswith(":"):
        return ""  # a heading over nested items ("1. Sports equipment:")
    head = _DESCRIPTION.split(body, maxsplit=1)[0]
    return _clean(head if head.strip() else body)


def _is_sentence(line: str) -> bool:
    """True for a line without commas that reads like prose ('I hope this helps.')."""
    words = line.split()
    return (
        "," not in line
        and ";" not in line
        and line.rstrip().endswith(_SENTENCE_END)
        and len(words) >= _SENTENCE_MIN_WORDS
    )


def _plain_line_items(line: str) -> list[str]:
    """Items of a line without a list marker: a comma/semicolon list after any intro."""
    if line.rstrip().endswith(":"):
        return []  # an introduction to what follows
    if ":" in line:
        line = line.split(":", 1)[1]  # "Objects: cup, glass" -> "cup, glass"
    elif _is_sentence(line):
        return []
    return [_clean(piece) for piece in re.split(r"[,;]", line)]


def _is_layout(item: str) -> bool:
    """True for an empty item or one of punctuation and spaces only (a Markdown rule)."""
    return all(ch.isspace() or unicodedata.category(ch).startswith("P") for ch in item)


def parse_answer(text: str) -> list[str]:
    """The concept items in one LLM answer, in order (an empty answer gives none)."""
    if not isinstance(text, str):
        raise TypeError(f"an LLM answer must be a string, got {type(text).__name__}")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    markers = [_LIST_MARKER.match(line) for line in lines]
    has_list = any(marker is not None for marker in markers)
    items: list[str] = []
    for line, marker in zip(lines, markers, strict=True):
        if marker is not None:
            items.append(_list_item(line[marker.end() :]))
        elif not has_list:
            items.extend(_plain_line_items(line))
    return [item for item in items if not _is_layout(item)]
