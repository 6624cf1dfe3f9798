"""The texts a caption tokenizer must know: captions, concept files, class names, the template."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence

from dance import storage
from dance.config import DanceConfig
from dance.dual._tokenizer import vocabulary_words
from dance.errors import InputError

CAPTIONS_FILE = "captions.parquet"


def captions_uri(dataset_root: str | None) -> str:
    """Where a dataset keeps its captions: <dataset.root>/captions.parquet."""
    if not dataset_root:
        raise InputError(
            f"training a dual encoder needs captions ({CAPTIONS_FILE} in dataset.root), but "
            "dataset.root is not set; DANCE-Synth writes them (dance synth, or a config "
            "with a synth section)"
        )
    return storage.join(dataset_root, CAPTIONS_FILE)


def _strings_in_lists(value: object) -> Iterator[str]:
    """Every string that is an item of a list, at any depth (not keys, not metadata fields)."""
    if isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                yield item
            else:
                yield from _strings_in_lists(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings_in_lists(item)


def concept_file_texts(uri: str) -> list[str]:
    """The concept texts of a file: a JSON file's list items at any depth, else its lines."""
    text = storage.read_bytes(uri).decode("utf-8")
    if uri.endswith(".json"):
        try:
            return list(_strings_in_lists(json.loads(text)))
        except json.JSONDecodeError as error:
            raise InputError(f"concept file {uri} is not valid JSON: {error}") from error
    return text.splitlines()


def training_vocabulary(
    captions: Mapping[str, Sequence[str]], extra_texts: Iterable[str] = ()
) -> list[str]:
    """The sorted words of every caption and of `extra_texts` (concept lists, class names)."""
    return vocabulary_words([*(t for texts in captions.values() for t in texts), *extra_texts])


def concept_files(cfg: DanceConfig) -> list[str]:
    """The concept files a run may read: DANCE-Synth's shipped ones, and those configured.

    A configured file that does not exist is left out (discover reports it when it reads it).
    """
    from dance.synth import synth_concept_file

    language = cfg.discover.language
    files: list[str] = []
    if cfg.dataset.name == "synth" or language.answers_file == "synth":
        files += [synth_concept_file("answers"), synth_concept_file("motion_language")]
    for configured in (language.answers_file, language.object_file, language.scene_file):
        if configured and configured != "synth" and storage.exists(configured):
            files.append(configured)
    return list(dict.fromkeys(files))


def vocabulary_texts(cfg: DanceConfig, class_names: Sequence[str]) -> list[str]:
    """Texts besides captions whose words the tokenizer needs: concept files, class names and
    the pseudo-label template (discover embeds all of them with the text tower)."""
    texts = [text for uri in concept_files(cfg) for text in concept_file_texts(uri)]
    template = cfg.discover.pseudo_labels.template.replace("{concept}", " ")
    return [*texts, *class_names, template]
