"""TrainOp: one training step's update (backward pass, gradient reduction, optimizer steps).

``optimizer.minimize(loss)`` and the heads build one; the Estimator runs it after the forward
pass. Data-parallel training averages the gradients between the backward pass and the updates
(``reducing_gradients``).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from torch_estimator._core.variables import StoreOptimizer, current_store

__all__ = ["TrainOp", "reducing_gradients"]

#: ``reducer(variables)``: replaces the gradients of ``variables`` (e.g. by their mean over workers).
GradientReducer = Callable[[list[torch.Tensor]], None]

_GRADIENT_REDUCER: contextvars.ContextVar[GradientReducer | None] = contextvars.ContextVar(
    "torch_estimator_gradient_reducer", default=None
)


@contextlib.contextmanager
def reducing_gradients(reducer: GradientReducer) -> Iterator[None]:
    """Within it, a ``TrainOp`` calls ``reducer(variables)`` between the backward pass and the
    optimizer steps (data-parallel training averages the gradients across processes there)."""
    token = _GRADIENT_REDUCER.set(reducer)
    try:
        yield
    finally:
        _GRADIENT_REDUCER.reset(token)


class TrainOp:
    """A training step's update, run by the Estimator after the forward pass.

    Calling it back-propagates ``loss`` once and lets each ``(optimizer, variables)`` pair
    update its variables (None means all trainable variables of the model), then runs
    ``update_ops`` (callables). The Estimator then increments the global step. Each optimizer
    is a ``te.optimizers.Optimizer`` (``te.optimizers.get`` resolves names); the model's store
    keeps the first one bound under its name.
    """

    def __init__(
        self,
        loss: torch.Tensor,
        updates: Sequence[tuple[StoreOptimizer, Sequence[torch.Tensor] | None]],
        update_ops: Sequence[Callable[[], Any]] = (),
    ) -> None:
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise ValueError(f"loss must be a scalar tensor; got {loss!r}.")
        store = current_store()
        self.loss = loss
        self.updates: list[tuple[StoreOptimizer, list[torch.Tensor]]] = []
        for optimizer, variables in updates:
            if not callable(getattr(optimizer, "apply_gradients", None)):  # a StoreOptimizer (cheaper than isinstance)
                raise TypeError(
                    "TrainOp updates must pair a te.optimizers.Optimizer (te.optimizers.get resolves names) "
                    f"with its variables; got optimizer {optimizer!r}."
                )
            bound = store.optimizer(optimizer)
            var_list = list(store.trainable_variables() if variables is None else variables)
            bound.create_slots(var_list)
            self.updates.append((bound, var_list))
        self.update_ops = tuple(update_ops)

    def __call__(self) -> None:
        for _, variables in self.updates:
            for var in variables:
                var.grad = None
        self.loss.backward()
        reducer = _GRADIENT_REDUCER.get()
        if reducer is not None:
            unique = {id(v): v for _, variables in self.updates for v in variables}
            reducer([v for v in unique.values() if v.grad is not None])
        for optimizer, variables in self.updates:
            optimizer.apply_gradients(variables)
        for op in self.update_ops:
            op()
