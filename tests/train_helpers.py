"""A small workdir ready for `dance train`: manifest, videos/ features, concepts/ labels, records.

The features are class-structured (a class mean plus noise) and the concept labels follow
from them (motion concepts tied to classes, object/scene pseudo labels a noisy linear
view of the features), so every layer has something real to learn. The files are written
with the same library writers the preprocess and discover jobs use.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from safetensors.numpy import save

from dance import storage
from dance.concepts import labels_table, write_concept_index, write_labels
from dance.config import load_config
from dance.manifest import Manifest, ManifestRecord
from dance.preprocess import write_part
from dance.workdir import begin_stage, concepts_dir, manifest_uri, shifted_workdir

CLASSES = ["clap", "jump", "run", "wave"]
SPLIT_COUNTS = {"train": 12, "val": 4, "test": 4}  # videos per class
DIM = 16
MOTION, OBJECTS, SCENES = 6, 4, 3


def _quiet(_: str) -> None:
    pass


def write_config(tmp_path: Path, extra: str = "") -> Path:
    """A config for the workdir tmp_path/work, 2 workers of one CPU each, fast layers."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "train.yaml"
    config.write_text(
        f"name: train-test\nworkdir: {tmp_path / 'work'}\n"
        f"dataset: {{name: synth, root: {tmp_path / 'data'}}}\n"
        "ray: {num_cpus: 2}\n"
        "train:\n  motion_steps: 300\n  eval_every: 50\n  concept_max_steps: 600\n"
        "  clip_cut: 0.0\n  interpretability_cut: 0.0\n  lam: 0.01\n"
        "  resources: {pool_size: 2, num_cpus: 1, num_gpus: 0, batch_size: 16}\n" + extra
    )
    return config


def make_train_workdir(
    tmp_path: Path, seed: int = 0, failed: int = 1, extra_config: str = "", shifted: bool = False
) -> Path:
    """Write the workdir (and its config); return the config path.

    `shifted`: also a shifted test set in <workdir>/shifted (the test videos' features
    moved by one offset common to all of them, as a change of context would move them).
    """
    config = write_config(tmp_path, extra_config)
    cfg = load_config(str(config))
    workdir = cfg.workdir
    rng = np.random.default_rng(seed)
    records, labels = [], []
    for label, name in enumerate(CLASSES):
        for split, count in SPLIT_COUNTS.items():
            for i in range(count):
                video_id = f"{name}_{split}_{i:02d}"
                records.append(ManifestRecord(video_id, f"/data/{video_id}.mp4", name, split))
                labels.append(label)
    manifest = Manifest.from_records(records, class_names=CLASSES)
    manifest.write(manifest_uri(workdir))
    config_json = cfg.model_dump(mode="json")
    begin_stage(workdir, "manifest", config_json, log=_quiet).finish(
        facts={"class_names": CLASSES}
    )

    count = len(records)
    labels_array = np.array(labels)
    centres = rng.normal(0, 1.0, (len(CLASSES), DIM))
    features = (centres[labels_array] + rng.normal(0, 0.6, (count, DIM))).astype(np.float32)
    motion_of_class = rng.random((len(CLASSES), MOTION)) < 0.4
    motion = (motion_of_class[labels_array] ^ (rng.random((count, MOTION)) < 0.05))
    views = rng.normal(0, 1.0, (DIM, OBJECTS + SCENES)) / np.sqrt(DIM)
    language = 0.2 + 0.05 * np.tanh(features @ views) + rng.normal(0, 0.005, (count, 7))
    videos = [
        {
            "video_id": r.video_id, "status": "ok", "error": None, "num_frames": 32,
            "fps": 25.0, "height": 64, "width": 64, "keyframes": [0],
            "backbone": features[i].tolist(), "dual": None,
        }
        for i, r in enumerate(records)
    ]
    for row in videos[-failed:] if failed else []:
        row.update(status="failed", error="truncated: cut short", backbone=None)
    preprocessed = begin_stage(workdir, "preprocess", config_json, upstream=["manifest"],
                               log=_quiet)
    write_part(workdir, videos, [])
    preprocessed.finish(facts={"backbone": {"id": "synthetic", "sha256": None, "dim": DIM}})

    table = labels_table(
        [r.video_id for r in records], [r.split for r in records], labels,
        motion.astype(np.uint8), np.ones(count, dtype=bool),
        language[:, :OBJECTS].astype(np.float32), language[:, OBJECTS:].astype(np.float32),
        np.ones(count, dtype=bool),
    )
    out = concepts_dir(workdir)
    write_labels(out, table)
    centroids = rng.normal(0, 1, (MOTION, 8)).astype(np.float32)
    storage.write_bytes(
        storage.join(out, "motion/centroids.safetensors"), save({"centroids": centroids})
    )
    write_concept_index(out, {
        "names": {
            "motion": [f"motion_{k:03d}" for k in range(MOTION)],
            "objects": ["ball", "rope", "bat", "cup"],
            "scenes": ["field", "gym", "beach"],
        },
        "language_source": "answers",
        "dual_encoder": "synthetic",
    })
    if shifted:
        _write_shifted(workdir, records, labels, features, rng)
    begin_stage(workdir, "discover", config_json, upstream=["preprocess"], log=_quiet).finish(
        facts={"concepts": {"motion": MOTION, "objects": OBJECTS, "scenes": SCENES}}
    )
    return config


def _write_shifted(workdir: str, records: list[ManifestRecord], labels: list[int],
                   features: np.ndarray, rng: np.random.Generator) -> None:
    """<workdir>/shifted: the test videos again, their features moved by one offset."""
    offset = rng.normal(0, 0.8, DIM).astype(np.float32)
    test = [i for i, r in enumerate(records) if r.split == "test"]
    shifted = [ManifestRecord(f"{records[i].video_id}_shifted", f"/data/{records[i].video_id}"
                              "_shifted.mp4", records[i].label_name, "test") for i in test]
    root = shifted_workdir(workdir)
    Manifest.from_records(shifted, class_names=CLASSES).write(manifest_uri(root))
    write_part(root, [
        {"video_id": r.video_id, "status": "ok", "error": None, "num_frames": 32, "fps": 25.0,
         "height": 64, "width": 64, "keyframes": [0],
         "backbone": (features[i] + offset).tolist(), "dual": None}
        for r, i in zip(shifted, test, strict=True)
    ], [])
