"""`dance gradcam`: Video Grad-CAM / HiResCAM overlays of new videos, from a model bundle."""

from __future__ import annotations

import contextlib
import sys
from enum import Enum
from typing import Annotated

import typer

from dance.cli._errors import user_errors


class _Method(str, Enum):
    gradcam = "gradcam"
    hirescam = "hirescam"


class _Target(str, Enum):
    dance = "dance"
    backbone = "backbone"


def gradcam_command(
    videos: Annotated[
        list[str], typer.Argument(help="video files or s3:// URIs", metavar="VIDEO_OR_URI")
    ],
    model: Annotated[
        str,
        typer.Option("--model", "-m", help="the trained model bundle: <workdir>/model written "
                     "by `dance train`; its backbone is found as `dance predict` finds it"),
    ],
    out: Annotated[
        str,
        typer.Option("--out", "-o", help="output directory: <sha256>.gif overlays, <sha256>.npy "
                     "(T, H, W) maps and gradcam.json"),
    ],
    method: Annotated[
        _Method, typer.Option("--method", help="Grad-CAM (channel-averaged gradients) or "
                              "HiResCAM (elementwise gradient x activation)")
    ] = _Method.gradcam,
    target: Annotated[
        _Target, typer.Option("--target", help="the logit explained: DANCE's class through its "
                              "concept bottleneck, or the fine-tuned backbone's own class head")
    ] = _Target.dance,
    layer: Annotated[
        str | None,
        typer.Option("--layer", help="the VideoMAE encoder block, e.g. encoder.layer.11 "
                     "(default: the last)"),
    ] = None,
    class_name: Annotated[
        str | None,
        typer.Option("--class", help="the class to explain (default: each video's predicted one)"),
    ] = None,
    backbone: Annotated[
        str | None,
        typer.Option("--backbone", help="the backbone directory the preprocess job used, "
                     "when its stage record cannot name it"),
    ] = None,
) -> None:
    """Heat maps of where in space and time a class's evidence lies, per video: an overlay GIF
    of the frames the backbone sampled at the video's resolution, and the maps. Exit code 1
    when any video failed (the others are still done)."""
    from ray_jobs.gradcam import report, run_gradcam

    def err(line: str) -> None:
        typer.echo(line, err=True)

    with user_errors():
        # stdout carries the results only: anything printed while explaining goes to stderr
        with contextlib.redirect_stdout(sys.stderr):
            results = run_gradcam(model, videos, out, method.value, target.value, layer,
                                  class_name, backbone, log=err)
        code = report(results, out, typer.echo, err)
    raise typer.Exit(code)
