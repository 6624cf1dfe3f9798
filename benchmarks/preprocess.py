"""Benchmark: does the Ray Data preprocess job cost more than it brings on one node, and is
its decode streamed (flat memory in the video's length)?

Two acceptance figures of the preprocess job, measured on DANCE-Synth with the `demo`
preset (mediapipe BlazePose with tracking, tiny random VideoMAE and X-CLIP built here):

1. Pipeline efficiency: `run_preprocess` on a local 2-CPU Ray vs. the same stages (the
   functions the actors wrap: decode_video, pose_batch, embed_batch x2, write_part, then
   summarize_outputs as the job's driver does) run back to back in ONE process, with the
   same config, models, batch sizes and data. Each side runs in its own fresh Python
   process; both wall clocks include loading the models (the job's includes actor
   start-up), neither includes `import ray` or ray.init, which are reported apart.
   Acceptance: ray_job_wall / one_process_wall <= 1.5. The two outputs are compared
   key by key (video_id, clip_index).
2. Memory: peak RSS (VmHWM) of a decode worker and of a pose worker on a short video and on
   a 10x longer one, each in a fresh process. Acceptance: long / short < 1.5. Reported
   too: the peak above the same process's imports-only peak, and, as a reference that the
   measurement can see a non-streamed decode, the peak of holding the long video's frames.

    .venv/bin/python benchmarks/preprocess.py [--classes 10 --videos-per-class 20]
        [--set key=value ...]   # config overrides, applied to BOTH sides

Writes benchmarks/results/preprocess.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

ACCEPTANCE_RATIO = 1.5
ACCEPTANCE_MEMORY = 1.5
Row = dict[str, Any]


# -- measuring helpers ------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _proc_stat(pid: str) -> tuple[int, float] | None:
    """(parent pid, CPU seconds incl. reaped children) of a live process; None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name, which may hold spaces: state ppid ... utime(14) ...
    fields = text[text.rindex(")") + 2 :].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return int(fields[1]), ticks / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of `root` and all its live descendants (each incl. its reaped children).

    A dead process reaped by a live member of the tree is counted once, in its reaper's
    cutime/cstime; processes re-parented outside the tree are missed (none in a local Ray).
    """
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(entry)
            if stat is not None:
                stats[int(entry)] = stat
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
        todo.extend(children.get(pid, []))
    return total


def system_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(v, 2) for v in os.getloadavg()]


def _emit(result: dict[str, Any]) -> None:
    """A child's result: one JSON line on stdout, the parent reads the last line."""
    print(json.dumps(result), flush=True)


# -- configuration shared by every process ------------------------------------------------


def job_overrides(work: Path, workdir: Path, extra: list[str]) -> list[str]:
    """The demo preset pointed at the benchmark's data, models, spill and `workdir`."""
    return [
        f"workdir={workdir}",
        f"dataset.root={work / 'data'}",
        "synth=null",  # the data is rendered once by this script, not by the job
        f"backbone.model={work / 'models' / 'videomae'}",
        f"dual_encoder.model={work / 'models' / 'xclip'}",
        f"preprocess.spill_dir={work / 'spill'}",
        *extra,
    ]


def load_job_config(settings: Path, workdir: Path) -> Any:
    """The DanceConfig of one side, from the settings file the parent wrote."""
    from dance.config import load_config

    spec = json.loads(settings.read_text())
    return load_config("demo", job_overrides(Path(spec["work"]), workdir, spec["overrides"]))


def _quiet(_line: str) -> None:
    """Drop the job's log lines (the children's stderr is kept in a file)."""


# -- side 1: every stage back to back in one process --------------------------------------


def rebatch(batches: Iterable[list[Row]], size: int) -> Iterator[list[Row]]:
    """Rows regrouped into lists of `size` (the last may be shorter), lazily."""
    pending: list[Row] = []
    for batch in batches:
        pending.extend(batch)
        while len(pending) >= size:
            yield pending[:size]
            pending = pending[size:]
    if pending:
        yield pending


