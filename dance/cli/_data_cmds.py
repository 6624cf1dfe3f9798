"""`dance synth` and `dance manifest`: make or index a dataset."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated

import typer
from pydantic import ValidationError

from dance import storage
from dance.cli._errors import user_errors
from dance.config import ConfigError, DatasetConfig, SynthConfig
from dance.datasets import build_manifest
from dance.synth import generate_dataset


@contextlib.contextmanager
def _options_checked(command: str) -> Iterator[None]:
    """Bad option values (pydantic validation) become a ConfigError naming each option."""
    try:
        yield
    except ValidationError as err:
        problems = "; ".join(
            f"--{'.'.join(str(p) for p in e['loc']).replace('_', '-') or 'options'}: {e['msg']}"
            for e in err.errors()
        )
        raise ConfigError(f"{command}: {problems}") from None
    except ValueError as err:  # a preset name the config does not know
        raise ConfigError(f"{command}: {err}") from None


def synth_command(
    out: Annotated[str, typer.Option("--out", "-o", help="directory to write the dataset into")],
    preset: Annotated[str, typer.Option(help="tiny | demo | bench")] = "demo",
    seed: Annotated[int, typer.Option(help="same seed, same bytes")] = 0,
    workers: Annotated[
        int | None, typer.Option(help="rendering processes (default: up to 2)")
    ] = None,
) -> None:
    """Render DANCE-Synth: cartoon actions with known motion, object and scene causes."""
    with user_errors():
        overrides = {"seed": seed} | ({"workers": workers} if workers is not None else {})
        with _options_checked("dance synth"):
            config = SynthConfig.preset_config(preset, **overrides)
        summary = generate_dataset(config, out)
    typer.echo(summary.describe())
    typer.echo(f"wrote DANCE-Synth ({preset}, seed {seed}) to {out}")


def manifest_command(
    dataset: Annotated[
        str,
        typer.Option(
            help="ucf101 | haa500 | haa100 | penn_action | kth | kinetics | folder | table | synth"
        ),
    ],
    out: Annotated[str, typer.Option("--out", "-o", help="manifest.parquet to write (local or s3://)")],
    root: Annotated[str | None, typer.Option(help="the dataset's root folder")] = None,
    split_index: Annotated[int, typer.Option(help="official split (UCF-101: 1-3)")] = 1,
    csv: Annotated[
        str | None, typer.Option(help="annotation CSV (kinetics) or the table itself (table)")
    ] = None,
    actions: Annotated[
        str | None, typer.Option(help="comma-separated subset of classes (kth)")
    ] = None,
    val_fraction: Annotated[
        float, typer.Option(help="share of train carved into a stratified val split")
    ] = 0.1,
    seed: Annotated[int, typer.Option(help="seed of the val split")] = 0,
) -> None:
    """Index a dataset's own layout into a manifest (video_id, uri, label, label_name, split)."""
    with user_errors():
        with _options_checked("dance manifest"):
            config = DatasetConfig(
                name=dataset,
                root=root,
                split_index=split_index,
                csv=csv,
                actions=actions.split(",") if actions else None,
                val_fraction=val_fraction,
                seed=seed,
            )
        manifest = build_manifest(config)
        manifest.write(out)
    typer.echo(manifest.summary())
    typer.echo(f"wrote {len(manifest)} videos to {storage.join(out)}")
