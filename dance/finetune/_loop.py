"""The per-worker training loop in plain torch: epochs, evaluation, best-model tracking.

Works alone (one process) and inside Ray Train (each worker holds its shard; sums are
all-reduced when torch.distributed is initialised). Every random choice of an epoch
(order, flips) comes from a generator seeded by (seed, epoch, rank), so a run resumed
after epoch k continues exactly as the uninterrupted run would have.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from dance.config import DualTrainingConfig, FinetuneConfig
from dance.finetune._data import ClipSpec, normalise_clips


@dataclass
class ClipSet:
    """Cached clips of one split (or one worker's shard of it) with their labels."""

    video_ids: list[str]
    clips: torch.Tensor  # (N, T, S, S, 3) uint8
    labels: torch.Tensor  # (N,) int64

    def __post_init__(self) -> None:
        if not (len(self.video_ids) == self.clips.shape[0] == self.labels.shape[0]):
            raise ValueError(
                f"ClipSet sizes disagree: {len(self.video_ids)} ids, {self.clips.shape[0]} "
                f"clips, {self.labels.shape[0]} labels; give one clip and label per video_id"
            )

    def __len__(self) -> int:
        """Number of clips."""
        return len(self.video_ids)


@dataclass
class TrainState:
    """Where training stands: epochs done, per-epoch metrics, the best model so far."""

    epoch: int = 0
    history: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    best_val_acc: float = -1.0
    best_val_loss: float = math.inf
    best_model: dict[str, torch.Tensor] | None = None
    test: dict | None = None


@dataclass(frozen=True)
class Shard:
    """This worker's place among the workers (rank 0 of 1 without Ray)."""

    rank: int = 0
    world_size: int = 1


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside a DistributedDataParallel wrapper (or the model itself)."""
    return model.module if hasattr(model, "module") else model


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over workers, in place, when torch.distributed runs; itself otherwise.

    NCCL (Ray Train's backend for GPU workers) reduces CUDA tensors only: a CPU tensor
    travels through this worker's GPU and back.
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return values
    if values.device.type == "cpu" and dist.get_backend() == "nccl":
        on_device = values.to(torch.device("cuda", torch.cuda.current_device()))
        dist.all_reduce(on_device)
        values.copy_(on_device)
    else:
        dist.all_reduce(values)
    return values


def make_optimizer(
    model: torch.nn.Module, config: FinetuneConfig | DualTrainingConfig
) -> torch.optim.AdamW:
    """AdamW at config.lr; biases, norm weights and scalars (parameters of at most one
    dimension) get no weight decay, as VideoMAE and CLIP."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    return torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=config.lr,
    )


def learning_rate(step: int, total_steps: int, warmup_steps: int, peak: float) -> float:
    """Linear warmup to `peak` over warmup_steps, then cosine decay to 0 at total_steps."""
    if warmup_steps > 0 and step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return peak * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def steps_per_epoch(num_train: int, world_size: int, batch_size: int) -> int:
    """Optimiser steps per epoch: the largest shard split into batches (all workers step alike)."""
    if num_train < 1:
        raise ValueError("the train split has no decodable videos; nothing to fine-tune on")
    return math.ceil(math.ceil(num_train / world_size) / batch_size)