def timed(
    name: str, step: Callable[[list[Row]], list[Row]], seconds: dict[str, float]
) -> Callable[[list[Row]], list[Row]]:
    """`step` that adds its wall time to seconds[name]."""

    def run(batch: list[Row]) -> list[Row]:
        start = time.perf_counter()
        try:
            return step(batch)
        finally:
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start

    return run


def one_process(settings: Path, workdir: Path) -> dict[str, Any]:
    """The job's stages back to back in this process; wall and CPU per stage."""
    started = time.perf_counter()
    cpu_started = time.process_time()
    from dance import storage
    from dance.encoders import DualEncoder, VideoBackbone
    from dance.manifest import Manifest
    from dance.pose.estimator import build_pose_estimator
    from dance.preprocess import (
        GroundTruthKeypoints,
        decode_video,
        embed_batch,
        failed_row,
        ground_truth_uri,
        pose_batch,
        resolve_encoder_models,
        split_block,
        summarize_outputs,
        write_part,
    )
    from dance.workdir import manifest_uri
    from ray_jobs.preprocess import decode_plan

    seconds: dict[str, float] = {"imports": time.perf_counter() - started}
    cfg = load_job_config(settings, workdir)
    storage.configure(cfg.storage)
    setup = time.perf_counter()
    models = resolve_encoder_models(cfg, _quiet)
    plan = decode_plan(cfg, models)
    estimator = build_pose_estimator(cfg.pose, device="cpu")
    backbone = VideoBackbone.from_pretrained(models.backbone, device="cpu")
    dual = DualEncoder.from_pretrained(models.dual, kind=cfg.dual_encoder.kind, device="cpu")
    seconds["load_models"] = time.perf_counter() - setup

    table = Manifest.read(manifest_uri(cfg.workdir)).table
    items = [
        {"video_id": v, "uri": u}
        for v, u in zip(
            table.column("video_id").to_pylist(), table.column("uri").to_pylist(), strict=True
        )
    ]

    def decode(batch: list[Row]) -> list[Row]:
        out = []
        for item in batch:  # as DecodeStage: an unexpected error fails one video
            try:
                out.append(decode_video(item["video_id"], item["uri"], plan))
            except Exception as exc:  # noqa: BLE001
                out.append(failed_row(item["video_id"], "unreadable", f"{type(exc).__name__}: {exc}"))
        return out

    def pose(batch: list[Row]) -> list[Row]:
        return pose_batch(batch, cfg.pose, estimator=estimator)

    def embed_backbone(batch: list[Row]) -> list[Row]:
        return embed_batch(
            batch, backbone.embed, "backbone_frames", "backbone_shape", "backbone", "backbone_error"
        )

    def embed_dual(batch: list[Row]) -> list[Row]:
        return embed_batch(batch, dual.embed_videos, "dual_frames", "dual_shape", "dual", "dual_error")

    parts: list[str] = []

    def write(batch: list[Row]) -> list[Row]:
        videos, clips = split_block(batch)
        parts.append(write_part(cfg.workdir, videos, clips))
        return batch

    # Lazy generators: one batch flows through all stages before the next is decoded, so
    # memory stays bounded as in the streaming job; each stage keeps its own batch size.
    flow: Iterable[list[Row]] = ([item] for item in items)
    chain = [
        ("decode", decode, cfg.preprocess.decode.batch_size),
        ("pose", pose, cfg.pose.resources.batch_size),
        ("backbone", embed_backbone, cfg.backbone.resources.batch_size),
        ("dual", embed_dual, cfg.dual_encoder.resources.batch_size),
        ("write", write, cfg.preprocess.writer.batch_size),
    ]
    for name, step, size in chain:
        flow = map(timed(name, step, seconds), rebatch(flow, size))
    processed = sum(len(batch) for batch in flow)

    start = time.perf_counter()
    truth_uri = ground_truth_uri(cfg)
    summary = summarize_outputs(cfg.workdir, cfg.clips.clip_length, GroundTruthKeypoints(truth_uri) if truth_uri else None)
    seconds["summary"] = time.perf_counter() - start
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "wall_s": round(wall, 2),
        "wall_without_imports_s": round(wall - seconds["imports"], 2),
        "cpu_s": round(time.process_time() - cpu_started, 2),
        "cpu_utilisation": round((time.process_time() - cpu_started) / wall, 3),
        "stage_wall_s": {k: round(v, 2) for k, v in seconds.items()},
        "videos": processed,
        "parts": len(parts),
        "torch_threads": _torch_threads(),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "summary": summary.to_dict(),
    }


