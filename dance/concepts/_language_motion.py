"""Language motion concepts (Table 1's LF-CBM rows): phrases per class, labelled by Eq. 3.

Label-free CBM describes an action in words; the paper's baselines use two styles of such
motion phrases: *entangled* (action and context in one phrase, "swinging a bat on a
field") and *disentangled* temporal ones ("arms sweeping across the body"). A phrase file
maps each style to {class: [phrases]}; the concepts are the phrases of the manifest's
classes, each once, in class order. Their labels are pseudo labels exactly as for
objects and scenes: the cosine between the phrase's text embedding ("A video of
{phrase}") and the video's dual-encoder embedding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dance import storage
from dance.concepts.pseudo_labels import pseudo_labels
from dance.errors import InputError

MOTION_STYLES = ("entangled", "disentangled")
SYNTH_MOTION_FILE = "synth"  # the phrase file shipped for DANCE-Synth


def resolve_language_motion_file(value: str) -> str:
    """The path of a motion phrase file: 'synth' is the file shipped for DANCE-Synth."""
    if value.strip() == SYNTH_MOTION_FILE:
        from dance.synth import synth_concept_file

        return str(synth_concept_file("motion_language"))
    return value


def read_language_motion(uri: str, style: str, class_names: Sequence[str]) -> list[str]:
    """The phrases of one style for these classes, each once, in class order."""
    if style not in MOTION_STYLES:
        raise ValueError(f"style must be one of {MOTION_STYLES}, got {style!r}")
    document = storage.read_json(uri)
    per_class = document.get(style) if isinstance(document, dict) else None
    if not isinstance(per_class, dict):
        raise InputError(
            f"{uri} has no {style!r} section; a motion phrase file maps "
            f"{' and '.join(MOTION_STYLES)} to {{class: [phrase, ...]}}"
        )
    missing = [name for name in class_names if name not in per_class]
    if missing:
        raise InputError(
            f"{uri} has no {style} phrases for {len(missing)} classes ({missing[:5]}); add them"
        )
    phrases: list[str] = []
    for name in class_names:
        for phrase in per_class[name]:
            text = str(phrase).strip()
            if text and text not in phrases:
                phrases.append(text)
    return phrases


def language_motion_labels(
    video_ids: Sequence[str],
    embeddings: Mapping[str, Any],
    phrases: Sequence[str],
    embedder: Any,
    template: str,
    encoder_id: str,
    cache_dir: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(V, M) pseudo labels of the phrases and (V,) known: the videos with an embedding."""
    known = np.array([v in embeddings for v in video_ids], dtype=bool)
    labels = np.zeros((len(video_ids), len(phrases)), dtype=np.float32)
    rows = np.flatnonzero(known)
    if len(rows) and phrases:
        ids = [video_ids[i] for i in rows]
        matrix = np.asarray([embeddings[v] for v in ids], dtype=np.float32)
        labels[rows] = pseudo_labels(ids, matrix, phrases, embedder, template, encoder_id,
                                     cache_dir=cache_dir)
    return labels, known
