"""Assemble a DANCE-Synth dataset: plan the videos, render them in a process pool, write tables."""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from dance import storage
from dance.config import SynthConfig
from dance.synth._classes import SynthClass, build_catalogue, context_donor
from dance.synth._dataset_tables import (
    Job,
    Rendered,
    caption_table,
    classes_document,
    concept_table,
    ground_truth_table,
    jobs_manifest,
)
from dance.synth._encode import VideoFileWriter
from dance.synth._render import RenderSpec, render_video
from dance.synth._skeleton_motion import all_program_names, motion_program, program_primitives

GENERATOR_VERSION = "3"  # 2: captions.parquet; 3: person and object boxes in ground truth
_AUTO_PROGRESS_MIN_VIDEOS = 100
_SPLIT_STREAM = 1_000_003  # spawn-key slot of the per-class train/test draw
_MIXED_CONTEXT_STREAM = 1_000_004  # spawn-key slot of a video's context class (context: mixed)


@dataclass(frozen=True)
class SynthSummary:
    """What generate_dataset wrote: counts, wall time and the output paths."""

    out_dir: str
    num_classes: int
    num_videos: int
    num_train: int
    num_test: int
    num_shifted: int
    seconds: float
    videos_per_second: float
    cpu_seconds: float  # render + encode CPU time summed over all videos (machine-load free)
    paths: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """One line for logs: counts, time and where it went."""
        return (
            f"DANCE-Synth: {self.num_classes} classes, {self.num_videos} videos "
            f"({self.num_train} train / {self.num_test} test) + {self.num_shifted} shifted, "
            f"{self.seconds:.1f} s ({self.videos_per_second:.1f} videos/s) -> {self.out_dir}"
        )


def primitive_names() -> tuple[str, ...]:
    """All motion primitives of the catalogue, sorted; a primitive's id is its index here."""
    names: set[str] = set()
    for program in all_program_names():
        forward = motion_program(program)
        names.update(program_primitives(forward))
        names.update(program_primitives(motion_program(f"{program}_reversed", program)))
    return tuple(sorted(names))


def video_id_for(cls: SynthClass, index: int, shifted: bool = False) -> str:
    """The stable id of a class's index-th video (the shifted re-render has its own id)."""
    base = f"synth_{cls.name}_{index:04d}"
    return f"{base}_shifted" if shifted else base


def split_test_indices(config: SynthConfig, cls: SynthClass) -> set[int]:
    """Which of a class's videos are test videos: a seeded draw per (seed, class)."""
    seq = np.random.SeedSequence(
        entropy=config.seed, spawn_key=(cls.catalogue_index, _SPLIT_STREAM)
    )
    order = np.random.default_rng(seq).permutation(config.videos_per_class)
    return {int(i) for i in order[: config.num_test_per_class]}


def _spec(
    config: SynthConfig, cls: SynthClass, context: SynthClass, index: int, shifted: bool
) -> RenderSpec:
    """The render spec of one video."""
    return RenderSpec(
        video_id=video_id_for(cls, index, shifted),
        cls=cls,
        context=context,
        index=index,
        shifted=shifted,
        seed=config.seed,
        num_frames=config.num_frames,
        height=config.height,
        width=config.width,
        person_height=config.person_height,
        camera_jitter_px=config.camera_jitter_px,
        noise_std=config.noise_std,
        max_distractors=config.max_distractors,
    )


def video_context(
    config: SynthConfig, cls: SynthClass, index: int, classes: list[SynthClass]
) -> SynthClass:
    """The class whose objects, scenes and holding a video uses: its own, or (context: mixed)
    one drawn per video from (seed, class, index)."""
    if config.context == "class":
        return cls
    seq = np.random.SeedSequence(
        entropy=config.seed, spawn_key=(cls.catalogue_index, index, _MIXED_CONTEXT_STREAM)
    )
    return classes[int(np.random.default_rng(seq).integers(len(classes)))]


