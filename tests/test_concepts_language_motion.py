"""Language motion phrases (Table 1's LF-CBM rows): reading the file, labelling by Eq. 3."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dance.concepts import (
    language_motion_labels,
    read_language_motion,
    resolve_language_motion_file,
)
from dance.encoders import DualEncoder, build_tiny_clip
from dance.errors import InputError

SHIPPED = resolve_language_motion_file("synth")


def test_the_shipped_file_gives_each_phrase_once_in_class_order():
    phrases = read_language_motion(SHIPPED, "entangled", ["squat", "bat_swing"])
    document = json.loads(Path(SHIPPED).read_text())["entangled"]
    assert phrases[: len(document["squat"])] == document["squat"]
    assert len(phrases) == len(set(phrases))


def test_a_class_without_phrases_is_an_error_naming_it(tmp_path: Path):
    path = tmp_path / "motion.json"
    path.write_text(json.dumps({"entangled": {"a": ["x"]}, "disentangled": {"a": ["y"]}}))
    with pytest.raises(InputError, match="no entangled phrases for 1 classes .*'b'"):
        read_language_motion(str(path), "entangled", ["a", "b"])


def test_labels_are_cosines_of_text_and_video_and_zero_for_videos_without_embedding(
    tmp_path: Path,
):
    encoder = DualEncoder.from_pretrained(build_tiny_clip(str(tmp_path / "clip")), kind="clip_frames")
    phrases = ["raising both arms", "swinging a bat"]
    texts = encoder.embed_texts([f"A video of {p}" for p in phrases])
    video = texts[1] / np.linalg.norm(texts[1])  # a video that looks like the second phrase
    labels, known = language_motion_labels(
        ["v1", "v2"], {"v1": video}, phrases, encoder, "A video of {concept}", "tiny"
    )
    assert known.tolist() == [True, False]
    assert np.allclose(labels[0], texts @ video, atol=1e-5)
    assert labels[0, 1] == pytest.approx(1.0, abs=1e-5) and labels[1].tolist() == [0.0, 0.0]
