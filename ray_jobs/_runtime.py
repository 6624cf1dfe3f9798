"""What every job needs from Ray and from the workdir before it builds its graph."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from dance import storage
from dance.config import ConfigError, DanceConfig, load_config
from dance.manifest import Manifest
from dance.pipeline import Log, manifest_uri, prepare_manifest


def ensure_ray(cfg: DanceConfig, log: Log) -> None:
    """Reuse an initialised Ray; else connect to ray.address / $RAY_ADDRESS; else start locally."""
    import ray

    if ray.is_initialized():
        return
    address = cfg.ray.address or os.environ.get("RAY_ADDRESS")
    if address:
        log(f"connecting to Ray at {address}")
        ray.init(address=address, namespace=cfg.ray.namespace, log_to_driver=True)
    else:
        log(f"starting a local Ray instance (num_cpus={cfg.ray.num_cpus or 'all'})")
        ray.init(num_cpus=cfg.ray.num_cpus, namespace=cfg.ray.namespace, include_dashboard=False)


def load_or_prepare_manifest(cfg: DanceConfig, log: Log) -> Manifest:
    """The run's manifest (<workdir>/manifest.parquet), built (DANCE-Synth rendered) if missing."""
    uri = manifest_uri(cfg)
    if storage.exists(uri):
        return Manifest.read(uri)
    log(f"no manifest at {uri}: building it")
    return prepare_manifest(cfg, log)


def _absolute(value: str | None) -> str | None:
    """A local relative path made absolute; None, s3:// URIs and absolute paths unchanged."""
    if value is None or storage.is_s3(value) or os.path.isabs(value):
        return value
    return os.path.abspath(value)


def _absolute_if_local(value: str) -> str:
    """A model reference made absolute when it names an existing local directory (else a hub id)."""
    return _absolute(value) if os.path.exists(value) else value  # type: ignore[return-value]


def with_absolute_paths(cfg: DanceConfig) -> DanceConfig:
    """A copy of `cfg` whose local relative paths are absolute.

    Ray workers do not share the driver's working directory (Ray Train moves its workers
    into their trial folders), so a relative `outputs/demo` would name a different place
    on every worker. Model references become absolute only when they exist locally; any
    other value is a hub id.
    """
    section = {
        "dataset": {
            key: _absolute(getattr(cfg.dataset, key))
            for key in ("root", "manifest", "csv", "classes_file")
        },
        "finetune": {key: _absolute(getattr(cfg.finetune, key)) for key in ("output", "state_dir")},
        "preprocess": {
            key: _absolute(getattr(cfg.preprocess, key)) for key in ("spill_dir", "ground_truth")
        },
        "backbone": {"model": _absolute_if_local(cfg.backbone.model)},
        "dual_encoder": {"model": _absolute_if_local(cfg.dual_encoder.model)},
        "pose": {key: _absolute_if_local(getattr(cfg.pose, key)) for key in ("model", "detector")},
    }
    updates: dict[str, object] = {"workdir": _absolute(cfg.workdir)}
    for name, fields in section.items():
        updates[name] = getattr(cfg, name).model_copy(update=fields)
    # The backbone named as the fine-tuning output stays linked to it once made absolute.
    if _absolute(cfg.backbone.model) == _absolute(finetune_output_uri(cfg)):
        updates["backbone"] = cfg.backbone.model_copy(
            update={"model": _absolute(finetune_output_uri(cfg))}
        )
    return cfg.model_copy(update=updates)


def finetune_output_uri(cfg: DanceConfig) -> str:
    """Where `dance finetune-backbone` writes: finetune.output, else <workdir>/backbone."""
    return cfg.finetune.output or storage.join(cfg.workdir, "backbone")


def log_to_stderr(line: str) -> None:
    """The jobs' default log: one line on stderr, flushed (job logs interleave with Ray's)."""
    print(line, file=sys.stderr, flush=True)


def job_main(
    run: Callable[[DanceConfig, Log], object],
    prog: str,
    description: str | None,
    argv: Sequence[str] | None = None,
) -> int:
    """`python -m ray_jobs.X --config PRESET_OR_YAML [--set key=value ...]`: run, exit code.

    Expected errors (a bad config, a missing input) print one line and exit 2, so a
    `ray job submit` log shows the cause and the fix, not a traceback.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--config", "-c", default="demo", help="preset name or YAML path")
    parser.add_argument(
        "--set",
        "-s",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one key, e.g. --set train.lam=7e-4 (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        run(load_config(args.config, args.overrides), log_to_stderr)
    except (ConfigError, ValueError, FileNotFoundError, storage.StorageError) as err:
        log_to_stderr(f"error: {err}")
        return 2
    return 0