def plan_jobs(config: SynthConfig, classes: list[SynthClass]) -> list[Job]:
    """Every video of the dataset (original and shifted), sorted by video_id."""
    ext = config.container
    jobs: list[Job] = []
    for cls in classes:
        tests = split_test_indices(config, cls)
        donor = context_donor(cls, classes) if config.shifted_test else None
        for index in range(config.videos_per_class):
            split = "test" if index in tests else "train"
            context = video_context(config, cls, index, classes)
            spec = _spec(config, cls, context, index, shifted=False)
            jobs.append(Job(spec, f"videos/{spec.video_id}.{ext}", split))
            if donor is not None and split == "test":
                sspec = _spec(config, cls, donor, index, shifted=True)
                jobs.append(Job(sspec, f"videos_shifted/{sspec.video_id}.{ext}", "test"))
    return sorted(jobs, key=lambda job: job.spec.video_id)


def _render_job(job: Job, out_dir: str, config_codec: str, container: str, fps: int, crf: int
                ) -> Rendered:  # fmt: skip
    """Render and encode one video frame by frame; return its ground truth."""
    cpu_start = time.process_time()
    frames, truth = render_video(job.spec)
    path = os.path.join(out_dir, job.rel_path)
    with VideoFileWriter(path, job.spec.width, job.spec.height, fps, config_codec, container, crf
                         ) as writer:  # fmt: skip
        for frame in frames:
            writer.write(frame)
    return Rendered(
        job.spec.video_id,
        truth.keypoints,
        truth.primitives,
        truth.object,
        truth.scene,
        truth.person_boxes,
        truth.object_boxes,
        time.process_time() - cpu_start,
    )


def _worker_init() -> None:
    """One thread per worker process: the pool is the parallelism."""
    import cv2

    cv2.setNumThreads(1)


def _run_jobs(
    jobs: list[Job], config: SynthConfig, out_dir: str, progress: bool
) -> Iterator[Rendered]:
    """Render all jobs, in-process for one worker, else in a spawn-started process pool."""
    args = (out_dir, config.codec, config.container, config.fps, config.crf)
    if config.workers == 1 or len(jobs) == 1:
        results: Iterable[Rendered] = (_render_job(job, *args) for job in jobs)
        yield from _with_progress(results, len(jobs), progress)
        return
    # spawn, not fork: OpenCV and FFmpeg hold threads that a forked child must not inherit.
    context = multiprocessing.get_context("spawn")
    workers = min(config.workers, len(jobs))
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init) as pool:
        futures = [pool.submit(_render_job, job, *args) for job in jobs]
        try:
            yield from _with_progress((f.result() for f in futures), len(jobs), progress)
        except BaseException:
            # A failed video fails the run: do not render the rest first.
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _with_progress(items: Iterable[Rendered], total: int, show: bool) -> Iterator[Rendered]:
    """Pass items through, drawing a progress bar on stderr when asked."""
    if not show:
        yield from items
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(file=sys.stderr), transient=False) as bar:
        task = bar.add_task("DANCE-Synth videos", total=total)
        for item in items:
            yield item
            bar.advance(task)


def _synth_document(
    config: SynthConfig, counts: dict[str, int], files: list[str]
) -> dict[str, object]:
    """synth.json: generator, version, resolved config (without workers), counts and files."""
    return {
        "generator": "dance.synth",
        "generator_version": GENERATOR_VERSION,
        # workers is left out: the bytes must not depend on it.
        "config": config.model_dump(mode="json", exclude={"workers"}),
        "counts": counts,
        "files": files,
    }


def synth_dataset_matches(config: SynthConfig, out_dir: str) -> bool:
    """Whether `out_dir` already holds a complete dataset generated from this config."""
    if "://" in out_dir:
        return False
    synth_path = os.path.join(out_dir, "synth.json")
    if not os.path.isfile(synth_path):
        return False
    try:
        written = storage.read_json(synth_path)
    except (ValueError, storage.StorageError):
        return False
    expected = config.model_dump(mode="json", exclude={"workers"})
    if written.get("generator_version") != GENERATOR_VERSION or written.get("config") != expected:
        return False
    jobs = plan_jobs(config, build_catalogue(config.num_classes))
    tables = ["manifest", "ground_truth", "concept_annotations", "captions"]
    if config.shifted_test:
        tables.append("manifest_shifted")
    return all(os.path.isfile(os.path.join(out_dir, f"{t}.parquet")) for t in tables) and all(
        os.path.isfile(os.path.join(out_dir, job.rel_path)) for job in jobs
    )


