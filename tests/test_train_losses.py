"""Eq. 4 (motion BCE) and Eq. 5 (cos^3, per concept and per sample) against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch
from two_worker_helpers import run_two_workers

from dance.train._collective import Collective
from dance.train._losses import (
    centre_columns,
    cos3_loss,
    cos3_similarity,
    known_motion_entries,
    motion_loss,
    motion_loss_share,
    prepare_cos3_targets,
)

LN2 = math.log(2.0)

# 3 rows x 2 concepts. Centred by column means (2, 1) and (2, 1), then cubed:
#   activations -> [[-1, -1], [0, 8], [1, -1]]
#   targets     -> [[-8, 0], [-1, -1], [27, 1]]
ACTIVATIONS = [[1.0, 0.0], [2.0, 3.0], [3.0, 0.0]]
TARGETS = [[0.0, 1.0], [1.0, 0.0], [5.0, 2.0]]
# Per concept: column 0 dot 35, squared norms 2 and 794; column 1 dot -9, norms 66 and 2.
PER_CONCEPT = [35 / math.sqrt(2 * 794), -9 / math.sqrt(66 * 2)]
# Per sample: row 0 dot 8 (norms 2, 64); row 1 dot -8 (64, 2); row 2 dot 26 (2, 730).
PER_SAMPLE = [8 / math.sqrt(2 * 64), -8 / math.sqrt(64 * 2), 26 / math.sqrt(2 * 730)]


def _t(rows: list[list[float]], grad: bool = False) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64, requires_grad=grad)


def test_motion_loss_is_the_mean_bce_over_known_entries():
    # BCE(0, 1) = ln 2; BCE(ln 3, 0) = -ln(1 - 3/4) = ln 4; mean over 2 entries.
    logits = _t([[0.0, math.log(3.0)]])
    loss = motion_loss(logits, _t([[1.0, 0.0]]), torch.tensor([True]))
    assert loss.item() == pytest.approx((LN2 + 2 * LN2) / 2, abs=1e-15)


def test_motion_loss_ignores_rows_with_unknown_labels():
    logits = _t([[0.0, math.log(3.0)], [2.0, -1.0]])
    loss = motion_loss(logits, _t([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([True, False]))
    assert loss.item() == pytest.approx(1.5 * LN2, abs=1e-15)


def test_motion_loss_counts_every_known_entry_in_the_mean():
    # Second row: BCE(ln 3, 1) = ln(4/3), BCE(0, 1) = ln 2; four entries in all.
    logits = _t([[0.0, math.log(3.0)], [math.log(3.0), 0.0]])
    loss = motion_loss(logits, _t([[1.0, 0.0], [1.0, 1.0]]), torch.tensor([True, True]))
    expected = (LN2 + 2 * LN2 + math.log(4 / 3) + LN2) / 4
    assert loss.item() == pytest.approx(expected, abs=1e-15)


def test_motion_loss_gradient_is_sigmoid_minus_target_over_count_and_zero_on_masked_rows():
    logits = _t([[0.0, math.log(3.0)], [float("nan"), 5.0]], grad=True)
    motion_loss(logits, _t([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([True, False])).backward()
    # (sigmoid(0) - 1) / 2 = -0.25; (sigmoid(ln 3) - 0) / 2 = 0.375.
    assert logits.grad.tolist() == [[-0.25, 0.375], [0.0, 0.0]]


def test_cos3_similarity_per_concept_matches_hand_computation():
    similarity = cos3_similarity(_t(ACTIVATIONS), _t(TARGETS), per="concept")
    assert similarity.tolist() == pytest.approx(PER_CONCEPT, abs=1e-14)


def test_cos3_similarity_per_sample_matches_hand_computation():
    similarity = cos3_similarity(_t(ACTIVATIONS), _t(TARGETS), per="sample")
    assert similarity.tolist() == pytest.approx(PER_SAMPLE, abs=1e-14)


def test_cos3_loss_is_minus_the_mean_similarity_in_each_reading():
    per_concept = cos3_loss(_t(ACTIVATIONS), _t(TARGETS), per="concept")
    per_sample = cos3_loss(_t(ACTIVATIONS), _t(TARGETS), per="sample")
    assert per_concept.item() == pytest.approx(-sum(PER_CONCEPT) / 2, abs=1e-14)
    assert per_sample.item() == pytest.approx(-sum(PER_SAMPLE) / 3, abs=1e-14)


def test_per_concept_ignores_a_column_scale_that_per_sample_sees():
    # Activations = targets with column 1 doubled: each column's cosine stays 1, but
    # row 0's cubes become (-1, -8) against (-1, -1): cosine 9 / sqrt(65 * 2).
    targets = _t([[0.0, 0.0], [1.0, 2.0], [2.0, 1.0]])
    activations = _t([[0.0, 0.0], [1.0, 4.0], [2.0, 2.0]])
    assert cos3_loss(activations, targets, per="concept").item() == pytest.approx(-1.0, abs=1e-14)
    assert cos3_loss(activations, targets, per="sample").item() == pytest.approx(
        -(9 / math.sqrt(130) + 1 + 1) / 3, abs=1e-14
    )


def test_a_constant_target_concept_has_similarity_zero_and_a_finite_gradient():
    activations = _t(ACTIVATIONS, grad=True)
    targets = _t([[0.0, 4.0], [1.0, 4.0], [5.0, 4.0]])
    similarity = cos3_similarity(activations, targets, per="concept")
    assert similarity[1].item() == 0.0
    similarity.sum().backward()
    assert torch.isfinite(activations.grad).all()
    assert activations.grad[:, 1].tolist() == [0.0, 0.0, 0.0]


def test_motion_loss_share_of_one_worker_is_the_motion_loss():
    logits = _t([[0.0, math.log(3.0)], [2.0, -1.0]])
    targets, known = _t([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([True, False])
    entries = known_motion_entries(known, 2, Collective())
    assert entries == 2.0
    share = motion_loss_share(logits, targets, known, entries, world_size=1)
    assert share.item() == motion_loss(logits, targets, known).item()


def test_prepared_targets_give_the_same_similarity_as_raw_targets():
    prepared = prepare_cos3_targets(_t(TARGETS), torch.float64)
    for per in ("concept", "sample"):
        assert cos3_similarity(_t(ACTIVATIONS), prepared, per).tolist() == pytest.approx(
            cos3_similarity(_t(ACTIVATIONS), _t(TARGETS), per).tolist(), abs=1e-14
        )


def test_centred_features_through_a_bias_free_layer_skip_the_activation_mean():
    # mean(X) W^T is the mean of X W^T, so centring the features centres the activations.
    features = _t([[1.0, 0.0], [0.0, 2.0], [3.0, 1.0]])
    weight = _t([[1.0, 0.0], [0.0, 1.0], [1.0, 1.5]])  # activations = the rows of X W^T
    targets = _t([[0.0, 1.0, 2.0], [1.0, 0.0, 0.0], [5.0, 2.0, 1.0]])
    plain = cos3_similarity(features @ weight.T, targets)
    centred = cos3_similarity(centre_columns(features) @ weight.T, targets, centred=True)
    assert centred.tolist() == pytest.approx(plain.tolist(), abs=1e-14)


def test_cos3_similarity_rejects_an_unknown_reading():
    with pytest.raises(ValueError, match="per must be"):
        cos3_similarity(_t(ACTIVATIONS), _t(TARGETS), per="row")


# --- two workers: the global loss and gradients equal the one-process ones ---------------

def _problem() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    features = torch.randn(7, 4, generator=generator, dtype=torch.float64)
    weight = torch.randn(3, 4, generator=generator, dtype=torch.float64)
    labels = (torch.rand(7, 3, generator=generator) > 0.5).to(torch.float64)
    known = torch.tensor([True, False, True, True, True, False, True])
    pseudo = torch.rand(7, 3, generator=generator, dtype=torch.float64)
    return features, weight, labels, known, pseudo


def _losses_and_gradients(collective, rows: slice) -> dict[str, torch.Tensor]:
    features, weight, labels, known, pseudo = _problem()
    results = {}
    for name in ("motion", "motion_share", "concept", "sample"):
        parameter = weight.clone().requires_grad_(True)
        activations = features[rows] @ parameter.T
        if name == "motion":
            loss = motion_loss(activations, labels[rows], known[rows], collective)
        elif name == "motion_share":
            entries = known_motion_entries(known[rows], 3, collective)
            share = motion_loss_share(activations, labels[rows], known[rows], entries,
                                      collective.world_size)
            share.backward()
            collective.average_gradients([parameter])
            # the mean of the workers' shares is the global loss
            loss = collective.sum(share.detach()) / collective.world_size
            results[name], results[f"{name}_grad"] = loss, parameter.grad
            continue
        else:
            loss = cos3_loss(activations, pseudo[rows], name, collective)
        loss.backward()
        collective.average_gradients([parameter])
        results[name] = loss.detach()
        results[f"{name}_grad"] = parameter.grad
    results["sample_similarity"] = cos3_similarity(
        features[rows] @ weight.T, pseudo[rows], "sample", collective
    )
    return results


def _uneven_shard(collective, rank: int) -> dict[str, torch.Tensor]:
    # Rank 0 holds 4 rows (one unknown), rank 1 holds 3 (one unknown).
    return _losses_and_gradients(collective, slice(0, 4) if rank == 0 else slice(4, 7))


@pytest.mark.slow
def test_two_workers_compute_the_one_process_losses_and_gradients():

    whole = _losses_and_gradients(Collective(), slice(0, 7))
    ranks = run_two_workers(_uneven_shard)
    assert torch.allclose(whole["motion_share"], whole["motion"], rtol=0, atol=1e-15)
    for rank in ranks:
        for name in ("motion", "motion_share", "concept", "sample"):
            assert torch.allclose(rank[name], whole[name], rtol=0, atol=1e-12), name
            assert torch.allclose(rank[f"{name}_grad"], whole[f"{name}_grad"], rtol=0,
                                  atol=1e-12), name
    gathered = torch.cat([ranks[0]["sample_similarity"], ranks[1]["sample_similarity"]])
    assert torch.allclose(gathered, whole["sample_similarity"], rtol=0, atol=1e-12)
