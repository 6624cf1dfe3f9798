"""Write the fine-tuned model as a from_pretrained directory, whole or not at all.

The directory holds ``config.json`` + ``model.safetensors`` (save_pretrained),
``preprocessor_config.json``, the tokenizer's files when there is one, and
``metrics.json``, then a ``_SUCCESS`` marker. Locally it is
built in a hidden sibling folder and renamed into place (a previous export is swapped out
first, then deleted); on S3 the files are uploaded one by one and the marker last, after
removing any old marker, so a reader that checks the marker never sees a mix.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import torch

from dance import storage

MARKER = "_SUCCESS"


def _write_files(
    directory: Path,
    model: torch.nn.Module,
    processor_config: dict,
    metrics: dict,
    tokenizer: object | None,
) -> None:
    """Save the model, its preprocessor config (and tokenizer), metrics.json and the marker."""
    model.save_pretrained(str(directory))
    if tokenizer is not None:
        tokenizer.save_pretrained(str(directory))  # type: ignore[attr-defined]
    (directory / "preprocessor_config.json").write_text(
        json.dumps(processor_config, indent=2) + "\n"
    )
    (directory / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    files = sorted(p.name for p in directory.iterdir())
    (directory / MARKER).write_text(json.dumps({"files": files}) + "\n")


def export_model(
    output: str,
    model: torch.nn.Module,
    processor_config: dict,
    metrics: dict,
    tokenizer: object | None = None,
) -> str:
    """Write `model` (and its tokenizer) as a from_pretrained directory at `output`; return it.

    `output` is a local path or an s3:// prefix; `tokenizer` is anything with save_pretrained.
    """
    if storage.is_s3(output):
        storage.remove(storage.join(output, MARKER))
        with tempfile.TemporaryDirectory(prefix="dance-export-") as staging:
            _write_files(Path(staging), model, processor_config, metrics, tokenizer)
            names = sorted(p.name for p in Path(staging).iterdir() if p.name != MARKER)
            for name in [*names, MARKER]:
                storage.write_bytes(storage.join(output, name), (Path(staging) / name).read_bytes())
        return output
    target = Path(output.removeprefix("file://")).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        _write_files(staging, model, processor_config, metrics, tokenizer)
        if target.exists():
            old = target.parent / f".{target.name}.old-{uuid.uuid4().hex}"
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return str(target)
