"""Loss reductions with ``tf.losses.Reduction``'s names, and the weighted reduction heads use."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["Reduction", "compute_weighted_loss"]


class Reduction:
    """How a head reduces per-example losses to the training loss.

    * ``SUM``: ``Σ w·ℓ``;
    * ``SUM_OVER_BATCH_SIZE``: ``Σ w·ℓ / numel(ℓ)`` (``ℓ`` shaped ``[B, loss_dim]``);
    * ``AUTO``: same as ``SUM_OVER_BATCH_SIZE``;
    * ``NONE``: not accepted by heads.
    """

    AUTO = "auto"
    NONE = "none"
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"

    @classmethod
    def all(cls) -> tuple[str, ...]:
        return (cls.AUTO, cls.NONE, cls.SUM, cls.SUM_OVER_BATCH_SIZE)


def validate_loss_reduction(loss_reduction: Any) -> None:
    """Heads accept SUM, SUM_OVER_BATCH_SIZE and AUTO."""
    if loss_reduction not in Reduction.all() or loss_reduction == Reduction.NONE:
        raise ValueError(f"Invalid loss_reduction: {loss_reduction}. See `tf.losses.Reduction` for valid options.")


def compute_weighted_loss(
    losses: torch.Tensor, sample_weight: torch.Tensor | float = 1.0, reduction: str = Reduction.SUM_OVER_BATCH_SIZE
) -> torch.Tensor:
    """Reduces ``losses * sample_weight`` (broadcast) by ``reduction``, as keras does."""
    validate_loss_reduction(reduction)
    unweighted = isinstance(sample_weight, float) and sample_weight == 1.0  # x * 1.0 is x: skip the op
    total = (losses if unweighted else losses * sample_weight).sum()
    if reduction == Reduction.SUM:
        return total
    return total / max(losses.numel(), 1)
