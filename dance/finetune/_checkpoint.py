"""A training checkpoint directory: model, best model, optimiser and progress; never unpickled.

Files: ``model.safetensors`` (current weights), ``best_model.safetensors`` (weights of the
best epoch so far), ``optimizer.pt`` (the optimiser's state dict; tensors and numbers
only, read back with ``torch.load(weights_only=True)``) and ``state.json`` (epochs done,
per-epoch metrics, best epoch, test metrics once measured).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from dance.finetune._loop import TrainState, unwrap

_MODEL = "model.safetensors"
_BEST = "best_model.safetensors"
_OPTIMIZER = "optimizer.pt"
_STATE = "state.json"


def _tensors(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Contiguous CPU copies (safetensors refuses shared or strided storage)."""
    return {k: v.detach().cpu().contiguous().clone() for k, v in state_dict.items()}


def save_checkpoint(
    directory: str | Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: TrainState,
) -> Path:
    """Write model, optimiser and progress into `directory` (created); return it."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    save_file(_tensors(unwrap(model).state_dict()), str(path / _MODEL))
    if state.best_model is not None:
        save_file(_tensors(state.best_model), str(path / _BEST))
    torch.save(optimizer.state_dict(), path / _OPTIMIZER)
    progress = {
        "epoch": state.epoch,
        "history": state.history,
        "best_epoch": state.best_epoch,
        "best_val_acc": state.best_val_acc,
        "best_val_loss": None if math.isinf(state.best_val_loss) else state.best_val_loss,
        "test": state.test,
    }
    (path / _STATE).write_text(json.dumps(progress, indent=2) + "\n")
    return path


def read_state(directory: str | Path) -> TrainState:
    """Progress and best weights of a checkpoint (no model or optimiser needed)."""
    path = Path(directory)
    if not (path / _STATE).is_file():
        raise FileNotFoundError(
            f"{str(path)!r} is not a fine-tuning checkpoint (no {_STATE}); rerun with "
            "finetune.resume=false to start over"
        )
    progress = json.loads((path / _STATE).read_text())
    best = load_file(str(path / _BEST)) if (path / _BEST).is_file() else None
    best_loss = progress["best_val_loss"]
    return TrainState(
        epoch=int(progress["epoch"]),
        history=list(progress["history"]),
        best_epoch=progress["best_epoch"],
        best_val_acc=float(progress["best_val_acc"]),
        best_val_loss=math.inf if best_loss is None else float(best_loss),
        best_model=best,
        test=progress["test"],
    )


def load_checkpoint(
    directory: str | Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
) -> TrainState:
    """Restore model (and optimiser) weights from `directory`; return the saved progress."""
    path = Path(directory)
    state = read_state(path)
    unwrap(model).load_state_dict(load_file(str(path / _MODEL)))
    if optimizer is not None:
        optimizer.load_state_dict(torch.load(path / _OPTIMIZER, weights_only=True))
    return state
