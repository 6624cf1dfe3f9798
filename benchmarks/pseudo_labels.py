"""Pseudo-label quality (Eq. 3) on DANCE-Synth: the preprocess dual encoder vs a random one.

    python benchmarks/pseudo_labels.py [--config demo] [--set key=value ...]
        [--answers synth] [--out benchmarks/results/pseudo_labels.json]

Run from the repository root after `dance preprocess` of the config (with
preprocess.enable_dual). Object and scene concepts come from the answers file (default:
the one shipped for DANCE-Synth), parsed and filtered exactly as `dance discover` with
discover.language.source=answers does, using the text tower of the dual encoder the
preprocess record names. Then, per concept that names a ground-truth object or scene
(equal to it, or mapped by the shipped answer key), the ROC-AUC of the cosine between the
video embedding and "A video of {concept}" against "this video holds it":

- (a) the preprocess encoder: the video embeddings preprocess stored (videos/ `dual`),
  on train and test videos;
- (b) a tiny RANDOM dual encoder of the same kind (dance.encoders.build_tiny_*): the test
  videos decoded anew through preprocess's decode code at that model's input size, and
  the concept texts embedded by its own text tower. Expected near 0.5.

It also audits the filters on the whole answers file with the preprocess encoder's text
tower (planted duplicates and echoes dropped, true names kept; dance.concepts.audit_filters).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from dance import storage
from dance.concepts import (
    LanguageOutputs,
    answer_key_for,
    audit_answers_file,
    concepts_from_answers,
    filter_concepts,
    pseudo_label_quality,
    read_concept_annotations,
)
from dance.concepts.pseudo_labels import pseudo_labels
from dance.config import DanceConfig, load_config
from dance.encoders import DualEncoder, build_tiny_clip, build_tiny_xclip
from dance.manifest import Manifest
from dance.preprocess import (
    DecodePlan,
    decode_video,
    dual_embeddings,
    model_input_side,
    read_videos,
    unpack,
)
from dance.workdir import manifest_uri, require_done

KINDS = ("objects", "scenes")
TINY_BUILDERS = {"xclip": build_tiny_xclip, "clip_frames": build_tiny_clip}
EMBED_BATCH = 8


def decoded_embeddings(
    cfg: DanceConfig, encoder: DualEncoder, model_dir: str, videos: dict[str, str], spill: str
) -> dict[str, np.ndarray]:
    """{video_id: embedding} of `videos` (id -> uri), decoded as preprocess decodes them."""
    plan = DecodePlan(
        keyframes=cfg.keyframes,
        clips=cfg.clips,
        backbone=cfg.backbone,
        dual=cfg.dual_encoder,
        chunk_frames=cfg.preprocess.decode_chunk_frames,
        min_frames=cfg.preprocess.min_frames,
        frame_max_side=cfg.preprocess.frame_max_side,
        spill_dir=spill,
        pose_frames=False,
        dual_side=model_input_side(model_dir, encoder.image_size),
    )
    clips: dict[str, np.ndarray] = {}
    for video_id, uri in videos.items():
        row = decode_video(video_id, uri, plan)
        if row["status"] == "ok":
            clips[video_id] = unpack(row["dual_frames"], row["dual_shape"], np.uint8)
    ids = sorted(clips)
    out: dict[str, np.ndarray] = {}
    for start in range(0, len(ids), EMBED_BATCH):
        batch = ids[start : start + EMBED_BATCH]
        rows = encoder.embed_videos(np.stack([clips[v] for v in batch]))
        out.update(zip(batch, rows, strict=True))
    return out


def encoder_quality(
    manifest: Manifest,
    embeddings: dict[str, Any],
    encoder: DualEncoder,
    encoder_id: str,
    concepts: dict[str, list[str]],
    renamed: dict[str, dict[str, str]],
    template: str,
    annotations: pa.Table,
    answer_key: dict[str, Any] | None,
) -> dict[str, Any]:
    """pseudo_label_quality of one encoder's Eq. 3 labels on the videos it embedded."""
    ids = manifest.video_ids
    known = np.array([v in embeddings for v in ids], dtype=bool)
    known_ids = [v for v in ids if v in embeddings]
    matrix = np.asarray([embeddings[v] for v in known_ids], dtype=np.float32)
    labels = {}
    for kind in KINDS:
        full = np.zeros((len(ids), len(concepts[kind])), dtype=np.float32)
        if concepts[kind]:
            full[known] = pseudo_labels(
                known_ids, matrix, concepts[kind], encoder, template, encoder_id
            )
        labels[kind] = full
    language = LanguageOutputs(
        objects=concepts["objects"],
        scenes=concepts["scenes"],
        object_labels=labels["objects"],
        scene_labels=labels["scenes"],
        known=known,
        report={kind: {"renamed": renamed[kind]} for kind in KINDS},
        label_mode="pseudo_labels",
        encoder_id=encoder_id,
    )
    return pseudo_label_quality(manifest, language, annotations, answer_key)


