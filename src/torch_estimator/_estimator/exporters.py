"""Exporters run by ``train_and_evaluate`` after each evaluation: ``LatestExporter``,
``BestExporter`` and ``FinalExporter``, writing to ``model_dir/export/<name>/<timestamp>``."""

from __future__ import annotations

import abc
import glob
import logging
import os
import shutil
from collections.abc import Callable, Mapping
from typing import Any

from torch_estimator._core.fn_args import fn_args
from torch_estimator._engine import events as _events
from torch_estimator._estimator.estimator import Estimator

__all__ = ["Exporter", "LatestExporter", "BestExporter", "FinalExporter"]

logger = logging.getLogger("torch_estimator")


class Exporter(abc.ABC):
    """Exports a model after an evaluation (see ``EvalSpec(exporters=...)``)."""

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """The directory name under ``model_dir/export/``."""

    @abc.abstractmethod
    def export(
        self,
        estimator: Estimator,
        export_path: str,
        checkpoint_path: str,
        eval_result: Mapping[str, Any],
        is_the_final_export: bool,
    ) -> bytes | None:
        """Exports ``checkpoint_path`` under ``export_path``; returns the export directory or None."""


class _SavedModelExporter(Exporter):
    """Exports with ``estimator.export_saved_model`` when ``_should_export`` says so, then keeps
    the ``_exports_to_keep`` newest exports (None: all)."""

    _exports_to_keep: int | None = None

    def __init__(
        self,
        name: str,
        serving_input_receiver_fn: Callable[[], Any] | None,
        assets_extra: Mapping[str, str] | None = None,
        as_text: bool = False,
    ) -> None:
        self._name = name
        self._serving_input_receiver_fn = serving_input_receiver_fn
        self._assets_extra = assets_extra
        self._as_text = as_text

    def _keep(self, exports_to_keep: int | None) -> None:
        """Keeps the ``exports_to_keep`` newest exports (None: all)."""
        if exports_to_keep is not None and exports_to_keep <= 0:
            raise ValueError(f"`exports_to_keep`, if provided, must be a positive number. Got {exports_to_keep}")
        self._exports_to_keep = exports_to_keep

    @property
    def name(self) -> str:
        return self._name

    def _should_export(self, estimator: Estimator, eval_result: Mapping[str, Any], is_the_final_export: bool) -> bool:
        """Whether this evaluation gets an export (every one, unless a subclass says otherwise)."""
        return True

    def export(
        self,
        estimator: Estimator,
        export_path: str,
        checkpoint_path: str,
        eval_result: Mapping[str, Any],
        is_the_final_export: bool,
    ) -> bytes | None:
        if not self._should_export(estimator, eval_result, is_the_final_export):
            return None
        result = estimator.export_saved_model(
            export_path,
            self._serving_input_receiver_fn,
            assets_extra=self._assets_extra,
            as_text=self._as_text,
            checkpoint_path=checkpoint_path,
        )
        _garbage_collect_exports(export_path, self._exports_to_keep)
        return result


def _garbage_collect_exports(export_dir_base: str, exports_to_keep: int | None) -> None:
    """Deletes all but the ``exports_to_keep`` newest timestamped exports under ``export_dir_base``."""
    if exports_to_keep is None or not os.path.isdir(export_dir_base):
        return
    versions = sorted(
        (int(name), name)
        for name in os.listdir(export_dir_base)
        if name.isdigit() and os.path.isdir(os.path.join(export_dir_base, name))
    )
    for _, name in versions[:-exports_to_keep]:
        try:
            shutil.rmtree(os.path.join(export_dir_base, name))
        except OSError as error:
            logger.warning("Can not delete %s recursively: %s", os.path.join(export_dir_base, name), error)


class LatestExporter(_SavedModelExporter):
    """Exports after every evaluation and keeps the ``exports_to_keep`` newest exports."""

    def __init__(
        self,
        name: str,
        serving_input_receiver_fn: Callable[[], Any],
        assets_extra: Mapping[str, str] | None = None,
        as_text: bool = False,
        exports_to_keep: int | None = 5,
    ) -> None:
        super().__init__(name, serving_input_receiver_fn, assets_extra, as_text)
        self._keep(exports_to_keep)


class FinalExporter(_SavedModelExporter):
    """Exports once, after the final evaluation of training."""

    def _should_export(self, estimator: Estimator, eval_result: Mapping[str, Any], is_the_final_export: bool) -> bool:
        if is_the_final_export:
            logger.info("Performing the final export in the end of training.")
        return is_the_final_export


def _loss_smaller(best_eval_result: Mapping[str, Any], current_eval_result: Mapping[str, Any]) -> bool:
    """True when ``current_eval_result['loss']`` is smaller than the best one so far."""
    if not best_eval_result or "loss" not in best_eval_result:
        raise ValueError("best_eval_result cannot be empty or no loss is found in it.")
    if not current_eval_result or "loss" not in current_eval_result:
        raise ValueError("current_eval_result cannot be empty or no loss is found in it.")
    return best_eval_result["loss"] > current_eval_result["loss"]


class BestExporter(_SavedModelExporter):
    """Exports when an evaluation beats the best one so far (by ``compare_fn``; default: lower
    ``loss``). The best result of earlier runs is read back from the eval event files."""

    def __init__(
        self,
        name: str = "best_exporter",
        serving_input_receiver_fn: Callable[[], Any] | None = None,
        event_file_pattern: str = "eval/*.tfevents.*",
        compare_fn: Callable[..., bool] | None = _loss_smaller,
        assets_extra: Mapping[str, str] | None = None,
        as_text: bool = False,
        exports_to_keep: int | None = 5,
    ) -> None:
        if compare_fn is None:
            raise ValueError("`compare_fn` must not be None.")
        args = set(fn_args(compare_fn))
        for required in ("best_eval_result", "current_eval_result"):
            if required not in args:
                raise ValueError(f"compare_fn ({compare_fn}) must include {required} argument.")
        unexpected = args - {"best_eval_result", "current_eval_result"}
        if unexpected:
            raise ValueError(f"compare_fn ({compare_fn}) has following not expected args: {unexpected}")
        super().__init__(name, serving_input_receiver_fn, assets_extra, as_text)
        self._keep(exports_to_keep)
        self._event_file_pattern = event_file_pattern
        self._compare_fn = compare_fn
        self._model_dir: str | None = None
        self._best_eval_result: dict[str, Any] | None = None

    def _should_export(self, estimator: Estimator, eval_result: Mapping[str, Any], is_the_final_export: bool) -> bool:
        if self._model_dir != estimator.model_dir and self._event_file_pattern:
            logger.info("Loading best metric from event files.")
            self._model_dir = estimator.model_dir
            current_step = eval_result.get("global_step")
            self._best_eval_result = self._best_from_event_files(
                os.path.join(self._model_dir, self._event_file_pattern), current_step
            )
        if self._best_eval_result is None or self._compare_fn(
            best_eval_result=self._best_eval_result, current_eval_result=eval_result
        ):
            logger.info("Performing best model export.")
            self._best_eval_result = dict(eval_result)
            return True
        return False

    def _best_from_event_files(self, pattern: str, current_step: int | None) -> dict[str, Any] | None:
        """The best result of the evaluations on disk, the current one (at ``current_step``) excluded."""
        best: dict[str, Any] | None = None
        for path in sorted(glob.glob(pattern)):
            for step, values in _events.read_scalar_events(path):
                if step == current_step:
                    continue
                if best is None or self._compare_fn(best_eval_result=best, current_eval_result=values):
                    best = values
        return best
