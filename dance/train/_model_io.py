"""The model bundle on disk: a safetensors file of tensors and a JSON file that vouches for it.

    <directory>/model.safetensors   every tensor, by fixed name (concepts.motion.weight, ...)
    <directory>/dance_model.json    format and version, the name, shape and dtype of every
                                    tensor, the sha256 of model.safetensors, and the data:
                                    concept and class names, config, records, metrics

Writing: the tensors go first, then the JSON, each atomically through dance.storage (local
paths and s3:// alike). The JSON is the commit: it names the exact bytes it belongs to by
their sha256, so a reader never pairs a JSON with tensors from another save, and a save
killed between the two files leaves a bundle that fails loudly instead of loading wrongly.

Reading never unpickles: the JSON is parsed as data (names stay strings, nothing is
evaluated) and the tensors are parsed by safetensors, whose format is a JSON header plus
raw little-endian buffers. Each way a bundle can be broken (missing directory or file,
malformed JSON, unknown format version, truncated or corrupt tensors, a named tensor that
is missing, a wrong shape) raises a BundleError naming the file and the fix.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

import dance
from dance import storage
from dance.errors import InputError

BUNDLE_FORMAT = "dance.model"
BUNDLE_FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
INDEX_FILE = "dance_model.json"

CONCEPT_TYPES = ("motion", "object", "scene")  # column order, and concepts.<type>.weight
FEATURE_TYPE = "feature"  # the single "concept" type of a linear probe
MODEL_KINDS = ("dance", "cbm", "linear_probe")

_RESAVE = "save the model again with DanceModel.save_pretrained"


class BundleError(InputError):
    """A model bundle cannot be loaded as given; the message names the file and the fix."""


def _dtype_name(dtype: torch.dtype) -> str:
    """'float32' for torch.float32: the name the JSON records."""
    return str(dtype).removeprefix("torch.")


def write_bundle(
    directory: str, tensors: Mapping[str, torch.Tensor], fields: dict[str, Any]
) -> None:
    """Write the tensors, then the JSON (fields plus format, tensor specs and sha256)."""
    reserved = {"format", "format_version", "tensors", "weights_sha256"} & set(fields)
    if reserved:
        raise ValueError(f"bundle fields {sorted(reserved)} are written by write_bundle itself")
    payload = {name: tensor.detach().cpu().contiguous() for name, tensor in tensors.items()}
    data = save_safetensors(
        payload, metadata={"format": BUNDLE_FORMAT, "format_version": str(BUNDLE_FORMAT_VERSION)}
    )
    document = {
        **fields,
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_FORMAT_VERSION,
        "dance_version": dance.__version__,
        "tensors": {
            name: {"shape": list(tensor.shape), "dtype": _dtype_name(tensor.dtype)}
            for name, tensor in payload.items()
        },
        "weights_sha256": hashlib.sha256(data).hexdigest(),
    }
    storage.makedirs(directory)
    storage.write_bytes(storage.join(directory, WEIGHTS_FILE), data)
    storage.write_json(document, storage.join(directory, INDEX_FILE))


def read_bundle(directory: str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The checked JSON document and the tensors it names, read without unpickling."""
    if not storage.exists(directory):
        raise BundleError(
            f"model bundle {directory} does not exist; pass the directory that "
            f"DanceModel.save_pretrained wrote (it holds {INDEX_FILE} and {WEIGHTS_FILE})"
        )
    index_uri = storage.join(directory, INDEX_FILE)
    weights_uri = storage.join(directory, WEIGHTS_FILE)
    document = _parse_index(_read_file(index_uri), index_uri)
    data = _read_file(weights_uri)
    if hashlib.sha256(data).hexdigest() != document["weights_sha256"]:
        raise BundleError(
            f"{weights_uri} does not match the sha256 that {index_uri} records: the file is "
            f"truncated, corrupt or from another save; copy the whole bundle again or {_RESAVE}"
        )
    try:
        tensors = load_safetensors(data)
    except SafetensorError as exc:
        raise BundleError(
            f"{weights_uri} is not a readable safetensors file ({exc}); copy the whole bundle "
            f"again or {_RESAVE}"
        ) from exc
    _check_tensors(document["tensors"], tensors, index_uri, weights_uri)
    return document, tensors


