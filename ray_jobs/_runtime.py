"""What every job needs from Ray and from the workdir before it builds its graph."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence

from dance import storage
from dance.config import DanceConfig, load_config
from dance.datasets import prepare_manifest
from dance.errors import DanceError
from dance.manifest import Manifest
from dance.progress import Log, log_to_stderr
from dance.workdir import (
    backbone_dir,
    dual_encoder_dir,
    dual_training_dir,
    lock_for_config,
    manifest_uri,
)

# Non-secret AWS settings that Ray workers need to reach the same S3 as the driver.
# Credentials are never forwarded (a runtime_env is visible cluster-wide): workers find
# their own through the standard AWS chain (instance role, their environment, a profile).
_AWS_ENV = (
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_EC2_METADATA_DISABLED",
)


def aws_runtime_env(cfg: DanceConfig, uris: Sequence[str]) -> dict[str, object]:
    """Extra Ray options forwarding the non-secret AWS settings when S3 is read or written."""
    if not (storage.is_s3(cfg.workdir) or any(storage.is_s3(u) for u in uris)):
        return {}
    env = {name: os.environ[name] for name in _AWS_ENV if name in os.environ}
    return {"runtime_env": {"env_vars": env}} if env else {}


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
        ray.init(
            num_cpus=cfg.ray.num_cpus, namespace=cfg.ray.namespace, include_dashboard=False,
            runtime_env={"worker_process_setup_hook": "ray_jobs._runtime.quiet_local_workers"},
        )


# Ray Train's placement-group cleaner asks the State API, which a local Ray without a
# dashboard does not serve, whether the controller lives; it warns on every check (about
# 250 lines in a demo run) and, failing to ask, never cleans up anyway.
_STATE_API_LOGGERS = ("ray.train.v2._internal.execution.controller.placement_group_cleaner",)


def quiet_local_workers() -> None:
    """Worker setup hook of a local Ray: silence warnings about the State API it lacks."""
    import logging

    for name in _STATE_API_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def load_or_prepare_manifest(cfg: DanceConfig, log: Log) -> Manifest:
    """The run's manifest (<workdir>/manifest.parquet), built (DANCE-Synth rendered) if missing."""
    uri = manifest_uri(cfg.workdir)
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
        "dual_training": {
            key: _absolute(getattr(cfg.dual_training, key)) for key in ("output", "state_dir")
        },
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
    # A model named as a training job's output stays linked to it once made absolute.
    if _absolute(cfg.backbone.model) == _absolute(finetune_output_uri(cfg)):
        updates["backbone"] = cfg.backbone.model_copy(
            update={"model": _absolute(finetune_output_uri(cfg))}
        )
    if _absolute(cfg.dual_encoder.model) == _absolute(dual_encoder_output_uri(cfg)):
        updates["dual_encoder"] = cfg.dual_encoder.model_copy(
            update={"model": _absolute(dual_encoder_output_uri(cfg))}
        )
    return cfg.model_copy(update=updates)


def finetune_output_uri(cfg: DanceConfig) -> str:
    """Where `dance finetune-backbone` writes: finetune.output, else <workdir>/backbone."""
    return cfg.finetune.output or backbone_dir(cfg.workdir)


def dual_encoder_output_uri(cfg: DanceConfig) -> str:
    """Where `dance train-dual-encoder` writes: dual_training.output, else <workdir>/dual_encoder."""
    return cfg.dual_training.output or dual_encoder_dir(cfg.workdir)


def dual_training_state_uri(cfg: DanceConfig) -> str:
    """Its clip cache and checkpoints: dual_training.state_dir, else <workdir>/dual_training."""
    return cfg.dual_training.state_dir or dual_training_dir(cfg.workdir)


def job_main(
    run: Callable[..., object],
    prog: str,
    description: str | None,
    argv: Sequence[str] | None = None,
) -> int:
    """`python -m ray_jobs.X --config PRESET_OR_YAML [--set key=value ...] [--force]`.

    User-fixable errors (DanceError: a bad config, a missing input, a stale stage) print
    one line and exit 2, so a `ray job submit` log shows the cause and the fix; any other
    exception is a bug and keeps its traceback.
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
    parser.add_argument(
        "--force",
        action="store_true",
        help="redo the stage: remove its outputs first, even if they match another config",
    )
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config, args.overrides)
        with lock_for_config(cfg, prog):  # one run per workdir, as `dance <stage>` does
            run(cfg, log_to_stderr, force=args.force)
    except DanceError as err:
        log_to_stderr(f"error: {err}")
        return 2
    return 0
