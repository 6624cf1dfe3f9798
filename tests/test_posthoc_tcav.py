"""Video-TCAV core: CAVs, the torch classifier in captum's interface, scores, significance."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from captum.concept import TCAV, Classifier, Concept
from torch.utils.data import DataLoader, TensorDataset

from dance.errors import InputError
from dance.posthoc import (
    TorchCAVClassifier,
    fit_cav,
    relative_cavs,
    tcav_scores,
    tcav_significance,
)

FEATURES = 16


def _cloud(n: int, shift: torch.Tensor, seed: int, spread: float = 0.3) -> torch.Tensor:
    """n examples scattered around `shift` (F,)."""
    generator = torch.Generator().manual_seed(seed)
    return shift + spread * torch.randn(n, len(shift), generator=generator)


def _axis(index: int, length: float = 3.0) -> torch.Tensor:
    """length * e_index in FEATURES dimensions."""
    vector = torch.zeros(FEATURES)
    vector[index] = length
    return vector


# --- the CAV sign convention ------------------------------------------------------------


def test_a_cav_points_from_the_negative_set_toward_the_positive_concept() -> None:
    positive = _cloud(20, _axis(0), seed=1)
    negative = _cloud(20, torch.zeros(FEATURES), seed=2)
    cav = fit_cav(positive, negative, seed=0, concept="ball")
    assert cav.vector[0] > 0.9  # unit length, nearly along +e1
    assert cav.concept == "ball"
    assert math.isclose(float(cav.vector.norm()), 1.0, rel_tol=1e-5)


def test_swapping_the_positive_and_negative_sets_flips_the_cav() -> None:
    a = _cloud(20, _axis(0), seed=1)
    b = _cloud(20, torch.zeros(FEATURES), seed=2)
    forward = fit_cav(a, b, seed=0).vector
    backward = fit_cav(b, a, seed=0).vector
    assert forward[0] > 0 > backward[0]
    assert float(forward @ backward) < -0.95  # the same axis, reversed


def test_positive_examples_score_higher_along_the_cav() -> None:
    positive = _cloud(20, _axis(3), seed=1)
    negative = _cloud(20, -_axis(5), seed=2)
    cav = fit_cav(positive, negative, seed=0).vector
    assert (positive @ cav).min() > (negative @ cav).max()


def test_fitting_a_cav_is_deterministic_for_a_seed() -> None:
    positive, negative = _cloud(20, _axis(0, 0.5), 1), _cloud(20, torch.zeros(FEATURES), 2)
    first, second = fit_cav(positive, negative, seed=7), fit_cav(positive, negative, seed=7)
    assert torch.equal(first.vector, second.vector)
    assert first.accuracy == second.accuracy


# --- the torch classifier in captum's interface ------------------------------------------


def _captum_loader(x: torch.Tensor, y: torch.Tensor) -> DataLoader:
    """Batches of (inputs, labels) as captum's train_cav feeds a classifier."""
    return DataLoader(TensorDataset(x, y), batch_size=8)


def test_the_torch_classifier_separates_separable_data_perfectly() -> None:
    x = torch.cat([_cloud(30, torch.zeros(FEATURES), 1), _cloud(30, _axis(2), 2)])
    y = torch.cat([torch.full((30,), 4), torch.full((30,), 9)])
    classifier = TorchCAVClassifier(seed=0)
    stats = classifier.train_and_eval(_captum_loader(x, y), test_split_ratio=0.33)
    assert float(stats["accs"]) == 1.0
    assert classifier.classes() == [4, 9]
    assert classifier.weights().shape == (2, FEATURES)


def test_wide_activations_fit_in_the_examples_span_to_the_direct_fits_optimum() -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(40, 3000, generator=generator)
    x[20:, 0] += 1.0  # more features than examples: the classifier fits in their span
    y = torch.arange(2).repeat_interleave(20)
    in_span, direct = TorchCAVClassifier(seed=0), TorchCAVClassifier(seed=0)
    direct._fit_in_example_span = direct._fit_primal  # the F-dimensional fit, for reference
    in_span.train_and_eval(_captum_loader(x, y))
    direct.train_and_eval(_captum_loader(x, y))
    a, b = in_span.weights(), direct.weights()
    assert torch.nn.functional.cosine_similarity(a, b, dim=1).min() > 0.9999


