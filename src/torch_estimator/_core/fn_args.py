"""Calling user functions with only the arguments they name (TF's ``fn_args`` rule)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["fn_args", "call_logit_fn"]


def fn_args(fn: Callable[..., Any]) -> tuple[str, ...]:
    """Names of the arguments ``fn`` accepts (``functools.partial`` and bound methods resolved).

    Arguments already bound by a ``partial`` are not listed, nor is ``self`` of a bound method.
    A ``torch.nn.Module`` is inspected through its ``forward``.
    """
    if isinstance(fn, torch.nn.Module):
        fn = fn.forward
    if isinstance(fn, functools.partial):
        bound = set(fn.keywords or {})
        names = fn_args(fn.func)[len(fn.args) :]
        return tuple(n for n in names if n not in bound)
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"Cannot inspect the arguments of {fn!r}: {exc}") from exc
    return tuple(
        name
        for name, p in signature.parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY, p.POSITIONAL_ONLY)
    )


def call_with_named_args(fn: Callable[..., Any], required: dict[str, Any], optional: dict[str, Any]) -> Any:
    """Calls ``fn`` with ``required`` and those of ``optional`` that ``fn`` names."""
    names = fn_args(fn)
    kwargs = dict(required)
    kwargs.update({k: v for k, v in optional.items() if k in names})
    return fn(**kwargs)


def _is_tensor(value: Any) -> bool:
    return isinstance(value, torch.Tensor)


def call_logit_fn(logit_fn: Callable[..., Any], features: Any, mode: str, params: Any, config: Any) -> Any:
    """Calls ``logit_fn(features=..., [mode=..., params=..., config=...])`` and checks the result.

    ``mode``, ``params`` and ``config`` are passed only when they are argument names of
    ``logit_fn``. The result must be a tensor or a dict mapping strings to tensors.

    Example:
        >>> import torch, torch_estimator as te
        >>> te.call_logit_fn(lambda features: features["x"] * 2, {"x": torch.ones(2, 1)},
        ...                  te.ModeKeys.PREDICT, None, None).shape
        torch.Size([2, 1])
    """
    result = call_with_named_args(logit_fn, {"features": features}, {"mode": mode, "params": params, "config": config})
    if _is_tensor(result):
        return result
    if (
        isinstance(result, dict)
        and all(isinstance(k, str) for k in result)
        and all(_is_tensor(v) for v in result.values())
    ):
        return result
    raise ValueError(
        f"logit_fn should return a Tensor or a dictionary mapping strings to Tensors.  logit_fn returned: {result}"
    )
