"""``tf.estimator.experimental`` names."""

from __future__ import annotations

from ._fn_args import call_logit_fn

__all__ = ["call_logit_fn"]
