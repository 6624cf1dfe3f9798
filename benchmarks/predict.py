"""Benchmark: what `dance predict` costs per video beyond decoding it and the backbone pass.

    .venv/bin/python benchmarks/predict.py [--repeats 15] [DATA_DIR]
        # DATA_DIR: sample videos, default $DANCE_SHARED_DATA; writes results/predict.json

Off the clock, it renders one DANCE-Synth video (the `tiny` preset's first video at the demo
length, 64 frames of 160x160), exports a random VideoMAE of the demo's architecture
(`dance.finetune.build_classifier` on the `demo` preset's finetune settings: 64 px, patch
16, 3 layers of 96) and saves a DANCE bundle over it (random concept layers of 40 motion,
20 object and 12 scene concepts, 10 classes) whose metadata carries the `demo` config, so
predict finds the backbone and rebuilds the decode plan as it would for a demo model.

Per video, in one process on one torch thread, interleaved (the order reversed on every
other repeat, after one warm-up of each):

- **floor**: decode every frame once (`dance.video` chunks of the plan's size), keep the
  frames the backbone samples, resize them, one `VideoBackbone.embed`: the least any
  predictor must do;
- **floor decode**: the same without the forward pass;
- **decode_video**: the preprocess job's decode with predict's plan (no keyframe detection:
  `DecodePlan.find_keyframes=False`);
- **predict**: `ray_jobs.predict.run_predict` on that one video with a loaded Predictor
  (decode_video, embed_batch, logits, softmax, explain_videos): the full path;
- **keyframes alone**: the keyframe detector the preprocess job runs and predict skips, on
  the video's frames decoded beforehand: what skipping it saves.

CPU is `time.process_time` (all threads of this process), wall is `perf_counter`; medians
over the repeats. The ratio predict / floor is the figure of merit (target <= 1.2); the
exit code is 1 when a video's CPU ratio is above it. Loading the bundle and the backbone
is a one-time cost, reported apart. Before timing, the floor's features are checked equal
to predict's.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from dance.config import SynthConfig, load_config
from dance.encoders import backbone_frame_indices
from dance.finetune import build_classifier, export_model, processor_config_for
from dance.keyframes import KeyframeDetector
from dance.preprocess import resize_frames, shorter_side_size
from dance.progress import quiet
from dance.synth import generate_dataset
from dance.train import DanceModel
from dance.video import open_video
from ray_jobs.predict import Predictor, run_predict

TARGET = 1.2
# The same place the tests look for sample media (tests/conftest.py, shared_data).
DEFAULT_DATA = Path(os.environ.get("DANCE_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")
CONCEPTS = {"motion": 40, "object": 20, "scene": 12}
CLASSES = [f"class_{i}" for i in range(10)]


def build_bundle(root: Path) -> tuple[str, str]:
    """(model bundle directory, one DANCE-Synth video) built under `root`."""
    synth = root / "synth"
    generate_dataset(SynthConfig.preset_config("tiny", workers=1, num_frames=64,
                                               shifted_test=False), str(synth))
    video = str(min(synth.rglob("*.mp4")))
    cfg = load_config("demo", [f"workdir={root / 'work'}", f"dataset.root={synth}"])
    network = build_classifier(cfg.finetune, CLASSES, cfg.backbone.num_frames)
    backbone = export_model(str(root / "backbone"), network, processor_config_for(cfg.finetune),
                            {})
    cfg = cfg.model_copy(update={"backbone": cfg.backbone.model_copy(update={"model": backbone})})
    dim = int(network.config.hidden_size)
    rng = np.random.default_rng(0)
    total = sum(CONCEPTS.values())
    model = DanceModel(
        kind="dance",
        concept_weights={t: rng.normal(0, dim ** -0.5, (n, dim)).astype(np.float32)
                         for t, n in CONCEPTS.items()},
        mean=np.zeros(total, np.float32), std=np.ones(total, np.float32),
        final_weight=rng.normal(0, 0.1, (len(CLASSES), total)).astype(np.float32),
        final_bias=np.zeros(len(CLASSES), np.float32),
        concept_names={t: [f"{t}_{k:02d}" for k in range(n)] for t, n in CONCEPTS.items()},
        class_names=CLASSES,
        metadata={"config": cfg.model_dump(mode="json")},
    )
    model.save_pretrained(str(root / "model"))
    return str(root / "model"), video


def floor_decode(uri: str, predictor: Predictor) -> np.ndarray:
    """Every frame decoded once; the backbone's sampled frames, resized, as one clip."""
    plan = predictor.plan
    with open_video(uri) as reader:
        wanted = backbone_frame_indices(reader.info.num_frames, plan.backbone)
        kept: dict[int, np.ndarray] = {}
        for chunk in reader.iter_chunks(plan.chunk_frames):
            for index in wanted[(wanted >= chunk.start) & (wanted < chunk.stop)].tolist():
                kept[index] = chunk.frames[index - chunk.start]
    height, width = kept[int(wanted[0])].shape[:2]
    size = shorter_side_size(height, width, plan.backbone_side or height)
    return resize_frames(np.stack([kept[int(i)] for i in wanted]), size)


