"""The concept files shipped with DANCE-Synth: LLM-style answers, their answer key, motion phrases."""

from __future__ import annotations

from importlib import resources

# answers: per class, object and scene lines as an LLM would answer (planted noise included);
# answer_key: what each parsed concept means in the ground truth, and what was planted;
# motion_language: language motion concepts per class, entangled and disentangled.
SYNTH_CONCEPT_FILES: tuple[str, ...] = ("answers", "answer_key", "motion_language")


def synth_concept_file(name: str) -> str:
    """The path of a shipped concept file: 'answers', 'answer_key' or 'motion_language'."""
    if name not in SYNTH_CONCEPT_FILES:
        raise ValueError(
            f"unknown DANCE-Synth concept file {name!r}; known: {', '.join(SYNTH_CONCEPT_FILES)}"
        )
    path = resources.files("dance.synth").joinpath("concepts").joinpath(f"{name}.json")
    if not path.is_file():
        raise FileNotFoundError(
            f"the package lacks {path}; reinstall dance (package data synth/concepts/*.json)"
        )
    return str(path)
