"""Training a video-text dual encoder on captions: an image-text model with temporal pooling.

Where the captions come from (`CaptionSource`: the dataset's, or a rendered DANCE-Synth
corpus, `corpus_source`), a word-level tokenizer over the captions and concept files
(`build_tokenizer`), a small ConvNeXt + CLIP-text model or a CLIP checkpoint
(`build_clip`) seen as a video model by averaging its image embeddings over the
dual-encoder frames (`VideoTextModel`, exactly `DualEncoder` kind ``clip_frames``), CLIP's
symmetric contrastive loss with a learned temperature (`contrastive_loss`), the training
loop (`fit`, `evaluate_best`) and quality figures (`retrieval_chance`, `annotation_auc`).
The clip cache, checkpoints and export are the fine-tuning ones (`dance.finetune`);
`ray_jobs.train_dual_encoder` distributes them with Ray Train.
"""

from dance.dual._caption_source import (
    CaptionSource,
    corpus_source,
    read_dataset_captions,
)
from dance.dual._loop import (
    CaptionedClips,
    caption_pool,
    evaluate,
    evaluate_best,
    fit,
    same_text,
    train_one_epoch,
)
from dance.dual._metrics import CONCEPT_KINDS, annotation_auc, concept_auc, retrieval_chance
from dance.dual._model import (
    MAX_LOGIT_SCALE,
    TINY,
    VideoTextModel,
    build_clip,
    clamp_logit_scale,
    contrastive_loss,
    dual_clip_spec,
    embed_captions,
    embed_clips,
    load_text_tokenizer,
    processor_config_for,
    tokenize,
)
from dance.dual._texts import (
    CAPTIONS_FILE,
    captions_uri,
    concept_file_texts,
    concept_files,
    training_vocabulary,
    vocabulary_texts,
)
from dance.dual._tokenizer import (
    BOS,
    EOS,
    PAD,
    SPECIAL_TOKENS,
    UNK,
    build_tokenizer,
    vocabulary_words,
)

__all__ = [
    "BOS",
    "CAPTIONS_FILE",
    "CONCEPT_KINDS",
    "EOS",
    "MAX_LOGIT_SCALE",
    "PAD",
    "SPECIAL_TOKENS",
    "TINY",
    "UNK",
    "CaptionSource",
    "CaptionedClips",
    "VideoTextModel",
    "annotation_auc",
    "build_clip",
    "build_tokenizer",
    "caption_pool",
    "captions_uri",
    "clamp_logit_scale",
    "concept_auc",
    "concept_file_texts",
    "concept_files",
    "contrastive_loss",
    "corpus_source",
    "dual_clip_spec",
    "embed_captions",
    "embed_clips",
    "evaluate",
    "evaluate_best",
    "fit",
    "load_text_tokenizer",
    "processor_config_for",
    "read_dataset_captions",
    "retrieval_chance",
    "same_text",
    "tokenize",
    "train_one_epoch",
    "training_vocabulary",
    "vocabulary_texts",
    "vocabulary_words",
]