def floor(uri: str, predictor: Predictor) -> np.ndarray:
    """floor_decode plus one backbone forward pass: the video's feature vector."""
    return predictor.backbone.embed(floor_decode(uri, predictor)[None])[0]


def keyframes_alone(chunks: list[np.ndarray], predictor: Predictor) -> None:
    """The keyframe detector decode_video runs, on frames decoded beforehand."""
    detector = KeyframeDetector(predictor.cfg.keyframes)
    for frames in chunks:
        detector.update(frames, frames_stay_unchanged=True)
    detector.finish()


def timed(run: Callable[[], Any]) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    return time.process_time() - cpu, time.perf_counter() - wall


def bench_video(uri: str, model_dir: str, predictor: Predictor, repeats: int) -> dict[str, Any]:
    """Medians of each path's CPU and wall ms on one video, and the predict / floor ratios."""
    paths: dict[str, Callable[[], Any]] = {
        "floor": lambda: floor(uri, predictor),
        "floor_decode": lambda: floor_decode(uri, predictor),
        "decode_video": lambda: predictor.decode("v", uri),
        "predict": lambda: run_predict(model_dir, [uri], log=quiet, predictor=predictor),
        "keyframes_alone": lambda: keyframes_alone(chunks, predictor),
    }
    with open_video(uri) as reader:
        chunks = [chunk.frames for chunk in reader.iter_chunks(predictor.plan.chunk_frames)]
    row = predictor.rows([{"video_id": "v", "uri": uri}])["v"]
    same = np.allclose(row["backbone"], floor(uri, predictor), atol=1e-5)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}
    for name, run in paths.items():  # warm-up: caches, lazy imports, allocator
        run()
    for repeat in range(repeats):
        order = list(paths) if repeat % 2 == 0 else list(reversed(paths))
        for name in order:
            samples[name].append(timed(paths[name]))
    with open_video(uri) as reader:
        info = reader.info
    out: dict[str, Any] = {"video": Path(uri).name, "frames": info.num_frames,
                           "size": f"{info.width}x{info.height}", "features_equal": bool(same)}
    for name, values in samples.items():
        out[name] = {
            "cpu_ms": round(1000 * statistics.median(c for c, _ in values), 2),
            "wall_ms": round(1000 * statistics.median(w for _, w in values), 2),
            "cpu_ms_all": [round(1000 * c, 2) for c, _ in values],
        }
    out["ratio_cpu"] = round(out["predict"]["cpu_ms"] / out["floor"]["cpu_ms"], 3)
    out["ratio_wall"] = round(out["predict"]["wall_ms"] / out["floor"]["wall_ms"], 3)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; write the JSON; exit 1 when a CPU ratio is above the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks/results/predict.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="dance-bench-predict-") as tmp:
        model_dir, synth_video = build_bundle(Path(tmp))
        load_cpu, load_wall = timed(lambda: Predictor(model_dir, log=quiet).backbone)
        predictor = Predictor(model_dir, log=quiet)
        videos = [synth_video]
        real = args.data / "acrobacia.mp4"
        if real.is_file():
            videos.append(str(real))
        else:
            print(f"note: no sample video at {real}; DANCE-Synth only", file=sys.stderr)
        results = [bench_video(v, model_dir, predictor, args.repeats) for v in videos]
    report = {
        "target_ratio": TARGET,
        "repeats": args.repeats,
        "torch_threads": torch.get_num_threads(),
        "backbone": "random VideoMAE, demo finetune architecture (64 px, patch 16, 3 x 96)",
        "concepts": CONCEPTS,
        "one_time_load": {"cpu_ms": round(1000 * load_cpu, 1),
                          "wall_ms": round(1000 * load_wall, 1)},
        "videos": results,
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "torch": torch.__version__},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print("video | frames | floor CPU ms | predict CPU ms | ratio CPU | floor wall ms | "
          "predict wall ms | ratio wall | keyframe detector CPU ms (skipped)")
    for r in results:
        print(f"{r['video']} | {r['frames']} | {r['floor']['cpu_ms']} | {r['predict']['cpu_ms']} | "
              f"{r['ratio_cpu']} | {r['floor']['wall_ms']} | {r['predict']['wall_ms']} | "
              f"{r['ratio_wall']} | {r['keyframes_alone']['cpu_ms']}")
    print(f"written to {args.out}")
    return 0 if all(r["ratio_cpu"] <= TARGET and r["features_equal"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
