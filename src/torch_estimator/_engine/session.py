"""The session hooks see while a train / evaluate / predict loop runs: it resolves their fetches
against the model and the step just run, and saves checkpoints of the model."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import torch

from torch_estimator._core import checkpoint as _checkpoint
from torch_estimator._core import rng as _rng
from torch_estimator._core.variables import VariableStore
from torch_estimator._engine.run_config import RunConfig

__all__ = ["LoopSession", "to_numpy"]


def to_numpy(value: Any) -> Any:
    """A tensor as a numpy array (a 0-d one as a numpy scalar); anything else unchanged."""
    if isinstance(value, torch.Tensor):
        array = value.detach().cpu().numpy()
        return array[()] if array.ndim == 0 else array
    return value


class LoopSession:
    """What hooks see of a running loop (the ``Session`` protocol): fetch resolution and saving.

    Args:
        store: the model's variable store.
        model_dir: the Estimator's model_dir.
        config: where ``keep_checkpoint_max`` / ``keep_checkpoint_every_n_hours`` come from.
        on_save: called as ``on_save(prefix, metadata)`` after each save into ``model_dir``.
    """

    def __init__(
        self,
        store: VariableStore,
        model_dir: str,
        config: RunConfig,
        on_save: Callable[[str, dict[str, str]], None] | None = None,
    ) -> None:
        self.model_dir = model_dir
        self._store = store
        self._config = config
        self._on_save = on_save
        self._savers: dict[str, _checkpoint.Saver] = {}
        self._start_step = store.global_step
        #: The values of the step just run (``'loss'``, ``'global_step'`` before its update,
        #: ``'predictions'``), set by the loop before the hooks' ``after_run``.
        self.step_values: dict[str, Any] | None = None

    @property
    def global_step(self) -> int:
        return self._store.global_step

    def run(self, fetches: Any) -> Any:
        """Resolves names, tensors, callables (nested in lists, tuples and dicts) to current values.

        ``'global_step'`` is the current step; ``'loss'`` and prediction keys are those of the
        latest step.
        """
        return self._resolve(fetches, in_step=False)

    def fetch(self, fetches: Any) -> Any:
        """Resolves a hook's fetches for the step just run (``'global_step'`` before its update)."""
        return self._resolve(fetches, in_step=True)

    def _resolve(self, fetches: Any, in_step: bool) -> Any:
        if isinstance(fetches, dict):
            return {k: self._resolve(v, in_step) for k, v in fetches.items()}
        if isinstance(fetches, (list, tuple)):
            return type(fetches)(self._resolve(v, in_step) for v in fetches)
        if isinstance(fetches, str):
            return self._resolve_name(fetches, in_step)
        if isinstance(fetches, torch.Tensor):
            return to_numpy(fetches)
        if callable(fetches):
            return self._resolve(fetches(), in_step)
        return fetches

    def _resolve_name(self, name: str, in_step: bool) -> Any:
        step = self.step_values or {}
        store = self._store
        if name == "global_step":
            return step.get("global_step", store.global_step) if in_step else store.global_step
        if name == "summaries":
            summaries = dict(store.summaries)
            if step.get("loss") is not None:
                summaries.setdefault("loss", step["loss"])
            return {k: to_numpy(v() if callable(v) else v) for k, v in summaries.items()}
        if name in step and step[name] is not None:
            value = step[name]
            return {k: to_numpy(v) for k, v in value.items()} if isinstance(value, Mapping) else to_numpy(value)
        predictions = step.get("predictions")
        if isinstance(predictions, Mapping) and name in predictions:
            return to_numpy(predictions[name])
        variables = store.variables()
        if name in variables:
            return to_numpy(variables[name])
        raise ValueError(
            f"Unknown fetch {name!r}: expected 'loss', 'global_step', 'summaries', a prediction key or a variable name."
        )

    def save(self, checkpoint_dir: str, basename: str) -> str:
        """Saves the model's full state as ``checkpoint_dir/<basename>-<global_step>``."""
        saver = self._savers.get(checkpoint_dir)
        if saver is None:
            saver = self._savers[checkpoint_dir] = _checkpoint.Saver(
                checkpoint_dir,
                self._config.keep_checkpoint_max,
                self._config.keep_checkpoint_every_n_hours,
                start_step=self._start_step,
            )
        metadata = _rng.get_state()
        prefix = saver.save(basename, self._store.global_step, self._store.state_tensors(), metadata)
        if self._on_save is not None and os.path.abspath(checkpoint_dir) == os.path.abspath(self.model_dir):
            self._on_save(prefix, metadata)
        return prefix