def test_the_torch_classifier_has_one_weight_row_per_class_for_three_concepts() -> None:
    x = torch.cat([_cloud(20, _axis(i), i) for i in range(3)])
    y = torch.arange(3).repeat_interleave(20)
    classifier = TorchCAVClassifier(seed=0)
    stats = classifier.train_and_eval(_captum_loader(x, y))
    assert float(stats["accs"]) == 1.0
    weights = classifier.weights()
    assert weights.shape == (3, FEATURES)
    assert [int(weights[:, i].argmax()) for i in range(3)] == [0, 1, 2]


def test_the_torch_classifier_plugs_into_captums_tcav(tmp_path: Path) -> None:
    # The layer's activations are its input; the class-1 logit grows along e2 only.
    model = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Linear(FEATURES, 2))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].weight[1, 1] = 1.0
        model[1].bias.zero_()

    def concept(index: int, name: str, shift: torch.Tensor) -> Concept:
        return Concept(index, name, iter(DataLoader(_cloud(24, shift, index), batch_size=8)))

    ball, other = concept(0, "ball", _axis(1)), concept(1, "other", _axis(2))
    classifier = TorchCAVClassifier(seed=0)
    assert isinstance(classifier, Classifier)
    tcav = TCAV(model, layers=["0"], classifier=classifier, save_path=str(tmp_path))
    inputs = _cloud(10, torch.zeros(FEATURES), seed=9)
    scores = tcav.interpret(inputs, experimental_sets=[[ball, other]], target=1)
    assert scores["0-1"]["0"]["sign_count"].tolist() == [1.0, 0.0]
    assert float(tcav.cavs["0-1"]["0"].stats["accs"]) == 1.0


def test_a_class_with_one_example_is_refused_by_the_classifier() -> None:
    x = torch.cat([_cloud(5, torch.zeros(FEATURES), 1), _cloud(1, _axis(0), 2)])
    y = torch.tensor([0] * 5 + [1])
    with pytest.raises(InputError, match="class 1.*at least 2"):
        TorchCAVClassifier().train_and_eval(_captum_loader(x, y))


# --- relative TCAV --------------------------------------------------------------------------


def test_relative_tcav_credits_the_concept_the_gradients_point_to() -> None:
    group = {"a": _cloud(20, _axis(0), 1), "b": _cloud(20, _axis(1), 2)}
    cavs = relative_cavs(group, seed=0)
    gradients = _cloud(30, _axis(0), seed=5, spread=0.1)  # the class logit grows along A
    assert tcav_scores(gradients, cavs["a"].vector)[0] == 1.0
    assert tcav_scores(gradients, cavs["b"].vector)[0] == 0.0


def test_relative_cavs_train_each_concept_against_the_union_of_the_others() -> None:
    group = {name: _cloud(15, _axis(i), i) for i, name in enumerate(("a", "b", "c"))}
    cavs = relative_cavs(group, seed=0)
    # Against the union of b and c, a's CAV is +e1 and away from both others.
    assert cavs["a"].vector[0] > 0 > cavs["a"].vector[1]
    assert cavs["a"].vector[2] < 0
    assert all(cav.accuracy == 1.0 for cav in cavs.values())


def test_a_concept_with_one_clip_is_an_input_error_naming_it() -> None:
    group = {"ball": _cloud(1, _axis(0), 1), "person": _cloud(10, _axis(1), 2)}
    with pytest.raises(InputError, match=r"'ball' has 1 example.*at least 2"):
        relative_cavs(group, seed=0)


def test_a_relative_group_of_one_concept_is_an_input_error() -> None:
    with pytest.raises(InputError, match="at least 2 concepts"):
        relative_cavs({"ball": _cloud(5, _axis(0), 1)})


