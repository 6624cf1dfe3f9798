"""docs/configuration.md is generated from the config models and kept up to date.

`dance config reference` renders every section and key of DanceConfig (type, bounds,
default, description) as Markdown; the committed page must equal what it renders now.
"""

from __future__ import annotations

import typing
from pathlib import Path

from pydantic import BaseModel
from typer.testing import CliRunner

from dance.cli import app
from dance.config import DanceConfig, render_reference

PAGE = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
REGENERATE = "dance config reference --output docs/configuration.md"


def _key_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every key path of a config model, sections included."""
    paths = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        paths.append(path)
        for candidate in (field.annotation, *typing.get_args(field.annotation)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                paths += _key_paths(candidate, f"{path}.")
    return paths


def test_configuration_page_is_up_to_date() -> None:
    assert PAGE.is_file(), f"docs/configuration.md is missing; write it with `{REGENERATE}`"
    assert PAGE.read_text(encoding="utf-8") == render_reference(), (
        f"docs/configuration.md is out of date with the config models in dance/config; "
        f"regenerate it with `{REGENERATE}`"
    )


def test_the_page_names_the_command_that_regenerates_it() -> None:
    assert f"`{REGENERATE}`" in render_reference()


def test_every_key_has_a_row_with_its_default() -> None:
    text = render_reference()
    missing = [path for path in _key_paths(DanceConfig) if f"| `{path}` |" not in text]
    assert not missing, f"keys without a row: {missing}"
    assert "| `train.lam` | float (> 0) | `0.0007` |" in text
    # a section's defaults are the field's own: pose.resources batches 32, not 8
    assert "| `pose.resources.batch_size` | int (>= 1) | `32` |" in text


def test_machine_dependent_defaults_say_how_they_are_computed() -> None:
    assert "| `synth.workers` | int (>= 1, <= 256) | computed: min(2, CPU count)" in (
        render_reference()
    )


def test_cli_prints_the_reference_and_writes_it_to_a_file(tmp_path: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["config", "reference"])
    assert shown.exit_code == 0, shown.output
    assert shown.output == render_reference()
    out = tmp_path / "configuration.md"
    written = runner.invoke(app, ["config", "reference", "--output", str(out)])
    assert written.exit_code == 0, written.output
    assert out.read_text(encoding="utf-8") == render_reference()