def epoch_generator(seed: int, epoch: int, rank: int) -> torch.Generator:
    """The random generator of one epoch on one worker."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch * 1_009 + rank)


def epoch_order(size: int, count: int, generator: torch.Generator) -> torch.Tensor:
    """`count` indices into a shard of `size`: whole shuffled passes, the last one cut short."""
    passes = [torch.randperm(size, generator=generator) for _ in range(math.ceil(count / size))]
    return torch.cat(passes)[:count]


def train_one_epoch(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    train: ClipSet,
    spec: ClipSpec,
    config: FinetuneConfig,
    epoch: int,
    steps: int,
    shard: Shard = Shard(),
) -> tuple[float, float]:
    """One epoch of `steps` batches from this worker's shard; (mean loss, accuracy) over workers."""
    model.train()
    device = next(model.parameters()).device
    batch_size = config.workers.batch_size  # clips per worker per step
    generator = epoch_generator(config.seed, epoch, shard.rank)
    order = epoch_order(len(train), steps * batch_size, generator)
    flips = torch.rand(len(order), generator=generator) < 0.5
    total_steps = steps * config.epochs
    warmup = round(config.warmup_epochs * steps)
    sums = torch.zeros(3, dtype=torch.float64)  # loss sum, correct, count
    for step in range(steps):
        batch = order[step * batch_size : (step + 1) * batch_size]
        clips = train.clips[batch]
        if config.flip:
            flip = flips[step * batch_size : (step + 1) * batch_size]
            clips = torch.where(flip.view(-1, 1, 1, 1, 1), clips.flip(3), clips)
        labels = train.labels[batch].to(device)
        lr = learning_rate(epoch * steps + step, total_steps, warmup, config.lr)
        for group in optimizer.param_groups:
            group["lr"] = lr
        logits = model(pixel_values=normalise_clips(clips, spec, device)).logits
        loss = F.cross_entropy(logits, labels, label_smoothing=config.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        sums += torch.tensor(
            [loss.item() * len(batch), (logits.argmax(1) == labels).sum().item(), len(batch)],
            dtype=torch.float64,
        )
    loss_sum, correct, count = all_reduce_sum(sums).tolist()
    return loss_sum / count, correct / count


@torch.inference_mode()
def evaluate(
    model: torch.nn.Module, data: ClipSet, spec: ClipSpec, batch_size: int
) -> tuple[float, float, int]:
    """(mean loss, accuracy, count) over all workers' shards of a split (plain cross-entropy)."""
    model.eval()
    device = next(model.parameters()).device
    sums = torch.zeros(3, dtype=torch.float64)
    for start in range(0, len(data), batch_size):
        clips = data.clips[start : start + batch_size]
        labels = data.labels[start : start + batch_size].to(device)
        logits = model(pixel_values=normalise_clips(clips, spec, device)).logits
        loss = F.cross_entropy(logits, labels, reduction="sum")
        sums += torch.tensor(
            [loss.item(), (logits.argmax(1) == labels).sum().item(), len(labels)],
            dtype=torch.float64,
        )
    loss_sum, correct, count = all_reduce_sum(sums).tolist()
    if count == 0:
        return math.nan, math.nan, 0
    return loss_sum / count, correct / count, int(count)


def _is_better(val_acc: float, val_loss: float, state: TrainState) -> bool:
    """Higher val accuracy wins; a tie goes to the lower val loss (small val sets tie often)."""
    if val_acc != state.best_val_acc:
        return val_acc > state.best_val_acc
    return val_loss < state.best_val_loss


EpochCallback = Callable[[dict, TrainState, bool], None]
EpochTrainer = Callable[[int], tuple[float, float]]  # epoch -> (train loss, train accuracy)
Measure = Callable[[], tuple[float, float, int]]  # -> (loss, accuracy, count) over all workers


def fit_epochs(
    model: torch.nn.Module,
    state: TrainState,
    epochs: int,
    eval_every_epochs: int,
    train_epoch: EpochTrainer,
    validate: Measure,
    on_epoch: EpochCallback | None = None,
) -> TrainState:
    """Train from state.epoch to `epochs` with any epoch and validation functions.

    Calls on_epoch(metrics, state, evaluated) after each epoch. Validation runs every
    eval_every_epochs epochs and after the last; the best model (by val accuracy, then val
    loss) is kept in state.best_model. With an empty val split the last evaluated epoch
    counts as best.
    """
    for epoch in range(state.epoch, epochs):
        start = time.perf_counter()
        train_loss, train_acc = train_epoch(epoch)
        metrics: dict = {"epoch": epoch + 1, "train_loss": train_loss, "train_acc": train_acc}
        evaluated = (epoch + 1) % eval_every_epochs == 0 or epoch + 1 == epochs
        if evaluated:
            val_loss, val_acc, num_val = validate()
            metrics.update(val_loss=val_loss, val_acc=val_acc)
            if num_val == 0 or _is_better(val_acc, val_loss, state):
                state.best_epoch = epoch + 1
                state.best_val_acc, state.best_val_loss = val_acc, val_loss
                state.best_model = {
                    k: v.detach().cpu().clone() for k, v in unwrap(model).state_dict().items()
                }
        metrics["seconds"] = time.perf_counter() - start
        state.epoch = epoch + 1
        state.history.append(metrics)
        if on_epoch is not None:
            on_epoch(metrics, state, evaluated)
    return state


def fit(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    train: ClipSet,
    val: ClipSet,
    spec: ClipSpec,
    config: FinetuneConfig,
    state: TrainState,
    steps: int,
    on_epoch: EpochCallback | None = None,
    shard: Shard = Shard(),
) -> TrainState:
    """Fine-tune from state.epoch to config.epochs (see `fit_epochs` for validation and best)."""
    return fit_epochs(
        model,
        state,
        config.epochs,
        config.eval_every_epochs,
        lambda epoch: train_one_epoch(model, optimizer, train, spec, config, epoch, steps, shard),
        lambda: evaluate(model, val, spec, config.workers.batch_size),
        on_epoch,
    )


def measure_best(model: torch.nn.Module, state: TrainState, measure: Measure) -> dict:
    """Measure the test split with the best weights (the model keeps its own); stored in state.test."""
    if state.best_model is None:
        raise ValueError("no best model yet: run fit for at least one evaluated epoch first")
    inner = unwrap(model)
    current = {k: v.detach().clone() for k, v in inner.state_dict().items()}
    inner.load_state_dict(state.best_model)
    try:
        test_loss, test_acc, num_test = measure()
    finally:
        inner.load_state_dict(current)  # training may go on from the last weights
    state.test = {"test_loss": test_loss, "test_acc": test_acc, "num_test": num_test}
    return state.test


def evaluate_best(
    model: torch.nn.Module, state: TrainState, test: ClipSet, spec: ClipSpec, batch_size: int
) -> dict:
    """Measure the test split with the best weights (see `measure_best`)."""
    return measure_best(model, state, lambda: evaluate(model, test, spec, batch_size))


def format_epoch(metrics: dict, epochs: int) -> str:
    """One progress line: epoch, loss, train acc, val acc, seconds."""
    val = metrics.get("val_acc")
    val_text = f"{val:6.3f}" if val is not None and not math.isnan(val) else "     -"
    return (
        f"epoch {metrics['epoch']:>3}/{epochs}  loss {metrics['train_loss']:.4f}  "
        f"train acc {metrics['train_acc']:.3f}  val acc {val_text}  {metrics['seconds']:.1f} s"
    )


def split_shard(video_ids: Sequence[str], shard: Shard) -> list[str]:
    """This worker's share of a split: every world_size-th sorted video_id from its rank."""
    return sorted(video_ids)[shard.rank :: shard.world_size]
