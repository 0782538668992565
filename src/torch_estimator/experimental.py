"""``tf.estimator.experimental`` names."""

from __future__ import annotations

from torch_estimator._core.fn_args import call_logit_fn
from torch_estimator._core.not_provided import not_provided as _not_provided
from torch_estimator._estimator.early_stopping import (
    InMemoryEvaluatorHook,
    make_early_stopping_hook,
    make_stop_at_checkpoint_step_hook,
    stop_if_higher_hook,
    stop_if_lower_hook,
    stop_if_no_decrease_hook,
    stop_if_no_increase_hook,
)
from torch_estimator.canned._rnn import RNNClassifier, RNNEstimator

__all__ = [
    "RNNClassifier",
    "RNNEstimator",
    "call_logit_fn",
    "make_early_stopping_hook",
    "stop_if_higher_hook",
    "stop_if_lower_hook",
    "stop_if_no_increase_hook",
    "stop_if_no_decrease_hook",
    "InMemoryEvaluatorHook",
    "make_stop_at_checkpoint_step_hook",
]


def __getattr__(name: str) -> object:
    raise _not_provided(__name__, name)
