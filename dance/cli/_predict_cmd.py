"""`dance predict`: action classes and their top concepts for new videos, from a model bundle."""

from __future__ import annotations

import contextlib
import sys
from typing import Annotated

import typer

from dance.cli._errors import user_errors


def predict_command(
    videos: Annotated[
        list[str],
        typer.Argument(help="video files or s3:// URIs", metavar="VIDEO_OR_URI"),
    ],
    model: Annotated[
        str,
        typer.Option("--model", "-m", help="the trained model bundle: <workdir>/model (or "
                     "<workdir>/model_edits/NAME) written by `dance train`"),
    ],
    as_json: Annotated[
        bool,
        typer.Option("--json", help="print one JSON document (a list, one object per video) "
                     "and nothing else on stdout"),
    ] = False,
    html: Annotated[
        str | None,
        typer.Option("--html", metavar="OUT_DIR", help="also write one HTML page per video "
                     "(and index.html) into OUT_DIR"),
    ] = None,
    top_k: Annotated[
        int, typer.Option("--top-k", min=1, help="concepts shown per video and per type")
    ] = 3,
    ray_threshold: Annotated[
        int,
        typer.Option("--ray-threshold", min=0, help="up to this many videos run in this "
                     "process; more run through Ray Data"),
    ] = 8,
    backbone: Annotated[
        str | None,
        typer.Option("--backbone", help="the backbone directory the preprocess job used, "
                     "when its stage record cannot name it"),
    ] = None,
) -> None:
    """Predict the action class of each video with a trained DANCE model, with the concepts
    behind it. Exit code 1 when any video failed (the others are still predicted)."""
    from ray_jobs.predict import emit_predictions, run_predict

    def err(line: str) -> None:
        typer.echo(line, err=True)

    with user_errors():
        # stdout carries the results only: anything printed while predicting goes to stderr
        with contextlib.redirect_stdout(sys.stderr):
            results = run_predict(model, videos, top_k, ray_threshold, backbone, log=err)
        code = emit_predictions(results, as_json, html, typer.echo, err, model)
    raise typer.Exit(code)