# --- sign-count and magnitude ---------------------------------------------------------------


def test_sign_count_is_the_share_of_positive_directional_derivatives() -> None:
    cav = torch.tensor([1.0, 0.0])
    gradients = torch.tensor([[2.0, 5.0], [-1.0, 0.0], [3.0, -4.0], [0.0, 9.0]])
    # derivatives 2, -1, 3, 0: two of four are > 0 (zero does not count)
    assert tcav_scores(gradients, cav)[0] == 0.5


def test_magnitude_is_positive_derivatives_over_all_absolute_derivatives() -> None:
    cav = torch.tensor([0.0, 1.0])
    gradients = torch.tensor([[0.0, 3.0], [0.0, -1.0], [7.0, 1.0]])
    # derivatives 3, -1, 1: (3 + 1) / (3 + 1 + 1)
    assert tcav_scores(gradients, cav)[1] == pytest.approx(0.8)


def test_gradients_of_the_wrong_width_are_an_input_error() -> None:
    with pytest.raises(InputError, match="features"):
        tcav_scores(torch.ones(3, 4), torch.ones(5))


# --- significance -------------------------------------------------------------------------------


def test_identical_concept_and_random_runs_are_not_significant() -> None:
    runs = [0.4, 0.5, 0.6, 0.45, 0.55]
    result = tcav_significance(runs, list(runs), hypotheses=1)
    assert result.t == pytest.approx(0.0)
    assert result.p == pytest.approx(1.0)
    assert not result.significant


def test_clearly_separated_runs_are_significant() -> None:
    concept = [0.9, 0.92, 0.88, 0.91, 0.93, 0.9, 0.89, 0.94, 0.9, 0.92]
    random = [0.5, 0.48, 0.52, 0.51, 0.47, 0.5, 0.53, 0.49, 0.5, 0.52]
    t, p, p_corrected, significant = tcav_significance(concept, random, hypotheses=4)
    assert p_corrected == pytest.approx(4 * p)
    assert t > 0
    assert p < 1e-10
    assert significant


def test_the_t_test_is_scipys_two_sided_student_t_test() -> None:
    from scipy import stats

    concept, random = [0.6, 0.7, 0.65, 0.8], [0.5, 0.55, 0.6, 0.45]
    expected = stats.ttest_ind(concept, random)
    result = tcav_significance(concept, random, hypotheses=1)
    assert result.t == pytest.approx(expected.statistic)
    assert result.p == pytest.approx(expected.pvalue)


def test_bonferroni_multiplies_the_p_value_by_the_hypotheses() -> None:
    concept, random = [0.6, 0.7, 0.65, 0.8], [0.5, 0.55, 0.6, 0.45]
    single = tcav_significance(concept, random, hypotheses=1)
    triple = tcav_significance(concept, random, hypotheses=3)
    assert triple.p == single.p
    assert triple.p_corrected == pytest.approx(3 * single.p)


def test_bonferroni_caps_the_corrected_p_value_at_one() -> None:
    result = tcav_significance([0.4, 0.6, 0.5], [0.45, 0.55, 0.52], hypotheses=1000)
    assert result.p_corrected == 1.0
    assert not result.significant


def test_a_significant_p_value_can_lose_significance_after_correction() -> None:
    concept, random = [0.6, 0.7, 0.65, 0.8], [0.5, 0.55, 0.6, 0.45]
    assert tcav_significance(concept, random, hypotheses=1).significant
    assert not tcav_significance(concept, random, hypotheses=100).significant


def test_constant_equal_runs_are_not_significant_rather_than_nan() -> None:
    result = tcav_significance([1.0, 1.0], [1.0, 1.0], hypotheses=2)
    assert (result.t, result.p, result.p_corrected, result.significant) == (0.0, 1.0, 1.0, False)


def test_fewer_than_two_runs_is_an_input_error() -> None:
    with pytest.raises(InputError, match="at least 2 runs"):
        tcav_significance([0.9], [0.5, 0.4], hypotheses=1)
