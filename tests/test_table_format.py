"""Table 1 as text: one column per split the rows carry, '-' where a row has no figure."""

from __future__ import annotations

from ray_jobs.table import format_table

PROBE = {"row": "linear probe", "val": 0.5, "test": 0.625, "concepts": {"feature": 96},
         "nonzeros": {"feature": 100}}
HEAD = {"row": "fine-tuned backbone (own head)", "val": 0.7, "test": 0.5, "concepts": {},
        "nonzeros": {}}


def test_without_a_shifted_set_the_table_shows_val_and_test_only():
    header = format_table([HEAD, PROBE]).splitlines()[0]
    assert "val %" in header and "test %" in header and "shifted" not in header


def test_a_shifted_column_appears_and_rows_without_it_show_a_dash():
    lines = format_table([HEAD, {**PROBE, "shifted": 0.4}]).splitlines()
    assert "shifted %" in lines[0]
    assert lines[2].split()[4:7] == ["70.0", "50.0", "-"]  # after the 4 words of its name
    assert lines[3].split()[2:5] == ["50.0", "62.5", "40.0"]
