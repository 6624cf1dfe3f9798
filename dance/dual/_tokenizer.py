"""A word-level caption tokenizer: one token per word of the captions and concept files.

Built with the `tokenizers` library (WordLevel model) and wrapped as a
`PreTrainedTokenizerFast`, so `save_pretrained` writes it and `AutoTokenizer` loads it back
beside the model, as for any hub checkpoint. Text is NFKC-normalised, lower-cased and has
underscores read as spaces (class names such as ``bat_swing``); it is split on whitespace
and punctuation. A word outside the vocabulary becomes ``[UNK]``; every text gets
``[BOS] ... [EOS]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

PAD, UNK, BOS, EOS = "[PAD]", "[UNK]", "[BOS]", "[EOS]"
# Ids 0-3 in this order. EOS must not be id 2: a CLIP text config with eos_token_id 2 pools
# at argmax(input_ids) (a legacy rule of transformers) instead of at the first eos.
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS)


def _normalizer():  # -> tokenizers.normalizers.Normalizer
    from tokenizers import normalizers

    return normalizers.Sequence(
        [normalizers.NFKC(), normalizers.Lowercase(), normalizers.Replace("_", " ")]
    )


def _pre_tokenizer():  # -> tokenizers.pre_tokenizers.PreTokenizer
    from tokenizers import pre_tokenizers

    return pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Punctuation()])


def vocabulary_words(texts: Iterable[str]) -> list[str]:
    """The distinct words of `texts` as the tokenizer splits them, sorted (specials excluded)."""
    normalizer, pre_tokenizer = _normalizer(), _pre_tokenizer()
    words: set[str] = set()
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"texts must be strings, got {type(text).__name__}")
        pieces = pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text))
        words.update(word for word, _ in pieces)
    return sorted(words - set(SPECIAL_TOKENS))


def build_tokenizer(words: Iterable[str], max_length: int) -> PreTrainedTokenizerFast:
    """A word-level tokenizer over `words` (sorted, so the same words give the same ids)."""
    from tokenizers import Tokenizer, models, processors
    from transformers import PreTrainedTokenizerFast

    if max_length < 3:
        raise ValueError(f"max_length must leave room for bos, a word and eos, got {max_length}")
    vocab = {token: index for index, token in enumerate(SPECIAL_TOKENS)}
    for word in sorted(set(words)):
        vocab.setdefault(word, len(vocab))
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    tokenizer.normalizer = _normalizer()
    tokenizer.pre_tokenizer = _pre_tokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A {EOS}", special_tokens=[(BOS, vocab[BOS]), (EOS, vocab[EOS])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        model_max_length=max_length,
    )
