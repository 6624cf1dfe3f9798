"""The configuration reference: every section and key of DanceConfig rendered as Markdown.

    text = render_reference()      # what `dance config reference` prints

Names, types, defaults and descriptions come from the pydantic models themselves, so the
page (docs/configuration.md) cannot drift from the code without a test noticing. Section
defaults are the values a field's own default holds (pose.resources' batch size 32 is not
StageResources' 8), so every default shown is what an empty config gets.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

REGENERATE = "dance config reference --output docs/configuration.md"

_INTRO = f"""\
# Configuration reference

Generated from the config models in `dance/config/` by
`{REGENERATE}`; do not edit it by hand:
`tests/test_config_reference.py` fails when it is out of date.

A config is YAML. It may start from a preset or another file (`base: ucf101`) and set
only what differs; a command adds `--set key.path=value` overrides (the value is read as
YAML). Every key below is written as its full path, the form `--set` takes. An unknown
key or a value outside its range is refused before any work, naming the key. The
defaults are those of a config that sets nothing; the presets (`dance config list`)
change many of them: `dance config show PRESET` prints a preset fully resolved, and
`dance config validate FILE` checks a file of your own.
"""


@dataclass(frozen=True)
class _Section:
    """One table of the page: a model reached at `path`, with the defaults it holds there."""

    path: str
    model: type[BaseModel]
    defaults: BaseModel | None
    note: str


def _section_model(annotation: Any) -> type[BaseModel] | None:
    """The config model a field holds (also inside `Model | None`), else None."""
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _first_paragraph(text: str | None) -> str:
    """A docstring's first paragraph on one line."""
    paragraph = inspect.cleandoc(text or "").split("\n\n")[0]
    return " ".join(paragraph.split())


def _field_default(field: FieldInfo) -> Any:
    """The field's class-level default (a factory is called), PydanticUndefined if required."""
    if field.default_factory is not None:
        return field.default_factory()  # type: ignore[call-arg]
    return field.default


def _sections(
    model: type[BaseModel], path: str, defaults: BaseModel | None, note: str
) -> Iterator[_Section]:
    """This section and, depth first, every section nested in it."""
    yield _Section(path, model, defaults, note)
    for name, field in model.model_fields.items():
        nested = _section_model(field.annotation)
        if nested is None:
            continue
        value = getattr(defaults, name) if defaults is not None else _field_default(field)
        nested_defaults = value if isinstance(value, BaseModel) else None
        child_note = field.description or ""
        if value is None:
            child_note += (
                "; " if child_note else ""
            ) + "optional: null unless set, and then the defaults below fill what is left out"
        child = f"{path}.{name}" if path else name
        yield from _sections(nested, child, nested_defaults, child_note)


def _constraints(field: FieldInfo) -> str:
    """The field's bounds and patterns, e.g. ">= 0, <= 1"."""
    parts = []
    for item in field.metadata:
        for attr, symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if getattr(item, attr, None) is not None:
                parts.append(f"{symbol} {getattr(item, attr)}")
        if getattr(item, "min_length", None) is not None:
            parts.append(f"at least {item.min_length} long")
        if getattr(item, "pattern", None) is not None:
            parts.append(f"matches `{item.pattern}`")
    return ", ".join(parts)


def _type_name(annotation: Any) -> str:
    """A short, readable name of a field's type."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is type(None):
        return "null"
    if origin is typing.Literal:
        return "one of " + ", ".join(json.dumps(arg) for arg in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(arg) for arg in args)
    if origin in (list, tuple, dict):
        inner = ", ".join(_type_name(arg) for arg in args if arg is not Ellipsis)
        return f"{origin.__name__}[{inner}]"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    return getattr(annotation, "__name__", str(annotation))


def _default_text(field: FieldInfo, value: Any) -> str:
    """The default as YAML would read it, or what it is computed from."""
    if value is PydanticUndefined:
        if field.default_factory is not None:
            return f"computed: {_first_paragraph(field.default_factory.__doc__)}"
        return "required"
    if isinstance(value, BaseModel):
        return "(section)"
    if isinstance(value, tuple):
        value = list(value)
    return f"`{json.dumps(value)}`"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return _escape_html(" ".join(text.split()).replace("|", "\\|"))


def _escape_html(text: str) -> str:
    """A `<` that could open an HTML tag, outside code spans, as `&lt;` (`<workdir>` stays text)."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # even parts lie outside code spans
        parts[i] = re.sub(r"<(?=[A-Za-z/!?])", "&lt;", parts[i])
    return "`".join(parts)


def _anchor(path: str) -> str:
    """GitHub's anchor of a `### path` heading (dots dropped)."""
    return path.replace(".", "").lower()


def _render_section(section: _Section, seen: set[type[BaseModel]]) -> list[str]:
    """A heading, what the section is (its class docstring, the first time it appears), and
    one row per key."""
    lines = [f"{'##' if '.' not in section.path else '###'} {section.path or 'top level'}", ""]
    about = [section.note] if section.note else []
    if section.model not in seen:
        seen.add(section.model)
        about.insert(0, _first_paragraph(section.model.__doc__))
    if about:
        sentences = " ".join(f"{text[0].upper()}{text[1:].rstrip('.')}." for text in about)
        lines += [_escape_html(sentences), ""]
    lines += ["| key | type | default | description |", "|---|---|---|---|"]
    for name, field in section.model.model_fields.items():
        key = f"{section.path}.{name}" if section.path else name
        if section.defaults is not None:
            value = getattr(section.defaults, name)
        elif field.default_factory is not None and field.default_factory.__name__ != "<lambda>":
            value = PydanticUndefined  # computed where it runs: say how, not this machine's value
        else:
            value = _field_default(field)
        kind = _type_name(field.annotation)
        if _constraints(field):
            kind += f" ({_constraints(field)})"
        description = field.description or ""
        if _section_model(field.annotation) is not None:
            link = f"see [{key}](#{_anchor(key)})"
            description = f"{description}; {link}" if description else link
        lines.append(
            f"| `{key}` | {_cell(kind)} | {_cell(_default_text(field, value))} | "
            f"{_cell(description)} |"
        )
    return [*lines, ""]


def render_reference() -> str:
    """The Markdown page: an introduction, then one table per config section."""
    from dance.config import DanceConfig

    lines = [_INTRO]
    seen: set[type[BaseModel]] = set()
    for section in _sections(DanceConfig, "", None, ""):
        lines += _render_section(section, seen)
    return "\n".join(lines).rstrip("\n") + "\n"