def generate_dataset(
    config: SynthConfig, out_dir: str, progress: bool | None = None
) -> SynthSummary:
    """Render the dataset described by `config` into the local folder `out_dir`.

    Same config (whatever `workers`) and seed -> byte-identical files. progress: draw a bar
    on stderr (None: only for runs of at least 100 videos).
    """
    if not isinstance(config, SynthConfig):
        raise TypeError(
            f"config must be a SynthConfig, got {type(config).__name__}; "
            "build one with SynthConfig.preset_config('demo')"
        )
    if "://" in out_dir:
        raise ValueError(
            f"out_dir must be a local folder, got {out_dir!r}; generate locally, then copy"
        )
    if config.shifted_test and config.num_classes < 2:
        raise ValueError(
            "shifted_test needs num_classes >= 2 (objects/scenes come from another class)"
        )
    start = time.perf_counter()
    out_dir = os.path.abspath(out_dir)
    classes = build_catalogue(config.num_classes)
    jobs = plan_jobs(config, classes)
    for sub in ("videos", "videos_shifted" if config.shifted_test else None):
        if sub:
            os.makedirs(os.path.join(out_dir, sub), exist_ok=True)
    # synth.json is written last: without it a half-rewritten folder never looks complete.
    stale_marker = os.path.join(out_dir, "synth.json")
    if os.path.exists(stale_marker):
        os.remove(stale_marker)
    show = len(jobs) >= _AUTO_PROGRESS_MIN_VIDEOS if progress is None else progress
    rendered = {r.video_id: r for r in _run_jobs(jobs, config, out_dir, show)}

    prims = primitive_names()
    prim_ids = {name: i for i, name in enumerate(prims)}
    originals = [job for job in jobs if not job.spec.shifted]
    shifted = [job for job in jobs if job.spec.shifted]
    paths = {
        "manifest": os.path.join(out_dir, "manifest.parquet"),
        "ground_truth": os.path.join(out_dir, "ground_truth.parquet"),
        "concept_annotations": os.path.join(out_dir, "concept_annotations.parquet"),
        "captions": os.path.join(out_dir, "captions.parquet"),
        "classes": os.path.join(out_dir, "classes.json"),
        "primitives": os.path.join(out_dir, "primitives.json"),
        "synth": os.path.join(out_dir, "synth.json"),
        "videos": os.path.join(out_dir, "videos"),
    }
    jobs_manifest(originals, classes).write(paths["manifest"])
    if shifted:
        paths["manifest_shifted"] = os.path.join(out_dir, "manifest_shifted.parquet")
        paths["videos_shifted"] = os.path.join(out_dir, "videos_shifted")
        jobs_manifest(shifted, classes).write(paths["manifest_shifted"])
    storage.write_parquet(ground_truth_table(jobs, rendered, prim_ids), paths["ground_truth"])
    storage.write_parquet(concept_table(jobs, rendered), paths["concept_annotations"])
    storage.write_parquet(caption_table(jobs, rendered), paths["captions"])
    storage.write_json(classes_document(classes, bool(shifted)), paths["classes"])
    storage.write_json({str(i): name for i, name in enumerate(prims)}, paths["primitives"])
    num_test = sum(job.split == "test" for job in originals)
    counts = {
        "classes": len(classes),
        "videos": len(originals),
        "train": len(originals) - num_test,
        "test": num_test,
        "shifted": len(shifted),
        "frames_per_video": config.num_frames,
    }
    tables = sorted(os.path.basename(p) for k, p in paths.items() if os.path.splitext(p)[1])
    storage.write_json(_synth_document(config, counts, tables), paths["synth"])
    seconds = time.perf_counter() - start
    return SynthSummary(
        out_dir=out_dir,
        num_classes=len(classes),
        num_videos=len(originals),
        num_train=counts["train"],
        num_test=num_test,
        num_shifted=len(shifted),
        seconds=seconds,
        videos_per_second=len(jobs) / seconds if seconds > 0 else float("inf"),
        cpu_seconds=float(sum(r.cpu_seconds for r in rendered.values())),
        paths=paths,
    )
