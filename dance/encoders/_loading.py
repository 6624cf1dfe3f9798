"""Resolve a hub id or a local model directory, load it without unpickling, fail clearly."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from dance import storage
from dance.errors import DanceError

T = TypeVar("T")

# A hub id is "name" or "owner/name"; anything else (absolute, "./x", "a/b/c") is a path.
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?$")
_EXPECTED = "config.json and model.safetensors (or model.safetensors.index.json + shards)"
PREPROCESSOR_FILES = ("preprocessor_config.json", "video_preprocessor_config.json")
# Weights in pickle-based formats: never loaded, so never copied from S3 either.
PICKLED_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


class ModelLoadError(DanceError, OSError):
    """A model could not be loaded; the message names the path or hub id and the fix."""


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from: a checked local directory, or a hub id to try."""

    location: str
    is_local: bool


def _has_safetensors(directory: Path) -> bool:
    """True if the directory holds safetensors weights (single file or sharded)."""
    return any(directory.glob("*.safetensors")) or any(directory.glob("*.safetensors.index.json"))


def is_model_directory(name_or_path: str) -> bool:
    """True for a local directory or an s3:// prefix holding objects (else: a hub id or nothing)."""
    if storage.is_s3(name_or_path):
        return storage.exists(name_or_path)
    return Path(name_or_path).is_dir()


def local_model_path(name_or_path: str) -> str:
    """An s3:// model directory's local copy (safetensors and JSON, no pickles); others as given."""
    if not storage.is_s3(name_or_path):
        return name_or_path
    try:
        return storage.local_copy(name_or_path, exclude_suffixes=PICKLED_WEIGHT_SUFFIXES)
    except storage.StorageError as error:
        raise ModelLoadError(
            f"could not copy the model {name_or_path!r} from S3: {error}. Pass the s3:// "
            f"prefix a save_pretrained directory was uploaded to (holding {_EXPECTED})"
        ) from error


def resolve_model_source(name_or_path: str) -> ModelSource:
    """Check a local (or s3://, copied) model directory, or accept a hub id; else ModelLoadError."""
    if not isinstance(name_or_path, str) or not name_or_path.strip():
        raise ModelLoadError(
            f"model name_or_path must be a non-empty string, got {name_or_path!r}; pass a hub "
            "id such as 'MCG-NJU/videomae-base' or a directory written by save_pretrained"
        )
    if storage.is_s3(name_or_path):
        copied = local_model_path(name_or_path)
        _check_model_directory(Path(copied), shown=name_or_path)
        return ModelSource(location=copied, is_local=True)
    path = Path(name_or_path).expanduser()
    if path.exists():
        _check_model_directory(path, shown=str(path))
        return ModelSource(location=str(path), is_local=True)
    if not _HUB_ID.match(name_or_path):
        raise ModelLoadError(
            f"model directory {name_or_path!r} does not exist; pass an existing directory "
            f"holding {_EXPECTED}, or a hub id such as 'owner/name'"
        )
    return ModelSource(location=name_or_path, is_local=False)


def _check_model_directory(path: Path, shown: str) -> None:
    """ModelLoadError naming `shown` unless `path` is a directory with a config and safetensors."""
    if not path.is_dir():
        raise ModelLoadError(
            f"model path {shown!r} is a file, not a model directory; pass the directory "
            f"written by save_pretrained, holding {_EXPECTED}"
        )
    missing = []
    if not (path / "config.json").is_file():
        missing.append("config.json")
    if not _has_safetensors(path):
        missing.append("*.safetensors weights")
    if missing:
        present = sorted(p.name for p in path.iterdir())[:10]
        raise ModelLoadError(
            f"{shown!r} is not a model directory: missing {', '.join(missing)} "
            f"(found {present}); expected {_EXPECTED}, as written by save_pretrained "
            "(weights saved as .bin are refused: they would be unpickled)"
        )


def load_pretrained(
    loader: Callable[..., T], source: ModelSource, weights: bool = True, **kwargs: Any
) -> T:
    """Call a transformers `from_pretrained` (weights: safetensors only); explain hub failures."""
    if weights:
        kwargs["use_safetensors"] = True
    try:
        return loader(source.location, **kwargs)
    except OSError as error:
        if source.is_local:
            raise ModelLoadError(
                f"could not load the model in {source.location!r}: {error}"
            ) from error
        raise ModelLoadError(
            f"could not load {source.location!r} from the Hugging Face Hub (offline, no such "
            f"model, or no safetensors weights), and no local directory of that name exists: "
            f"{str(error).rstrip('. ')}. On a machine without network access pass a local directory written by "
            f"save_pretrained (holding {_EXPECTED}) instead of the hub id."
        ) from error


def read_json_file(source: ModelSource, filenames: tuple[str, ...]) -> dict | None:
    """The first of `filenames` present beside the model, parsed; None if none is there."""
    for filename in filenames:
        if source.is_local:
            candidate: str | None = str(Path(source.location) / filename)
            if not Path(candidate).is_file():
                candidate = None
        else:
            from transformers.utils import cached_file

            candidate = cached_file(
                source.location,
                filename,
                _raise_exceptions_for_missing_entries=False,
                _raise_exceptions_for_connection_errors=False,
            )
        if candidate is not None:
            with open(candidate, encoding="utf-8") as handle:
                loaded = json.load(handle)
            if not isinstance(loaded, dict):
                raise ModelLoadError(
                    f"{filename} of {source.location!r} must hold a JSON object, got "
                    f"{type(loaded).__name__}; rewrite it with save_pretrained"
                )
            return loaded
    return None


def check_complete(model_name: str, source: ModelSource, missing_keys: list[str]) -> None:
    """Refuse a checkpoint that left weights randomly initialised (a frozen encoder must be real)."""
    if missing_keys:
        shown = ", ".join(sorted(missing_keys)[:8])
        raise ModelLoadError(
            f"the checkpoint {source.location!r} has no weights for {len(missing_keys)} "
            f"parameters of {model_name} ({shown}{', ...' if len(missing_keys) > 8 else ''}); "
            "they would be random. Pass a checkpoint of that architecture (for VideoMAE, a "
            "VideoMAEModel or VideoMAEForVideoClassification checkpoint)"
        )


def check_frame_size(name_or_path: str, output_size: tuple[int, int], image_size: int) -> None:
    """Refuse a preprocessor config whose frames are not the model's square input size."""
    if output_size != (image_size, image_size):
        raise ModelLoadError(
            f"the preprocessor config of {name_or_path!r} produces frames of "
            f"{output_size}, but the model expects {image_size}x{image_size}; "
            "fix crop_size in preprocessor_config.json"
        )