def _torch_threads() -> int:
    """torch's intra-op thread count in this process."""
    import torch

    return torch.get_num_threads()


# -- side 2: the Ray Data job ---------------------------------------------------------------


def ray_job(settings: Path, workdir: Path) -> dict[str, Any]:
    """`run_preprocess` on a fresh local Ray; wall and CPU of the whole Ray process tree."""
    start = time.perf_counter()
    import ray

    from ray_jobs.preprocess import run_preprocess

    import_s = time.perf_counter() - start
    cfg = load_job_config(settings, workdir)
    start = time.perf_counter()
    # As ensure_ray does for a local start; the job then reuses this instance.
    ray.init(num_cpus=cfg.ray.num_cpus, namespace=cfg.ray.namespace, include_dashboard=False)
    init_s = time.perf_counter() - start
    cpu_before = tree_cpu_seconds(os.getpid())
    busy_before = system_busy()
    start = time.perf_counter()
    summary = run_preprocess(cfg, log=lambda line: print(line, file=sys.stderr, flush=True))
    job_s = time.perf_counter() - start
    cpu_job = tree_cpu_seconds(os.getpid()) - cpu_before
    busy_after = system_busy()
    ray.shutdown()
    machine_busy = (busy_after[0] - busy_before[0]) / max(busy_after[1] - busy_before[1], 1e-9)
    return {
        "import_ray_s": round(import_s, 2),
        "ray_init_s": round(init_s, 2),
        "job_wall_s": round(job_s, 2),
        "job_cpu_s_all_ray_processes": round(cpu_job, 2),
        "cpu_utilisation": round(cpu_job / job_s, 3),
        "machine_busy_fraction_during_job": round(machine_busy, 3),
        "summary": summary.to_dict(),
    }


# -- memory: one stage on one video, in a fresh process -------------------------------------


def _clear_peak() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux clear_refs 5); True if done."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def rss_decode(settings: Path, uri: str, out: Path) -> dict[str, Any]:
    """Peak RSS of a decode worker's work on one video; the decoded row saved to `out`."""
    import pyarrow.parquet as pq

    from dance.preprocess import DECODED_SCHEMA, decode_video, resolve_encoder_models, rows_to_table
    from ray_jobs.preprocess import decode_plan

    cfg = load_job_config(settings, Path(tempfile.mkdtemp()))
    # resolve_encoder_models imports dance.encoders (torch), as decode_video does in a worker.
    plan = decode_plan(cfg, resolve_encoder_models(cfg, _quiet))
    imports = peak_rss_mb()
    row = decode_video("video", uri, plan)
    peak = peak_rss_mb()
    pq.write_table(rows_to_table([row], DECODED_SCHEMA), str(out))
    return {
        "imports_peak_mb": round(imports, 1),
        "peak_mb": round(peak, 1),
        "above_imports_mb": round(peak - imports, 1),
        "num_frames": row["num_frames"],
        "pose_frames": len(row["pose_indices"]),
        "status": row["status"],
    }


