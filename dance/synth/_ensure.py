"""Render DANCE-Synth where a run expects it, unless the same config already rendered it."""

from __future__ import annotations

from dance.config import SynthConfig
from dance.progress import Log
from dance.synth._generate import generate_dataset, synth_dataset_matches


def ensure_synth_dataset(config: SynthConfig, root: str, log: Log) -> bool:
    """Render DANCE-Synth into `root` unless it already holds this config's dataset.

    Returns True when it rendered, False when it reused the dataset already there.
    """
    if synth_dataset_matches(config, root):
        log(f"DANCE-Synth already at {root} (same config and seed): reusing it")
        return False
    log(f"rendering DANCE-Synth ({config.preset}) into {root} ...")
    log(generate_dataset(config, root).describe())
    return True
