"""Contrastive training of the video-text model, per worker, in plain torch.

Works alone (one process) and inside Ray Train (each worker holds its shard; sums are
all-reduced). Each step takes a batch of videos, one caption per video drawn with the
seed, a random subset of each clip's frames and random flips; every random choice comes
from a generator seeded by (seed, epoch, rank), so a resumed run continues exactly as an
uninterrupted one. Epochs, validation, the best model and checkpoints follow the
fine-tuning loop (`dance.finetune.fit_epochs`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from dance.config import DualTrainingConfig
from dance.dual._model import (
    VideoTextModel,
    clamp_logit_scale,
    contrastive_loss,
    embed_captions,
    embed_clips,
    tokenize,
)
from dance.finetune import (
    ClipSpec,
    EpochCallback,
    Shard,
    TrainState,
    all_reduce_sum,
    epoch_generator,
    epoch_order,
    fit_epochs,
    learning_rate,
    measure_best,
    normalise_clips,
    unwrap,
)

ONE_WORKER = Shard()  # training without Ray: rank 0 of 1


@dataclass
class CaptionedClips:
    """Cached clips of one split (or one worker's shard of it), each with its captions."""

    video_ids: list[str]
    clips: torch.Tensor  # (N, T, S, S, 3) uint8
    captions: list[list[str]]

    def __post_init__(self) -> None:
        if not (len(self.video_ids) == self.clips.shape[0] == len(self.captions)):
            raise ValueError(
                f"CaptionedClips sizes disagree: {len(self.video_ids)} ids, "
                f"{self.clips.shape[0]} clips, {len(self.captions)} caption lists"
            )
        empty = [vid for vid, texts in zip(self.video_ids, self.captions) if not texts]
        if empty:
            raise ValueError(f"videos without captions: {empty[:3]}; leave them out")

    def __len__(self) -> int:
        """Number of videos."""
        return len(self.video_ids)


def same_text(texts: Sequence[str], device: torch.device) -> torch.Tensor:
    """(N, N) bool: rows whose texts are equal (a repeated caption is a positive, not a negative)."""
    codes = {text: i for i, text in enumerate(dict.fromkeys(texts))}
    ids = torch.tensor([codes[t] for t in texts], device=device)
    return ids[:, None] == ids[None, :]


def _frame_subsets(count: int, frames: int, keep: int, generator: torch.Generator) -> torch.Tensor:
    """(count, keep) sorted frame positions, a random subset per video."""
    draws = torch.rand(count, frames, generator=generator).argsort(dim=1)[:, :keep]
    return draws.sort(dim=1).values


def train_one_epoch(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    tokenizer: object,
    train: CaptionedClips,
    spec: ClipSpec,
    config: DualTrainingConfig,
    epoch: int,
    steps: int,
    shard: Shard = ONE_WORKER,
) -> tuple[float, float]:
    """One epoch of `steps` batches; (mean loss, in-batch video->text accuracy) over workers."""
    model.train()
    inner: VideoTextModel = unwrap(model)  # type: ignore[assignment]
    device = next(model.parameters()).device
    batch_size = config.workers.batch_size  # videos per worker per step
    generator = epoch_generator(config.seed, epoch, shard.rank)
    order = epoch_order(len(train), steps * batch_size, generator)
    flips = torch.rand(len(order), generator=generator) < 0.5
    picks = torch.rand(len(order), generator=generator)
    frames = train.clips.shape[1]
    keep = min(config.frames_per_step or frames, frames)
    subsets = _frame_subsets(len(order), frames, keep, generator)
    positions = inner.clip.config.text_config.max_position_embeddings
    total_steps, warmup = steps * config.epochs, round(config.warmup_epochs * steps)
    sums = torch.zeros(3, dtype=torch.float64)  # loss sum, correct, count
    for step in range(steps):
        rows = slice(step * batch_size, (step + 1) * batch_size)
        batch = order[rows]
        clips = train.clips[batch[:, None], subsets[rows]]  # (B, keep, S, S, 3)
        if config.flip:
            clips = torch.where(flips[rows].view(-1, 1, 1, 1, 1), clips.flip(3), clips)
        texts = [
            train.captions[i][int(u * len(train.captions[i]))]
            for i, u in zip(batch.tolist(), picks[rows].tolist(), strict=True)
        ]
        tokens = tokenize(tokenizer, texts, positions)  # type: ignore[arg-type]
        lr = learning_rate(epoch * steps + step, total_steps, warmup, config.lr)
        for group in optimizer.param_groups:
            group["lr"] = lr
        videos, text_rows, scale = model(
            normalise_clips(clips, spec, device),
            tokens["input_ids"].to(device),
            tokens["attention_mask"].to(device),
        )
        positives = same_text(texts, device)
        loss, logits = contrastive_loss(videos, text_rows, scale, positives)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        clamp_logit_scale(inner)
        hits = positives.gather(1, logits.argmax(dim=1, keepdim=True)).sum().item()
        sums += torch.tensor([loss.item() * len(batch), hits, len(batch)], dtype=torch.float64)
    loss_sum, correct, count = all_reduce_sum(sums).tolist()
    return loss_sum / count, correct / count


def caption_pool(captions: Sequence[Sequence[str]]) -> list[str]:
    """The distinct captions of a split, sorted: the candidates of video->caption retrieval."""
    return sorted({text for texts in captions for text in texts})


@torch.inference_mode()
def evaluate(
    model: torch.nn.Module,
    tokenizer: object,
    data: CaptionedClips,
    pool: Sequence[str],
    spec: ClipSpec,
    batch_size: int,
    seed: int,
) -> tuple[float, float, int]:
    """(loss, video->caption accuracy, count) over all workers' shards of a split.

    A video is retrieved correctly when its most similar caption of `pool` (every caption
    of the split) is one of its own. The loss is the contrastive loss of the shard with one
    caption per video drawn with `seed`.
    """
    inner: VideoTextModel = unwrap(model)  # type: ignore[assignment]
    sums = torch.zeros(3, dtype=torch.float64)
    if len(data):
        videos = embed_clips(inner, data.clips, spec, batch_size)
        pool = list(pool)
        texts = embed_captions(inner, tokenizer, pool)  # type: ignore[arg-type]
        best = (videos @ texts.T).argmax(dim=1).tolist()
        correct = sum(pool[b] in set(own) for b, own in zip(best, data.captions, strict=True))
        generator = torch.Generator().manual_seed(seed)
        picks = torch.rand(len(data), generator=generator).tolist()
        chosen = [own[int(u * len(own))] for own, u in zip(data.captions, picks, strict=True)]
        index = {text: i for i, text in enumerate(pool)}
        rows = texts[[index[text] for text in chosen]]
        scale = inner.clip.logit_scale.exp()
        loss, _ = contrastive_loss(videos, rows, scale, same_text(chosen, videos.device))
        sums += torch.tensor([loss.item() * len(data), correct, len(data)], dtype=torch.float64)
    loss_sum, correct, count = all_reduce_sum(sums).tolist()
    if count == 0:
        return math.nan, math.nan, 0
    return loss_sum / count, correct / count, int(count)


def fit(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    tokenizer: object,
    train: CaptionedClips,
    val: CaptionedClips,
    val_pool: Sequence[str],
    spec: ClipSpec,
    config: DualTrainingConfig,
    state: TrainState,
    steps: int,
    on_epoch: EpochCallback | None = None,
    shard: Shard = ONE_WORKER,
) -> TrainState:
    """Train from state.epoch to config.epochs; the best model by val retrieval, then val loss."""
    return fit_epochs(
        model,
        state,
        config.epochs,
        config.eval_every_epochs,
        lambda epoch: train_one_epoch(
            model, optimizer, tokenizer, train, spec, config, epoch, steps, shard
        ),
        lambda: evaluate(
            model, tokenizer, val, val_pool, spec, config.workers.batch_size, config.seed
        ),
        on_epoch,
    )


def evaluate_best(
    model: torch.nn.Module,
    tokenizer: object,
    test: CaptionedClips,
    test_pool: Sequence[str],
    spec: ClipSpec,
    config: DualTrainingConfig,
    state: TrainState,
) -> dict:
    """Measure the test split with the best weights; stored in state.test."""
    return measure_best(
        model,
        state,
        lambda: evaluate(
            model, tokenizer, test, test_pool, spec, config.workers.batch_size, config.seed
        ),
    )
