"""Concept text hygiene: a concept must be readable text with at least one letter.

Concept names are data. They are cleaned as plain text (HTML-like tags and invisible
control characters removed, whitespace collapsed) and never interpreted: a tag is only
cut out, never rendered, and nothing is evaluated. A concept left without a letter is
dropped with the rule that describes it:

- ``blank``: nothing but whitespace (or invisible characters);
- ``markup_only``: nothing with a letter once its tags are removed ("<b></b>", "<br/>");
- ``no_letters``: punctuation, symbols, digits or emoji only ("$", "...", "🎾").
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

HygieneRule = Literal["blank", "markup_only", "no_letters"]
HYGIENE_RULES: tuple[HygieneRule, ...] = ("blank", "markup_only", "no_letters")

# An opening, closing or self-closing tag: "<b>", "</b>", "<br/>", '<span class="x">'.
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")


def _visible(text: str) -> str:
    """`text` with control characters as spaces and format characters (zero-width) removed."""
    out = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cc":
            out.append(" ")  # tabs, newlines, NULs: a separator at most
        elif category != "Cf":  # zero-width spaces, joiners, direction overrides
            out.append(char)
    return "".join(out)


def has_letter(text: str) -> bool:
    """True when `text` holds a letter of any script (Unicode category L*)."""
    return any(unicodedata.category(char).startswith("L") for char in text)


def clean_concept_text(concept: str) -> tuple[str, HygieneRule | None]:
    """(the concept as clean text, None), or ("", the hygiene rule that drops it)."""
    visible = _visible(concept)
    if not visible.strip():
        return "", "blank"
    untagged = _TAG.sub(" ", visible)
    clean = " ".join(untagged.split())
    if has_letter(clean):
        return clean, None
    return "", "markup_only" if untagged != visible else "no_letters"
