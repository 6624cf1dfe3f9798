"""The `dance` command line: one subcommand per job, each with --help."""

from __future__ import annotations

import typer

from dance.cli._concept_clips_cmd import concept_clips_command
from dance.cli._config_cmd import config_app
from dance.cli._data_cmds import manifest_command, synth_command
from dance.cli._discover_cmd import discover_command
from dance.cli._dual_cmd import train_dual_encoder_command
from dance.cli._explain_cmds import report_command, sanity_command
from dance.cli._finetune_cmd import finetune_backbone_command
from dance.cli._gradcam_cmd import gradcam_command
from dance.cli._predict_cmd import predict_command
from dance.cli._preprocess_cmd import preprocess_command
from dance.cli._run_cmd import demo_command, run_command
from dance.cli._submit_cmds import logs_command, status_command, stop_command, submit_command
from dance.cli._tcav_cmd import tcav_command
from dance.cli._train_cmd import evaluate_command, intervene_command, train_command

app = typer.Typer(
    name="dance",
    help=(
        "Explainable video action recognition with disentangled motion, object and scene "
        "concepts (DANCE), as batch jobs on Ray. Start with `dance demo`."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(config_app, name="config")
app.command("synth")(synth_command)
app.command("manifest")(manifest_command)
app.command("finetune-backbone")(finetune_backbone_command)
app.command("train-dual-encoder")(train_dual_encoder_command)
app.command("preprocess")(preprocess_command)
app.command("discover")(discover_command)
app.command("train")(train_command)
app.command("evaluate")(evaluate_command)
app.command("intervene")(intervene_command)
app.command("predict")(predict_command)
app.command("gradcam")(gradcam_command)
app.command("concept-clips")(concept_clips_command)
app.command("tcav")(tcav_command)
app.command("sanity")(sanity_command)
app.command("report")(report_command)
app.command("run")(run_command)
app.command("demo")(demo_command)
app.command("submit")(submit_command)
app.command("status")(status_command)
app.command("logs")(logs_command)
app.command("stop")(stop_command)


def main() -> None:
    """Entry point of the `dance` console script."""
    app()