def rss_pose(settings: Path, decoded: Path) -> dict[str, Any]:
    """Peak RSS of a pose worker: build the estimator, then pose one decoded video row."""
    import mediapipe  # noqa: F401 - the estimator's import, counted with the imports
    import pyarrow.parquet as pq

    from dance.pose.estimator import build_pose_estimator
    from dance.preprocess import pose_batch

    cfg = load_job_config(settings, Path(tempfile.mkdtemp()))
    imports = peak_rss_mb()
    # The worker receives the row as Arrow from the decode stage; read it the same way.
    rows = pq.read_table(str(decoded)).to_pylist()
    estimator = build_pose_estimator(cfg.pose, device="cpu")
    posed = pose_batch(rows, cfg.pose, estimator=estimator)
    peak = peak_rss_mb()
    return {
        "imports_peak_mb": round(imports, 1),
        "peak_mb": round(peak, 1),
        "above_imports_mb": round(peak - imports, 1),
        "clips": len(posed[0]["clips"] or []),
        "status": posed[0]["status"],
    }


def rss_whole_video(uri: str) -> dict[str, Any]:
    """Reference: peak RSS of holding every decoded frame of a video (no streaming)."""
    import numpy as np

    from dance.video import open_video

    gc.collect()
    imports = peak_rss_mb()
    with open_video(uri) as reader:
        frames = np.concatenate([chunk.frames for chunk in reader.iter_chunks(64)])
    peak = peak_rss_mb()
    return {
        "imports_peak_mb": round(imports, 1),
        "peak_mb": round(peak, 1),
        "above_imports_mb": round(peak - imports, 1),
        "frames_mb": round(frames.nbytes / 2**20, 1),
    }


# -- the parent: data, both sides, checks, results ----------------------------------------