def _brief(quality: dict[str, Any]) -> dict[str, Any]:
    """The per-split figures without the bookkeeping lists."""
    return {
        kind: {
            split: {
                k: quality[kind][split][k]
                for k in ("mean_auc", "concepts", "videos", "per_concept")
            }
            for split in ("train", "test")
        }
        for kind in KINDS
    }


def run(cfg: DanceConfig, answers_file: str, log=print) -> dict[str, Any]:
    """Every figure of the benchmark for the config's workdir."""
    started = time.perf_counter()
    storage.configure(cfg.storage)
    record = require_done(cfg.workdir, "preprocess", "dance preprocess --config <config>")
    dual = record.facts.get("dual_encoder")
    if not dual:
        sys.exit("the preprocess record names no dual encoder; run preprocess with enable_dual")
    manifest = Manifest.read(manifest_uri(cfg.workdir))
    annotations, _ = read_concept_annotations(cfg.dataset.root)
    # The shipped answers have a key; a user's concepts score only where they equal a true name.
    key = answer_key_for(answers_file)
    trained = DualEncoder.from_pretrained(dual["id"], kind=dual["kind"])
    language = cfg.discover.language
    lists = concepts_from_answers(manifest.class_names, answers_file)
    concepts, renamed = {}, {}
    for kind in KINDS:
        kept, report = filter_concepts(
            getattr(lists, kind), manifest.class_names, trained, language
        )
        concepts[kind], renamed[kind] = kept, report.renamed
    log(
        f"concepts after the filters: {len(concepts['objects'])} objects, "
        f"{len(concepts['scenes'])} scenes"
    )
    template = cfg.discover.pseudo_labels.template

    def entry(name: str, encoder: DualEncoder, encoder_id: str, embeddings: dict) -> dict:
        """One encoder's row of the results."""
        quality = encoder_quality(
            manifest, embeddings, encoder, encoder_id, concepts, renamed, template,
            annotations, key,
        )  # fmt: skip
        return {"id": name, "kind": dual["kind"], "dim": encoder.embed_dim,
                "quality": _brief(quality)}  # fmt: skip

    stored = dual_embeddings(read_videos(cfg.workdir, columns=["video_id", "status", "dual"]))
    results = {"preprocess": entry(dual["id"], trained, dual["id"], stored)}
    uris = dict(zip(manifest.video_ids, manifest.table["uri"].to_pylist(), strict=True))
    splits = dict(zip(manifest.video_ids, manifest.table["split"].to_pylist(), strict=True))
    test_videos = {v: uris[v] for v in manifest.video_ids if splits[v] == "test"}
    with tempfile.TemporaryDirectory(prefix="dance-bench-") as tmp:
        tiny_dir = TINY_BUILDERS[dual["kind"]](str(Path(tmp) / "tiny"))
        tiny = DualEncoder.from_pretrained(tiny_dir, kind=dual["kind"])
        log(f"decoding {len(test_videos)} test videos for the random {dual['kind']}")
        fresh = decoded_embeddings(cfg, tiny, tiny_dir, test_videos, str(Path(tmp) / "spill"))
        name = f"tiny random {dual['kind']} (dance.encoders.build_tiny_*)"
        results["random"] = entry(name, tiny, tiny_dir, fresh)
    audit = None
    if key is not None:  # the filters on the whole file, judged by its key
        audit = audit_answers_file(answers_file, key, trained, language)[0].to_dict()
    return {
        "workdir": cfg.workdir,
        "answers_file": answers_file,
        "template": template,
        "videos": {"test": len(test_videos), "with_embeddings": len(stored)},
        "concepts": concepts,
        "encoders": results,
        "filter_audit": audit,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
    }


def _cell(figures: dict[str, Any]) -> str:
    """'mean AUC (concepts scored)' of one encoder, type and split."""
    mean = "n/a" if figures["mean_auc"] is None else f"{figures['mean_auc']:.3f}"
    return f"{mean} ({figures['concepts']})"


def table(result: dict[str, Any]) -> str:
    """The Markdown table of benchmarks/README.md: mean AUC (concepts scored) per cell."""
    lines = [
        "| encoder | objects, test | scenes, test | objects, train | scenes, train |",
        "|---|---|---|---|---|",
    ]
    for name, encoder in result["encoders"].items():
        cells = [
            _cell(encoder["quality"][kind][split]) for split in ("test", "train") for kind in KINDS
        ]
        lines.append(f"| {name}: {encoder['id']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run, write the JSON and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="demo", help="preset name or YAML file")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--answers", default=None, help="answers file; default: config or synth")
    parser.add_argument("--out", default="benchmarks/results/pseudo_labels.json")
    args = parser.parse_args(argv)
    cfg = load_config(args.config, args.overrides)
    answers_file = args.answers or cfg.discover.language.answers_file or "synth"
    result = run(cfg, answers_file)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(table(result))
    if result["filter_audit"] is not None:
        audit = result["filter_audit"]
        print(f"filter audit: {'passed' if audit['passed'] else 'FAILED'}")
        for failure in audit["failures"]:
            print(f"  {failure}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