def model_arguments(
    document: dict[str, Any], tensors: dict[str, torch.Tensor], uri: str
) -> dict[str, Any]:
    """DanceModel's constructor arguments from a checked bundle, or a BundleError for `uri`."""
    kind, concepts = document.get("kind"), document.get("concepts")
    if kind not in MODEL_KINDS:
        raise malformed(uri, f"kind is {kind!r}, not one of {MODEL_KINDS}")
    if not isinstance(concepts, dict) or not all(
        isinstance(entry, dict) and isinstance(entry.get("names"), list)
        for entry in concepts.values()
    ):
        raise malformed(uri, 'concepts must map each type to {"names": [...], "source": ...}')
    if not isinstance(document.get("class_names"), list):
        raise malformed(uri, "class_names must be a list of strings")
    if not isinstance(document.get("metadata"), dict):
        raise malformed(uri, "metadata must be a JSON object")
    layer_types = [] if kind == "linear_probe" else [t for t in CONCEPT_TYPES if t in concepts]
    needed = [f"concepts.{t}.weight" for t in layer_types]
    needed += ["standardize.mean", "standardize.std", "final.weight", "final.bias"]
    if set(tensors) != set(needed):
        raise malformed(
            uri,
            f"a {kind!r} model with concepts {sorted(concepts)} has tensors {needed}, "
            f"but it names {sorted(tensors)}",
        )
    return {
        "kind": kind,
        "concept_weights": {t: tensors[f"concepts.{t}.weight"] for t in layer_types},
        "mean": tensors["standardize.mean"],
        "std": tensors["standardize.std"],
        "final_weight": tensors["final.weight"],
        "final_bias": tensors["final.bias"],
        "concept_names": {t: entry["names"] for t, entry in concepts.items()},
        "class_names": document["class_names"],
        "concept_sources": {
            t: entry["source"] for t, entry in concepts.items() if entry.get("source") is not None
        },
        "metadata": document["metadata"],
    }


def _read_file(uri: str) -> bytes:
    """The bytes at `uri`; a missing file is a BundleError naming it."""
    try:
        return storage.read_bytes(uri)
    except storage.ObjectNotFoundError as exc:
        raise BundleError(
            f"model bundle file {uri} is missing; copy the whole bundle directory "
            f"({INDEX_FILE} and {WEIGHTS_FILE} together) or {_RESAVE}"
        ) from exc


def _parse_index(data: bytes, uri: str) -> dict[str, Any]:
    """Parse dance_model.json and check its format, version and the fields every bundle has."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(
            f"{uri} is not valid UTF-8 JSON ({exc}); restore the file from the original "
            f"bundle or {_RESAVE}"
        ) from exc
    if not isinstance(document, dict) or document.get("format") != BUNDLE_FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise BundleError(
            f"{uri} is not a dance model bundle (format {found!r}, expected "
            f"{BUNDLE_FORMAT!r}); pass a directory written by DanceModel.save_pretrained"
        )
    version = document.get("format_version")
    if version != BUNDLE_FORMAT_VERSION or isinstance(version, bool):
        advice = (
            "it was written by a newer dance; upgrade dance to load it"
            if isinstance(version, int) and not isinstance(version, bool) and version > 1
            else f"{_RESAVE}"
        )
        raise BundleError(
            f"{uri} has format version {version!r}; this dance ({dance.__version__}) reads "
            f"version {BUNDLE_FORMAT_VERSION} only: {advice}"
        )
    for key, kind in (("weights_sha256", str), ("tensors", dict)):
        if not isinstance(document.get(key), kind):
            raise malformed(uri, f"field {key!r} must be a JSON {_json_kind(kind)}")
    for name, spec in document["tensors"].items():
        shape = spec.get("shape") if isinstance(spec, dict) else None
        if (
            not isinstance(shape, list)
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
            or not isinstance(spec.get("dtype"), str)
        ):
            raise malformed(
                uri, f'tensor {name!r} must be described as {{"shape": [ints], "dtype": "..."}}'
            )
    return document


def _check_tensors(
    specs: dict[str, Any], tensors: dict[str, torch.Tensor], index_uri: str, weights_uri: str
) -> None:
    """Every tensor the JSON names is present with its shape and dtype, and no other."""
    for name, spec in specs.items():
        if name not in tensors:
            raise BundleError(
                f"{index_uri} names tensor {name!r}, which {weights_uri} does not hold; the two "
                f"files are from different saves: copy the whole bundle again or {_RESAVE}"
            )
        tensor = tensors[name]
        if list(tensor.shape) != spec["shape"] or _dtype_name(tensor.dtype) != spec["dtype"]:
            raise BundleError(
                f"tensor {name!r} in {weights_uri} is {_dtype_name(tensor.dtype)} "
                f"{list(tensor.shape)} but {index_uri} expects {spec['dtype']} {spec['shape']}; "
                f"the two files are from different saves: copy the whole bundle again or {_RESAVE}"
            )
    extra = sorted(set(tensors) - set(specs))
    if extra:
        raise BundleError(
            f"{weights_uri} holds tensors {extra} that {index_uri} does not name; the two files "
            f"are from different saves: copy the whole bundle again or {_RESAVE}"
        )


def malformed(uri: str, problem: str) -> BundleError:
    """The error for a dance_model.json whose content does not have the bundle's layout."""
    return BundleError(f"{uri} is malformed: {problem}; restore the file or {_RESAVE}")


def _json_kind(kind: type) -> str:
    """'object' for dict, 'string' for str, ...: JSON's names for Python types."""
    return {dict: "object", str: "string", list: "array"}.get(kind, kind.__name__)
