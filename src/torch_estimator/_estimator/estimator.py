"""The Estimator: trains, evaluates and predicts with a model_fn, state kept in model_dir."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any

import numpy as np
import torch

from torch_estimator._core import checkpoint as _checkpoint
from torch_estimator._core import rng as _rng
from torch_estimator._core.checks import describe
from torch_estimator._core.errors import DataLossError, NotFoundError
from torch_estimator._core.fn_args import fn_args
from torch_estimator._core.mode_keys import ModeKeys
from torch_estimator._core.spec import EstimatorSpec
from torch_estimator._core.trace import NotExportableError
from torch_estimator._core.variables import VariableStore
from torch_estimator._engine import events as _events
from torch_estimator._engine import hooks as hooks_lib
from torch_estimator._engine.input_batches import model_batches
from torch_estimator._engine.model_dir_lock import TrainingLock
from torch_estimator._engine.parallel import run_for
from torch_estimator._engine.progress import ProgressHook
from torch_estimator._engine.run_config import RunConfig
from torch_estimator._engine.run_loop import ModelCall, run_loop
from torch_estimator._engine.session import LoopSession, to_numpy
from torch_estimator._engine.steps import EvalStep, PredictStep, TrainStep
from torch_estimator._engine.threads import ThreadPolicy
from torch_estimator._engine.warm_start import WarmStarter, warm_start_settings
from torch_estimator.export._program import trace_model
from torch_estimator.export._writer import write_saved_model

__all__ = ["Estimator", "evaluate_resident_model", "with_model_fn"]

logger = logging.getLogger("torch_estimator")

_VALID_MODEL_FN_ARGS = {"features", "labels", "mode", "params", "self", "config"}
_OVERRIDABLE = {"latest_checkpoint", "export_savedmodel"}


@dataclasses.dataclass
class _ResidentModel:
    """The model state kept in memory between calls, and the checkpoint it came from."""

    store: VariableStore
    checkpoint: str | None
    mtime: float | None
    metadata: dict[str, str]
    #: The warm starter installed in ``store`` (a model not restored from a checkpoint).
    warm_starter: WarmStarter | None = None

    def saved_as(self, prefix: str, metadata: dict[str, str]) -> None:
        """The state in memory is now that of checkpoint ``prefix`` (saved with ``metadata``)."""
        self.checkpoint = prefix
        self.mtime = _mtime(prefix)
        self.metadata = metadata


def _mtime(prefix: str | None) -> float | None:
    if prefix is None:
        return None
    try:
        return os.stat(_checkpoint.file_of(prefix)).st_mtime_ns / 1e9
    except OSError:
        return None


class Estimator:
    """Trains, evaluates and predicts with a ``model_fn``; keeps its state in ``model_dir``.

    Args:
        model_fn: ``model_fn(features, labels, mode, params, config)`` (any subset of those
            names, ``features`` required) returning an ``EstimatorSpec``; or an ``nn.Module``
            whose ``forward`` has that signature. Variables are created through
            ``te.get_variable`` / ``te.layers`` / ``te.module`` on the first call and reused after.
        model_dir: where checkpoints and summaries go (default: ``config.model_dir``, else a
            temporary directory).
        config: a ``RunConfig``.
        params: hyper-parameters passed to ``model_fn`` as ``params``.
        warm_start_from: a checkpoint directory or prefix, an export directory, or a
            ``WarmStartSettings``: training in a model_dir without a checkpoint starts from it.

    Example:
        >>> def model_fn(features, labels, mode):
        ...     logits = te.layers.dense(features["x"], 1)
        ...     loss = torch.nn.functional.mse_loss(logits, labels)
        ...     train_op = te.optimizers.get("SGD", 0.1).minimize(loss)
        ...     return te.EstimatorSpec(mode, predictions={"y": logits}, loss=loss, train_op=train_op)
        >>> est = te.Estimator(model_fn).train(input_fn, steps=100)
    """

    def __init__(
        self,
        model_fn: Callable[..., EstimatorSpec] | torch.nn.Module,
        model_dir: str | os.PathLike[str] | None = None,
        config: RunConfig | None = None,
        params: dict[str, Any] | None = None,
        warm_start_from: Any = None,
    ) -> None:
        self._assert_members_are_not_overridden()
        if model_fn is None:
            raise ValueError("model_fn must be provided to Estimator.")
        _verify_model_fn_args(model_fn, params)
        if config is None:
            config = RunConfig()
        elif not isinstance(config, RunConfig):
            raise ValueError(f"config must be an instance of `RunConfig`, but provided {config}.")
        if model_dir is not None and not isinstance(model_dir, (str, os.PathLike)):
            raise TypeError(f"model_dir must be a str or os.PathLike; got {describe(model_dir)}.")
        model_dir = os.fspath(model_dir) if model_dir is not None else None
        if model_dir:
            if config.model_dir and config.model_dir != model_dir:
                raise ValueError(
                    "`model_dir` are set both in constructor and `RunConfig`, but with different values. "
                    f"In constructor: '{model_dir}', in `RunConfig`: '{config.model_dir}' "
                )
            config = config.replace(model_dir=model_dir)
        elif not config.model_dir:
            model_dir = tempfile.mkdtemp()
            logger.warning("Using temporary folder as model directory: %s", model_dir)
            config = config.replace(model_dir=model_dir)
        self._config = config
        self._model_dir: str = config.model_dir
        logger.info("Using config: %s", config)
        self._model_fn = model_fn
        self._params = copy.deepcopy(params or {})
        self._warm_start_settings = warm_start_settings(warm_start_from)
        self._model: _ResidentModel | None = None
        self._thread_policies: dict[str, ThreadPolicy] = {}

    def _assert_members_are_not_overridden(self) -> None:
        cls = type(self)
        if cls is Estimator:
            return
        overridden = sorted(
            name
            for name, member in vars(Estimator).items()
            if not name.startswith("_") and name not in _OVERRIDABLE and getattr(cls, name) is not member
        )
        if overridden:
            raise ValueError(
                f"Subclasses of Estimator cannot override members of Estimator. {cls} does override {overridden}"
            )

    # -- properties -----------------------------------------------------------------------------
    @property
    def model_dir(self) -> str:
        return self._model_dir

    @property
    def config(self) -> RunConfig:
        return copy.deepcopy(self._config)

    @property
    def params(self) -> dict[str, Any]:
        return copy.deepcopy(self._params)

    @property
    def model_fn(self) -> Callable[..., EstimatorSpec] | torch.nn.Module:
        return self._model_fn

    # -- checkpoints ----------------------------------------------------------------------------
    def latest_checkpoint(self) -> str | None:
        """The newest checkpoint prefix in model_dir, or None."""
        return _checkpoint.latest_checkpoint(self._model_dir)

    def _require_checkpoint(self) -> str:
        latest = self.latest_checkpoint()
        if not latest:
            raise ValueError(f"Could not find trained model in model_dir: {self._model_dir}.")
        return latest

    def _read_latest(self, read: Callable[[str], Any]) -> Any:
        """``read(prefix)`` of the latest checkpoint, or of the newest intact one if it is damaged."""
        latest = self._require_checkpoint()
        try:
            return read(latest)
        except DataLossError:
            prefix, _, _ = _checkpoint.load_newest_intact(self._model_dir, latest)
            return read(prefix)

    def get_variable_names(self) -> list[str]:
        """Names of all variables in the latest checkpoint, sorted (TF-style scoped names)."""
        return [name for name, _ in self._read_latest(_checkpoint.list_variables)]

    def get_variable_value(self, name: str) -> np.ndarray:
        """The value of variable ``name`` in the latest checkpoint, as a numpy array."""
        return self._read_latest(lambda prefix: _checkpoint.load_variable(prefix, name)).numpy()

    def eval_dir(self, name: str | None = None) -> str:
        """``model_dir/eval`` or ``model_dir/eval_<name>``: where evaluate() writes its summaries."""
        return os.path.join(self._model_dir, "eval" if not name else "eval_" + name)

    def _load_model(self, checkpoint: str | None, restore_rng: bool, latest: bool = False) -> _ResidentModel:
        """The resident model restored from ``checkpoint`` (reused while that file is unchanged).

        ``latest``: ``checkpoint`` is model_dir's latest, so a damaged one falls back to the
        newest intact older checkpoint (with a WARNING) instead of failing."""
        mtime = _mtime(checkpoint)
        model = self._model
        if model is not None and checkpoint is not None and model.checkpoint == checkpoint and model.mtime == mtime:
            if restore_rng:
                _rng.set_state(model.metadata)
            return model
        self._model = None
        store = VariableStore()
        metadata: dict[str, str] = {}
        if checkpoint is not None:
            if latest:
                checkpoint, tensors, metadata = _checkpoint.load_newest_intact(self._model_dir, checkpoint)
                mtime = _mtime(checkpoint)
            else:
                tensors, metadata = _checkpoint.load(checkpoint)
            from_tensorflow = _checkpoint.is_tensorflow(checkpoint)
            logger.info(
                "Restoring parameters from %s%s", checkpoint, " (a TensorFlow checkpoint)" if from_tensorflow else ""
            )
            store.load_state(tensors, _checkpoint.file_of(checkpoint), exact=from_tensorflow)
        if not (restore_rng and _rng.set_state(metadata)) and self._config.tf_random_seed is not None:
            _rng.seed_all(self._config.tf_random_seed)
        warm_starter = None
        if checkpoint is None and self._warm_start_settings is not None:
            warm_starter = WarmStarter(self._warm_start_settings)
            store.set_warm_starter(warm_starter)  # TF falls back to it in every mode
        if isinstance(self._model_fn, torch.nn.Module):
            store.register_module("", self._model_fn)
        self._model = _ResidentModel(store, checkpoint, mtime, metadata, warm_starter)
        return self._model

    def _restore(self, checkpoint_path: str | None, not_found: str) -> str | None:
        """The checkpoint ``checkpoint_path`` names (ValueError ``not_found`` with the path if it
        names none) or, without one, model_dir's latest (None if there is none)."""
        if not checkpoint_path:
            return self.latest_checkpoint()
        resolved = _checkpoint.resolve(os.fspath(checkpoint_path))
        if resolved is None:
            raise ValueError(not_found.format(checkpoint_path))
        return resolved

    def _model_to_run(self, checkpoint_path: str | None, action: str) -> _ResidentModel:
        """The model ``evaluate`` / ``predict`` run: restored from ``checkpoint_path`` or the latest
        checkpoint, freshly initialised (with an INFO line) when model_dir has none."""
        checkpoint = self._restore(checkpoint_path, "Could not find a checkpoint at checkpoint_path: {}.")
        if checkpoint is None:
            logger.info(
                "Could not find trained model in model_dir: %s, running initialization to %s.", self._model_dir, action
            )
        return self._load_model(checkpoint, restore_rng=False, latest=not checkpoint_path)

    # -- calling user functions -----------------------------------------------------------------
    def _call_input_fn(self, input_fn: Callable[..., Any], mode: str, input_context: Any = None) -> Any:
        if not callable(input_fn):
            raise TypeError(f"input_fn must be callable; got {input_fn!r}.")
        names = fn_args(input_fn)
        kwargs: dict[str, Any] = {}
        if "mode" in names:
            kwargs["mode"] = mode
        if "params" in names:
            kwargs["params"] = self.params
        if "config" in names:
            kwargs["config"] = self.config
        if input_context is not None and "input_context" in names:
            kwargs["input_context"] = input_context
        return input_fn(**kwargs)

    def _batches(
        self,
        input_fn: Callable[..., Any],
        mode: str,
        store: VariableStore,
        progress: ProgressHook | None,
        bounded: bool = False,
        limit: int | None = None,
        input_context: Any = None,
    ) -> Generator[tuple[Any, Any], None, None]:
        """Model-ready batches of ``input_fn`` (called at the first batch), as ``model_batches``."""
        return model_batches(
            lambda: self._call_input_fn(input_fn, mode, input_context), mode, store.device, bounded, progress, limit
        )

    def _model_call(self, store: VariableStore, mode: str) -> ModelCall:
        """``call(features, labels)``: the model_fn in ``mode`` on ``store``, its arguments worked
        out once (a loop calls it for every batch)."""
        model_fn = self._model_fn
        names = fn_args(model_fn)
        takes_labels = "labels" in names
        given = {"mode": mode, "params": self._params, "config": self._config}
        kwargs = {name: value for name, value in given.items() if name in names}
        module = model_fn if isinstance(model_fn, torch.nn.Module) else None

        def call(features: Any, labels: Any) -> EstimatorSpec:
            if takes_labels:
                kwargs["labels"] = labels
            elif labels is not None:
                raise ValueError("model_fn does not take labels, but input_fn returns labels.")
            if module is not None:
                module.train(mode == ModeKeys.TRAIN)
            with store.activate(mode):
                result = model_fn(features=features, **kwargs)
            try:
                store.check_restored()
            except NotFoundError:
                if self._model is not None and self._model.store is store:
                    self._model = None  # the store now holds freshly initialised variables: never reuse it
                raise
            if not isinstance(result, EstimatorSpec) and callable(getattr(result, "estimator_spec", None)):
                result = result.estimator_spec()  # a contrib-style ModelFnOps
            if not isinstance(result, EstimatorSpec):
                raise ValueError("model_fn should return an EstimatorSpec.")
            if result.mode != mode:
                raise ValueError(
                    f"model_fn returned an EstimatorSpec for mode {result.mode!r} when called with mode {mode!r}."
                )
            return result

        return call

    def _call_model_fn(self, store: VariableStore, features: Any, labels: Any, mode: str) -> EstimatorSpec:
        """The model_fn called once (export traces it this way)."""
        return self._model_call(store, mode)(features, labels)

    def _session(self, model: _ResidentModel) -> LoopSession:
        return LoopSession(model.store, self._model_dir, self._config, on_save=model.saved_as)

    def _threads(self, mode: str) -> ThreadPolicy:
        """The thread policy of ``mode``'s loops: the RunConfig's session_config, else measured
        (kept across calls, so a later call starts from what was measured; each process of a
        data-parallel job on this machine takes its share of the cores)."""
        policy = self._thread_policies.get(mode)
        if policy is None:
            processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
            policy = self._thread_policies[mode] = ThreadPolicy(self._config.session_config, processes)
        return policy

    # -- train ----------------------------------------------------------------------------------
    def train(
        self,
        input_fn: Callable[..., Any],
        hooks: list[hooks_lib.SessionRunHook] | None = None,
        steps: int | None = None,
        max_steps: int | None = None,
        saving_listeners: list[hooks_lib.CheckpointSaverListener] | None = None,
    ) -> Estimator:
        """Trains on the batches of ``input_fn`` until it ends, ``steps`` more steps, or ``max_steps``.

        Returns self. Checkpoints are saved when the model is ready, every
        ``save_checkpoints_steps``/``secs`` and at the end; training resumes from the latest one.
        """
        if steps is not None and max_steps is not None:
            raise ValueError("Can not provide both steps and max_steps.")
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        if max_steps is not None and max_steps <= 0:
            raise ValueError(f"Must specify max_steps > 0, given: {max_steps}")
        all_hooks = hooks_lib.check_hooks_type(hooks)
        listeners = hooks_lib.check_listeners_type(saving_listeners)
        with self._training_lock():
            model = self._load_model(self.latest_checkpoint(), restore_rng=True, latest=True)
            start_step = model.store.global_step
            if max_steps is not None and max_steps <= start_step:
                logger.info("Skipping training since max_steps has already saved.")
                return self
            if steps is not None or max_steps is not None:
                all_hooks.append(hooks_lib.StopAtStepHook(steps, max_steps))
            progress = ProgressHook(
                "train", "step", steps if steps is not None else None if max_steps is None else max_steps - start_step
            )
            all_hooks.append(progress)
            loss = self._train_model(
                model, input_fn, all_hooks, listeners, progress, bounded=steps is not None or max_steps is not None
            )
        if loss is not None:
            logger.info("Loss for final step: %s.", loss)
        return self

    def _training_lock(self) -> Any:
        """The model_dir's exclusive training lock (the chief's: other workers write nothing)."""
        return TrainingLock(self._model_dir) if self._config.is_chief else contextlib.nullcontext()

    def _train_model(
        self,
        model: _ResidentModel,
        input_fn: Callable[..., Any],
        hooks: list[hooks_lib.SessionRunHook],
        listeners: list[hooks_lib.CheckpointSaverListener],
        progress: ProgressHook,
        bounded: bool,
    ) -> Any:
        """Trains ``model`` (the resident one); returns the last step's loss, None without a step."""
        run = run_for(self._config.train_distribute)
        run.barrier()  # every worker has read the same checkpoint before the chief writes
        if model.checkpoint is None and self._config.tf_random_seed is None:
            run.share_seed()
        store = model.store
        warm_starter = model.warm_starter if model.checkpoint is None else None
        batches = self._batches(
            input_fn, ModeKeys.TRAIN, store, progress, bounded=bounded, input_context=run.input_context(input_fn)
        )
        step = TrainStep(
            self._model_call(store, ModeKeys.TRAIN), store, run, self._config, hooks, listeners, warm_starter
        )
        for _ in run_loop(step, batches, self._session(model), run, self._threads(ModeKeys.TRAIN)):
            pass
        if not step.steps:
            logger.warning("Training with estimator made no steps. Perhaps input is empty or misspecified.")
            return None
        _events.flush_writers(self._model_dir)
        run.barrier()  # the chief's last checkpoint is on disk before any worker goes on
        return to_numpy(step.last_loss)

    # -- evaluate -------------------------------------------------------------------------------
    def evaluate(
        self,
        input_fn: Callable[..., Any],
        steps: int | None = None,
        hooks: list[hooks_lib.SessionRunHook] | None = None,
        checkpoint_path: str | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Evaluates on ``input_fn`` (all of it, or ``steps`` batches).

        Returns the spec's metrics plus ``loss`` (the mean of per-batch losses) and
        ``global_step``, and writes them as TensorBoard scalars to ``eval_dir(name)``.
        """
        all_hooks = hooks_lib.check_hooks_type(hooks)
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        progress = ProgressHook("evaluate", "batch", steps)
        all_hooks.append(progress)
        model = self._model_to_run(checkpoint_path, "evaluate")
        return self._evaluate_model(model, input_fn, steps, all_hooks, name, model.checkpoint, progress)

    def _evaluate_model(
        self,
        model: _ResidentModel,
        input_fn: Callable[..., Any],
        steps: int | None,
        hooks: list[hooks_lib.SessionRunHook],
        name: str | None,
        checkpoint: str | None,
        progress: ProgressHook | None = None,
    ) -> dict[str, Any]:
        """Evaluates ``model`` as it is in memory (restored from ``checkpoint``, or being trained:
        None, and no ``checkpoint_path`` summary)."""
        store = model.store
        logger.info("Starting evaluation at %s", datetime.datetime.now().strftime("%Y-%m-%dT%H:%M:%S"))
        start = time.time()
        step = EvalStep(self._model_call(store, ModeKeys.EVAL), store, hooks, steps)
        batches = self._batches(input_fn, ModeKeys.EVAL, store, progress, limit=steps)
        for _ in run_loop(step, batches, self._session(model), threads=self._threads(ModeKeys.EVAL)):
            pass
        results = step.results()
        logger.info("Inference Time : %.5fs", time.time() - start)
        logger.info("Finished evaluation at %s", datetime.datetime.now().strftime("%Y-%m-%d-%H:%M:%S"))
        logger.info(
            "Saving dict for global step %d: %s",
            store.global_step,
            ", ".join(f"{k} = {results[k]!s}" for k in sorted(results)),
        )
        if not self._config.is_chief:
            return results  # only the chief writes evaluation summaries
        eval_dir = self.eval_dir(name)
        writer = _events.writer_for(eval_dir)
        writer.add_scalars({k: float(v) for k, v in results.items() if k != "global_step"}, store.global_step)
        if checkpoint is not None:
            logger.info("Saving 'checkpoint_path' summary for global step %d: %s", store.global_step, checkpoint)
            writer.add_text("checkpoint_path", checkpoint, store.global_step)
        _events.flush_writers(eval_dir)
        return results

    # -- export ---------------------------------------------------------------------------------
    def export_saved_model(
        self,
        export_dir_base: str,
        serving_input_receiver_fn: Callable[[], Any] | None,
        assets_extra: Mapping[str, str] | None = None,
        as_text: bool = False,
        checkpoint_path: str | None = None,
        experimental_mode: str = ModeKeys.PREDICT,
    ) -> bytes:
        """Exports the model for serving to ``export_dir_base/<timestamp>`` and returns that path
        (bytes; None in a worker that is not the chief, which writes nothing).

        The export holds the signatures the model_fn's ``export_outputs`` define, the receiver
        and feature transforms as data, the PREDICT computation as an ONNX program and the
        variables; ``te.saved_model.load`` serves it without this model's code. What cannot be
        exported raises ``te.export.NotExportableError`` here, never at load time.
        """
        if not serving_input_receiver_fn:
            raise ValueError("An input_receiver_fn must be defined.")
        return self.experimental_export_all_saved_models(
            export_dir_base, {experimental_mode: serving_input_receiver_fn}, assets_extra, as_text, checkpoint_path
        )

    def export_savedmodel(
        self,
        export_dir_base: str,
        serving_input_receiver_fn: Callable[[], Any] | None,
        assets_extra: Mapping[str, str] | None = None,
        as_text: bool = False,
        checkpoint_path: str | None = None,
        strip_default_attrs: bool = False,
    ) -> bytes:
        """TF's deprecated name of ``export_saved_model`` (``strip_default_attrs`` has no meaning
        for an ONNX program and is ignored)."""
        warnings.warn(
            "export_savedmodel is deprecated (as in TensorFlow); use export_saved_model.", DeprecationWarning, 2
        )
        return self.export_saved_model(
            export_dir_base, serving_input_receiver_fn, assets_extra, as_text, checkpoint_path
        )

    def experimental_export_all_saved_models(
        self,
        export_dir_base: str,
        input_receiver_fn_map: Mapping[str, Callable[[], Any] | None],
        assets_extra: Mapping[str, str] | None = None,
        as_text: bool = False,
        checkpoint_path: str | None = None,
    ) -> bytes:
        """Like ``export_saved_model`` with ``{mode: receiver_fn}``; only PREDICT can be exported
        (TRAIN and EVAL graphs need TensorFlow's session machinery)."""
        unsupported = sorted(set(input_receiver_fn_map) - {ModeKeys.PREDICT})
        if unsupported:
            raise NotExportableError(f"Only the {ModeKeys.PREDICT!r} mode can be exported; got {unsupported}.")
        receiver_fn = input_receiver_fn_map.get(ModeKeys.PREDICT)
        if not receiver_fn:
            raise ValueError("An input_receiver_fn must be defined.")
        checkpoint = self._restore(checkpoint_path, "Couldn't find trained model at {}.")
        if checkpoint is None and self._warm_start_settings is None:
            raise ValueError(f"Couldn't find trained model at {self._model_dir}.")  # else: export the warm start
        model = self._load_model(checkpoint, restore_rng=False, latest=not checkpoint_path)
        traced = trace_model(self._call_model_fn, model.store, receiver_fn())
        if not self._config.is_chief:
            logger.info(
                "Not the chief (task %s %d): the chief writes the export.", self._config.task_type, self._config.task_id
            )
            return None  # type: ignore[return-value]  # TensorFlow's signature says bytes
        return write_saved_model(traced, export_dir_base, assets_extra, as_text)

    # -- predict --------------------------------------------------------------------------------
    def predict(
        self,
        input_fn: Callable[..., Any],
        predict_keys: list[str] | str | None = None,
        hooks: list[hooks_lib.SessionRunHook] | None = None,
        checkpoint_path: str | None = None,
        yield_single_examples: bool = True,
    ) -> Iterator[Any]:
        """Yields predictions for the features of ``input_fn``.

        One dict per example (or per batch with ``yield_single_examples=False``), with numpy
        values. The model stays in memory: it is reloaded only when the checkpoint changed.
        """
        all_hooks = hooks_lib.check_hooks_type(hooks)
        if isinstance(predict_keys, str):
            predict_keys = [predict_keys]
        model = self._model_to_run(checkpoint_path, "predict")
        store = model.store
        progress = ProgressHook("predict", "batch")
        all_hooks.append(progress)
        step = PredictStep(self._model_call(store, ModeKeys.PREDICT), store, all_hooks, predict_keys)
        batches = self._batches(input_fn, ModeKeys.PREDICT, store, progress)
        for predictions in run_loop(step, batches, self._session(model), threads=self._threads(ModeKeys.PREDICT)):
            if not yield_single_examples:
                yield predictions
            elif not isinstance(predictions, dict):
                yield from predictions
            else:
                _extract_batch_length(predictions)
                keys = list(predictions)
                for row in zip(*(list(v) for v in predictions.values())):
                    yield dict(zip(keys, row))


def evaluate_resident_model(
    estimator: Estimator,
    input_fn: Callable[..., Any],
    steps: int | None,
    hooks: list[hooks_lib.SessionRunHook],
    name: str | None,
) -> dict[str, Any]:
    """``estimator.evaluate`` of the model as it is in memory: during ``train()``, the model being
    trained (no checkpoint written or read). What ``InMemoryEvaluatorHook`` runs."""
    model = estimator._model
    if model is None:
        raise RuntimeError("InMemoryEvaluatorHook runs only inside Estimator.train().")
    return estimator._evaluate_model(model, input_fn, steps, hooks, name, None)


def with_model_fn(estimator: Estimator, model_fn: Callable[..., EstimatorSpec]) -> Estimator:
    """An Estimator with another ``model_fn`` and the model_dir, config, params and warm start of
    ``estimator`` (what ``add_metrics`` returns)."""
    return Estimator(
        model_fn,
        model_dir=estimator.model_dir,
        config=estimator.config,
        params=estimator.params,
        warm_start_from=estimator._warm_start_settings,
    )


def _verify_model_fn_args(model_fn: Any, params: Any) -> None:
    args = set(fn_args(model_fn))
    if "features" not in args:
        raise ValueError(f"model_fn ({model_fn}) must include features argument.")
    if params is not None and "params" not in args:
        raise ValueError(
            f"model_fn ({model_fn}) does not include params argument, but params ({params}) is passed to Estimator."
        )
    if params is None and "params" in args:
        logger.warning(
            "Estimator's model_fn (%s) includes params argument, but params are not passed to Estimator.", model_fn
        )
    unexpected = sorted(args - _VALID_MODEL_FN_ARGS)
    if unexpected:
        raise ValueError(f"model_fn ({model_fn}) has following not expected args: {unexpected}")


def _extract_batch_length(predictions: dict[str, Any]) -> int:
    batch_length = None
    for key, value in predictions.items():
        shape = np.shape(value)
        if not shape:
            raise ValueError(
                f"Prediction {key} is a scalar; predictions must have a batch dimension to yield single examples."
            )
        batch_length = batch_length or shape[0]
        if shape[0] != batch_length:
            raise ValueError(
                f"Batch length of predictions should be same. {key} has different batch length than others."
            )
    return batch_length or 0
