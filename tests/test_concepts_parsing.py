"""LLM answers become concept items by text rules; concept lists also come from files and annotations."""

from __future__ import annotations

import pyarrow as pa
import pytest

from dance.concepts._answer_parsing import parse_answer
from dance.concepts.language import concepts_from_annotations, concepts_from_files
from dance.config import LanguageConceptConfig


def test_dash_bullet_and_star_bullets_are_items() -> None:
    assert parse_answer("- cup\n• glass\n* water bottle\n-straw") == [
        "cup",
        "glass",
        "water bottle",
        "straw",
    ]


def test_numbered_items_with_dot_or_parenthesis_are_items() -> None:
    assert parse_answer("1. basketball\n2) hoop\n10. scoreboard") == [
        "basketball",
        "hoop",
        "scoreboard",
    ]


def test_a_comma_list_is_split_and_its_conjunction_and_period_removed() -> None:
    assert parse_answer("bat, ball, glove, and helmet.") == ["bat", "ball", "glove", "helmet"]


def test_an_introduction_before_a_colon_is_dropped_from_a_comma_list() -> None:
    assert parse_answer("Common objects: bat, ball; glove") == ["bat", "ball", "glove"]


def test_prose_lines_around_a_list_are_dropped() -> None:
    answer = "Here are some objects:\n\n- rope\n- mat\n\nI hope this helps with your project!"
    assert parse_answer(answer) == ["rope", "mat"]


def test_a_description_after_the_item_name_is_cut_off() -> None:
    answer = "1. **Racket**: used to hit the ball\n2. Shuttlecock - the projectile\n3. T-shirt"
    assert parse_answer(answer) == ["Racket", "Shuttlecock", "T-shirt"]


def test_headings_over_nested_items_are_not_items() -> None:
    answer = "**Equipment:**\n1. Sports gear:\n   - ball\n   - net\n---"
    assert parse_answer(answer) == ["ball", "net"]


def test_an_empty_or_blank_answer_gives_no_items() -> None:
    assert parse_answer("") == []
    assert parse_answer("  \n\n\t") == []


def test_a_one_item_per_line_answer_keeps_each_line_but_not_a_sentence() -> None:
    assert parse_answer("Sure! Here is the list.\nbasketball court\ngym") == [
        "basketball court",
        "gym",
    ]


def test_a_code_like_answer_is_read_as_text_never_evaluated(capsys) -> None:
    assert parse_answer("['cup', 'glass']") == ["cup", "glass"]
    assert parse_answer("- print('evaluated')") == ["print('evaluated')"]
    assert capsys.readouterr().out == ""


def test_a_non_string_answer_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="must be a string"):
        parse_answer(None)  # type: ignore[arg-type]


def test_concept_files_give_one_concept_per_line_without_comments_or_repeats(tmp_path) -> None:
    (tmp_path / "objects.txt").write_text("# objects\nball\n\nBall\nnet\n", encoding="utf-8")
    (tmp_path / "scenes.txt").write_text("court\nbeach\n", encoding="utf-8")
    config = LanguageConceptConfig(
        source="files",
        object_file=str(tmp_path / "objects.txt"),
        scene_file=str(tmp_path / "scenes.txt"),
    )
    lists = concepts_from_files(config)
    assert (lists.objects, lists.scenes, lists.per_class) == (
        ["ball", "net"],
        ["court", "beach"],
        {},
    )


def test_a_missing_concept_file_setting_names_the_key() -> None:
    with pytest.raises(ValueError, match="object_file is not set"):
        concepts_from_files(LanguageConceptConfig(source="files", scene_file="scenes.txt"))


def test_annotations_give_sorted_concepts_independent_of_row_order() -> None:
    table = pa.table(
        {
            "video_id": ["v2", "v1", "v3"],
            "objects": [["racket"], ["bat", "ball"], ["ball"]],
            "scenes": [["court"], ["field"], []],
        }
    )
    shuffled = table.take([2, 0, 1])
    labels = {"v1": "swing_bat", "v2": "swing_racket", "v3": "swing_bat"}
    lists = concepts_from_annotations(table, labels)
    assert lists == concepts_from_annotations(shuffled, labels)
    assert lists.objects == ["ball", "bat", "racket"]
    assert lists.scenes == ["court", "field"]
    assert lists.per_class == {
        "swing_bat": {"objects": ["ball", "bat"], "scenes": ["field"]},
        "swing_racket": {"objects": ["racket"], "scenes": ["court"]},
    }


def test_annotations_without_a_required_column_are_rejected_naming_it() -> None:
    with pytest.raises(ValueError, match=r"lacks columns \['scenes'\]"):
        concepts_from_annotations(pa.table({"video_id": ["v1"], "objects": [["ball"]]}))


def test_annotations_repeating_a_video_id_are_rejected() -> None:
    table = pa.table({"video_id": ["v1", "v1"], "objects": [["a"], ["b"]], "scenes": [[], []]})
    with pytest.raises(ValueError, match="repeat video_ids"):
        concepts_from_annotations(table)
