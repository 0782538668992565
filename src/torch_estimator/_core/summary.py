"""Summaries a model_fn records for TensorBoard (written by the ``SummarySaverHook``).

Recording is cheap: the value stays a tensor until a hook writes it, every
``RunConfig.save_summary_steps`` steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from torch_estimator._core.variables import current_store

__all__ = ["scalar", "histogram"]  # and record_lazy, for the canned models


def _record(name: str, value: Any) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"summary name must be a non-empty string; got {name!r}.")
    if not callable(value):
        value = value.detach() if isinstance(value, torch.Tensor) else torch.as_tensor(value)
    current_store().summaries[name] = value


def scalar(name: str, tensor: Any) -> None:
    """Records a scalar summary tagged ``name``.

    ``tensor`` may be a zero-argument callable: it is evaluated only on the steps the summary is
    written (every ``save_summary_steps``), so an expensive statistic costs nothing in between.
    """
    if not callable(tensor):
        value = tensor if isinstance(tensor, torch.Tensor) else torch.as_tensor(tensor)
        if value.numel() != 1:
            raise ValueError(f"summary.scalar({name!r}) needs one value; got shape {tuple(value.shape)}.")
        tensor = value
    _record(name, tensor)


def histogram(name: str, values: Any) -> None:
    """Records a histogram summary of ``values`` (or of a zero-argument callable's result)."""
    _record(name, values)


def record_lazy(entries: dict[str, Callable[[], torch.Tensor]]) -> None:
    """Records summaries computed only when written: non-empty names to zero-argument callables
    (the shape of each value is not checked, as for callables given to ``scalar``)."""
    current_store().summaries.update(entries)
