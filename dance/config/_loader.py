"""Load a DanceConfig from a preset or YAML file, apply `a.b=c` overrides, explain errors."""

from __future__ import annotations

import copy
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from dance.config._moved_keys import moved_key_message
from dance.errors import DanceError

PRESETS_DIR = Path(__file__).resolve().parent.parent / "configs"


class ConfigError(DanceError, ValueError):
    """A config that cannot be used; the message names the key and what is allowed."""


def list_presets() -> list[str]:
    """Names of the presets shipped inside the package (dance/configs/*.yaml)."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def resolve_source(source: str | Path) -> Path:
    """Map a preset name or a YAML path to the file it names."""
    path = Path(source)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        if not path.is_file():
            raise ConfigError(f"config file '{source}' does not exist; presets: {list_presets()}")
        return path
    preset = PRESETS_DIR / f"{source}.yaml"
    if not preset.is_file():
        raise ConfigError(
            f"no preset or config file named '{source}'; presets: {', '.join(list_presets())} "
            "(or give a path to a YAML file)"
        )
    return preset


def load_raw(source: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a YAML config as a dict, merging it over its `base:` preset/file if it names one."""
    path = resolve_source(source).resolve()
    if path in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, path))
        raise ConfigError(f"config 'base:' chain loops: {chain}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"config file '{path}' is not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file '{path}' must hold a mapping of keys, got {type(data).__name__}"
        )
    base = data.pop("base", None)
    if base is None:
        return data
    base_source = base if not str(base).endswith((".yaml", ".yml")) else path.parent / base
    return deep_merge(load_raw(base_source, (*_seen, path)), data)


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `update` into a copy of `base`, recursing into nested mappings."""
    merged = copy.deepcopy(dict(base))
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def apply_override(raw: dict[str, Any], override: str) -> None:
    """Apply one `a.b.c=value` override in place; the value is parsed as a YAML scalar."""
    key, sep, text = override.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(
            f"override '{override}' must look like 'section.key=value', e.g. train.lam=7e-4"
        )
    value = yaml.safe_load(text) if text.strip() else None
    node = raw
    parts = key.split(".")
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            prefix = ".".join(parts[: depth + 1])
            raise ConfigError(f"override '{override}': '{prefix}' is a value, not a section")
        node = child
    node[parts[-1]] = value


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as `Model` or `Model | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            model = _model_of(arg)
            if model is not None:
                return model
    return None


def allowed_keys(model: type[BaseModel], path: Sequence[str | int]) -> list[str]:
    """Field names allowed at `path` inside `model` (empty when the path is not a section)."""
    current: type[BaseModel] | None = model
    for part in path:
        field = current.model_fields.get(str(part)) if current else None
        current = _model_of(field.annotation) if field else None
        if current is None:
            return []
    return sorted(current.model_fields)


def explain_validation_error(
    model: type[BaseModel], err: ValidationError, origin: str
) -> ConfigError:
    """Turn pydantic's error into one that names each bad key path and what is allowed."""
    lines = []
    for item in err.errors():
        loc = [p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        moved = moved_key_message(dotted) if item["type"] == "extra_forbidden" else None
        if moved is not None:
            lines.append(moved)
        elif item["type"] == "extra_forbidden":
            where = ".".join(str(p) for p in loc[:-1])
            keys = ", ".join(allowed_keys(model, loc[:-1]))
            scope = f"under '{where}'" if where else "at the top level"
            lines.append(f"unknown key '{dotted}' (allowed {scope}: {keys})")
        else:
            got = item.get("input")
            shown = "" if isinstance(got, dict) else f" (got {got!r})"
            lines.append(f"{dotted}: {item['msg']}{shown}")
    return ConfigError(f"invalid config {origin}:\n  " + "\n  ".join(lines))
