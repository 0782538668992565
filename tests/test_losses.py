"""te.losses: tf.losses.Reduction's names and the weighted reduction the heads use."""

from __future__ import annotations

import re

import pytest
import torch

import torch_estimator as te

Reduction = te.losses.Reduction
LOSSES = torch.tensor([[1.0], [2.0], [3.0], [6.0]])
WEIGHTS = torch.tensor([[1.0], [0.5], [0.0], [2.0]])


def test_reduction_names_are_tfs():
    assert (Reduction.AUTO, Reduction.NONE, Reduction.SUM, Reduction.SUM_OVER_BATCH_SIZE) == (
        "auto",
        "none",
        "sum",
        "sum_over_batch_size",
    )
    assert set(Reduction.all()) == {"auto", "none", "sum", "sum_over_batch_size"}


def test_sum_adds_the_weighted_losses():
    loss = te.losses.compute_weighted_loss(LOSSES, WEIGHTS, Reduction.SUM)
    assert loss.item() == pytest.approx(1 + 1 + 0 + 12)


@pytest.mark.parametrize("reduction", [Reduction.SUM_OVER_BATCH_SIZE, Reduction.AUTO])
def test_sum_over_batch_size_divides_by_the_number_of_losses_zero_weights_included(reduction):
    loss = te.losses.compute_weighted_loss(LOSSES, WEIGHTS, reduction)
    assert loss.item() == pytest.approx(14 / 4)


def test_default_is_sum_over_batch_size_with_unit_weights():
    assert te.losses.compute_weighted_loss(LOSSES).item() == pytest.approx(12 / 4)


def test_weights_broadcast_over_the_loss_dimension():
    losses = torch.tensor([[1.0, 3.0], [2.0, 4.0]])
    loss = te.losses.compute_weighted_loss(losses, torch.tensor([[2.0], [1.0]]), Reduction.SUM)
    assert loss.item() == pytest.approx(2 * (1 + 3) + (2 + 4))
    # sum_over_batch_size counts every element of the loss, as keras does
    mean = te.losses.compute_weighted_loss(losses, torch.tensor([[2.0], [1.0]]))
    assert mean.item() == pytest.approx(14 / 4)


def test_an_empty_batch_reduces_to_zero():
    empty = torch.zeros(0, 1)
    assert te.losses.compute_weighted_loss(empty).item() == 0.0
    assert te.losses.compute_weighted_loss(empty, reduction=Reduction.SUM).item() == 0.0


def test_the_loss_keeps_its_gradient():
    logits = torch.tensor([[0.5], [1.5]], requires_grad=True)
    te.losses.compute_weighted_loss(logits**2, torch.tensor([[1.0], [3.0]]), Reduction.SUM).backward()
    torch.testing.assert_close(logits.grad, torch.tensor([[1.0], [9.0]]))


@pytest.mark.parametrize("reduction", [Reduction.NONE, "mean", None])
def test_other_reductions_are_refused_with_tfs_message(reduction):
    message = f"Invalid loss_reduction: {reduction}. See `tf.losses.Reduction` for valid options."
    with pytest.raises(ValueError, match=re.escape(message)):
        te.losses.compute_weighted_loss(LOSSES, 1.0, reduction)
