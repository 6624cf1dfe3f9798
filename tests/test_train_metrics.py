"""Classification metrics of a split, against hand-counted examples."""

from __future__ import annotations

import numpy as np

from dance.train import most_confused, split_metrics

CLASSES = ["a", "b", "c"]
# true labels and logits of 4 videos: predictions a, b, a, c; second choices b, c, c, b
LABELS = np.array([0, 1, 2, 2])
LOGITS = np.array([[3.0, 2.0, 1.0], [0.0, 2.0, 1.0], [2.0, 0.0, 1.0], [0.0, 1.0, 2.0]])


def test_top1_counts_the_argmax_hits():
    assert split_metrics(LABELS, LOGITS, CLASSES)["top1"] == 0.75


def test_top_k_counts_a_hit_among_the_k_best():
    assert split_metrics(LABELS, LOGITS, CLASSES, top_k=2)["top2"] == 1.0


def test_the_confusion_matrix_has_true_rows_and_predicted_columns():
    assert split_metrics(LABELS, LOGITS, CLASSES)["confusion"] == [[1, 0, 0], [0, 1, 0], [1, 0, 1]]


def test_per_class_accuracy_is_the_diagonal_over_the_row():
    per_class = split_metrics(LABELS, LOGITS, CLASSES)["per_class"]
    assert per_class["c"] == {"videos": 2, "accuracy": 0.5}


def test_an_empty_split_has_no_accuracy():
    empty = split_metrics(np.zeros(0, dtype=int), np.zeros((0, 3)), CLASSES)
    assert empty["num_videos"] == 0 and empty["top1"] is None


def test_most_confused_lists_off_diagonal_cells_largest_first():
    assert most_confused([[5, 2, 0], [1, 4, 0], [0, 3, 1]], CLASSES) == [
        {"true": "c", "predicted": "b", "videos": 3},
        {"true": "a", "predicted": "b", "videos": 2},
        {"true": "b", "predicted": "a", "videos": 1},
    ]
