"""A progress bar for train / evaluate / predict (tqdm on stderr).

Shown only when stderr is a terminal, the ``torch_estimator`` logger shows INFO (``--quiet``
turns it off) and the length is known (``steps``, ``max_steps`` or a sized input). Otherwise the
usual TensorFlow log lines are all there is.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from tqdm import tqdm

from torch_estimator._engine import hooks as hooks_lib

__all__ = ["ProgressHook"]

logger = logging.getLogger("torch_estimator")


class ProgressHook(hooks_lib.SessionRunHook):
    """Advances a bar by one per step; ``total`` may be set later (``set_total``) before ``begin``."""

    def __init__(self, description: str, unit: str, total: int | None = None) -> None:
        self._description = description
        self._unit = unit
        self.total = total
        self._bar: Any = None

    def set_total(self, total: int | None) -> None:
        """Sets the length if it was not known when the hook was made."""
        if self.total is None:
            self.total = total

    @staticmethod
    def enabled() -> bool:
        stream = sys.stderr
        return bool(getattr(stream, "isatty", lambda: False)()) and logger.isEnabledFor(logging.INFO)

    def begin(self) -> None:
        if self.total is None or self.total <= 0 or not self.enabled():
            return
        self._bar = tqdm(
            total=self.total, desc=self._description, unit=self._unit, file=sys.stderr, dynamic_ncols=True, leave=True
        )

    def before_run(self, run_context: hooks_lib.SessionRunContext) -> hooks_lib.SessionRunArgs | None:
        if self._bar is None or "loss" not in _fetch_names(run_context):
            return None
        return hooks_lib.SessionRunArgs("loss")

    def after_run(self, run_context: hooks_lib.SessionRunContext, run_values: hooks_lib.SessionRunValues) -> None:
        if self._bar is None:
            return
        if run_values.results is not None and self._bar.n % 10 == 0:
            self._bar.set_postfix(loss=f"{float(run_values.results):.4g}", refresh=False)
        self._bar.update(1)

    def end(self, session: Any) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _fetch_names(run_context: hooks_lib.SessionRunContext) -> tuple[Any, ...]:
    fetches = run_context.original_args.fetches
    return tuple(fetches) if isinstance(fetches, (list, tuple)) else (fetches,)