def child(args: list[str], log: Path) -> dict[str, Any]:
    """Run this script's sub-command in a fresh Python process; its JSON result."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    with log.open("a") as err:
        err.write(f"\n=== {' '.join(args)}\n")
        err.flush()
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), *args],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark step {args[0]} failed ({done.returncode}); see {log}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def render_data(work: Path, classes: int, per_class: int, seed: int) -> dict[str, Any]:
    """DANCE-Synth demo videos and the tiny encoders, once; what was made."""
    from dance.config import SynthConfig
    from dance.encoders import build_tiny_videomae, build_tiny_xclip
    from dance.synth import generate_dataset

    synth = SynthConfig.preset_config(
        "demo", num_classes=classes, videos_per_class=per_class, shifted_test=False, seed=seed
    )
    start = time.perf_counter()
    generate_dataset(synth, str(work / "data"), progress=False)
    render_s = time.perf_counter() - start
    build_tiny_videomae(str(work / "models" / "videomae"))
    build_tiny_xclip(str(work / "models" / "xclip"))
    return {"synth": synth.model_dump(mode="json"), "render_s": round(render_s, 1)}


def render_memory_videos(work: Path, short: int, factor: int, seed: int) -> dict[str, str]:
    """One synth video of `short` frames and one of short * factor frames; their paths."""
    from dance.config import SynthConfig
    from dance.synth import generate_dataset

    paths = {}
    for name, frames in (("short", short), ("long", short * factor)):
        synth = SynthConfig(
            preset="custom", num_classes=1, videos_per_class=2, test_fraction=0.5,
            num_frames=frames, shifted_test=False, seed=seed, workers=1,
        )
        root = work / f"memory_{name}"
        generate_dataset(synth, str(root), progress=False)
        paths[name] = str(min((root / "videos").rglob("*.mp4")))
    return paths


def compare_outputs(one: Path, ray_dir: Path) -> dict[str, Any]:
    """Both sides' videos/ and clips/ compared key by key."""
    import numpy as np
    import pyarrow.parquet as pq

    def by_key(folder: Path, key: Callable[[Row], Any]) -> dict[Any, Row]:
        rows = pq.read_table(str(folder)).to_pylist()
        keyed = {key(r): r for r in rows}
        if len(keyed) != len(rows):
            raise RuntimeError(f"duplicate keys in {folder}")
        return keyed

    videos = [by_key(d / "videos", lambda r: r["video_id"]) for d in (one, ray_dir)]
    clips = [by_key(d / "clips", lambda r: (r["video_id"], r["clip_index"])) for d in (one, ray_dir)]
    same_ids = sorted(videos[0]) == sorted(videos[1])
    shared = sorted(set(videos[0]) & set(videos[1]))
    fields = ("status", "error", "num_frames", "keyframes")
    differing = {f: [v for v in shared if videos[0][v][f] != videos[1][v][f]] for f in fields}

    def max_diff(column: str) -> float:
        worst = 0.0
        for v in shared:
            a, b = videos[0][v][column], videos[1][v][column]
            if (a is None) != (b is None):
                return float("inf")
            if a is not None:
                worst = max(worst, float(np.max(np.abs(np.asarray(a) - np.asarray(b)))))
        return worst

    pose_worst, kept_differ, window_differ = 0.0, 0, 0
    for key in set(clips[0]) & set(clips[1]):
        a, b = clips[0][key], clips[1][key]
        kept_differ += a["kept"] != b["kept"]
        window_differ += (a["start"], a["end"], a["keyframe"]) != (b["start"], b["end"], b["keyframe"])
        pa_, pb = np.asarray(a["pose"], np.float64), np.asarray(b["pose"], np.float64)
        if not np.array_equal(np.isnan(pa_), np.isnan(pb)):
            pose_worst = float("inf")
        elif np.isfinite(pa_).any():
            pose_worst = max(pose_worst, float(np.nanmax(np.abs(pa_ - pb))))
    return {
        "same_video_ids": same_ids,
        "videos": len(videos[0]),
        "videos_differing": {f: len(v) for f, v in differing.items()},
        "same_clip_keys": sorted(clips[0]) == sorted(clips[1]),
        "clips": len(clips[0]),
        "clips_kept": [sum(c["kept"] for c in side.values()) for side in clips],
        "clips_kept_differing": kept_differ,
        "clip_windows_differing": window_differ,
        "pose_max_abs_diff_px": pose_worst,
        "backbone_max_abs_diff": max_diff("backbone"),
        "dual_max_abs_diff": max_diff("dual"),
    }


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import mediapipe
    import ray
    import torch

    mem_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "ray": ray.__version__,
        "torch": torch.__version__,
        "mediapipe": mediapipe.__version__,
    }


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    """Render data, run both sides and the memory probes; the results document."""
    work = Path(args.work or tempfile.mkdtemp(prefix="dance-bench-preprocess-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "children.log"
    print(f"work folder {work} (children's logs: {log})", file=sys.stderr, flush=True)
    settings = work / "settings.json"
    settings.write_text(json.dumps({"work": str(work), "overrides": args.overrides}))
    results: dict[str, Any] = {"machine": machine(), "load_average_before": load_average()}
    data = render_data(work, args.classes, args.videos_per_class, args.seed)

    from dance.datasets import prepare_manifest
    from dance.workdir import manifest_uri

    workdirs = {"one_process": work / "out_one_process", "ray": work / "out_ray"}
    cfg = load_job_config(settings, workdirs["one_process"])
    manifest = prepare_manifest(cfg, _quiet)
    workdirs["ray"].mkdir(parents=True)
    shutil.copy(manifest_uri(cfg.workdir), workdirs["ray"] / "manifest.parquet")  # same manifest
    results["settings"] = {
        "videos": len(manifest),
        "data": data,
        "config": "demo",
        "overrides_both_sides": args.overrides,
        "ray_num_cpus": cfg.ray.num_cpus,
        "stages": {
            "decode": cfg.preprocess.decode.model_dump(),
            "pose": {**cfg.pose.resources.model_dump(), "backend": cfg.pose.backend,
                     "tracking": cfg.pose.mediapipe_tracking},
            "backbone": cfg.backbone.resources.model_dump(),
            "dual": cfg.dual_encoder.resources.model_dump(),
            "writer": cfg.preprocess.writer.model_dump(),
        },
    }

    runs: list[dict[str, Any]] = []
    for repeat in range(args.repeats):
        pair: dict[str, Any] = {}
        for side in ("one_process", "ray"):
            out = workdirs[side] if repeat == 0 else work / f"out_{side}_{repeat}"
            if repeat:
                out.mkdir(parents=True)
                shutil.copy(workdirs["one_process"] / "manifest.parquet", out / "manifest.parquet")
            pair[side] = {"load_average_before": load_average()}
            print(f"run {repeat + 1}/{args.repeats}: {side} ...", file=sys.stderr, flush=True)
            pair[side].update(child([side, str(settings), str(out)], log))
            pair[side]["load_average_after"] = load_average()
        ray_, one = pair["ray"], pair["one_process"]
        pair["ratio_ray_job_over_one_process"] = round(ray_["job_wall_s"] / one["wall_s"], 3)
        pair["ratio_incl_ray_init"] = round((ray_["job_wall_s"] + ray_["ray_init_s"]) / one["wall_s"], 3)
        pair["ratio_cpu_s"] = round(ray_["job_cpu_s_all_ray_processes"] / one["cpu_s"], 3)
        runs.append(pair)
        print(f"  ratio {pair['ratio_ray_job_over_one_process']}", file=sys.stderr, flush=True)
    results["efficiency"] = {
        "runs": runs,
        "ratio": runs[0]["ratio_ray_job_over_one_process"],
        "acceptance": f"ray job wall / one-process wall <= {ACCEPTANCE_RATIO}",
        "passed": runs[0]["ratio_ray_job_over_one_process"] <= ACCEPTANCE_RATIO,
        "outputs_agree": compare_outputs(workdirs["one_process"], workdirs["ray"]),
    }

    if not args.skip_memory:
        print("memory probes ...", file=sys.stderr, flush=True)
        videos = render_memory_videos(work, args.short_frames, 10, args.seed)
        memory: dict[str, Any] = {}
        for name, uri in videos.items():
            decoded = work / f"decoded_{name}.parquet"
            memory[name] = {
                "decode": child(["rss-decode", str(settings), uri, str(decoded)], log),
                "pose": child(["rss-pose", str(settings), str(decoded)], log),
            }
        memory["long_all_frames_in_memory"] = child(["rss-whole", videos["long"]], log)
        for stage in ("decode", "pose"):
            short, long_ = memory["short"][stage], memory["long"][stage]
            memory[f"{stage}_ratio"] = round(long_["peak_mb"] / short["peak_mb"], 3)
            memory[f"{stage}_above_imports_delta_mb"] = round(
                long_["above_imports_mb"] - short["above_imports_mb"], 1
            )
        memory["acceptance"] = f"peak RSS long / short < {ACCEPTANCE_MEMORY}, decode and pose"
        memory["passed"] = max(memory["decode_ratio"], memory["pose_ratio"]) < ACCEPTANCE_MEMORY
        results["memory"] = memory
    results["load_average_after"] = load_average()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return results


def main() -> None:
    """Command line: the full benchmark, or one of its child steps."""
    steps = {
        "one_process": lambda a: one_process(Path(a[0]), Path(a[1])),
        "ray": lambda a: ray_job(Path(a[0]), Path(a[1])),
        "rss-decode": lambda a: rss_decode(Path(a[0]), a[1], Path(a[2])),
        "rss-pose": lambda a: rss_pose(Path(a[0]), Path(a[1])),
        "rss-whole": lambda a: rss_whole_video(a[0]),
    }
    if len(sys.argv) > 1 and sys.argv[1] in steps:
        _emit(steps[sys.argv[1]](sys.argv[2:]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--videos-per-class", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1, help="one-process/Ray pairs to run")
    parser.add_argument("--short-frames", type=int, default=64, help="memory probe: short video")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="config override applied to both sides")
    parser.add_argument("--work", help="work folder (default: a new temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--out", default=str(REPO_ROOT / "benchmarks" / "results" / "preprocess.json"))
    args = parser.parse_args()
    results = run_all(args)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: results[k] for k in ("efficiency", "memory") if k in results}, indent=2))


if __name__ == "__main__":
    main()
