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
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from torch_estimator._core import checkpoint as _checkpoint
from torch_estimator._core import rng as _rng
from torch_estimator._core.batches import SINGLE_BATCH_HINT, is_single_batch, iterate_batches, to_model_input
from torch_estimator._core.checks import describe
from torch_estimator._core.errors import DataLossError, NotFoundError
from torch_estimator._core.fn_args import fn_args
from torch_estimator._core.metrics import Metric
from torch_estimator._core.mode_keys import ModeKeys
from torch_estimator._core.spec import EstimatorSpec
from torch_estimator._core.trace import NotExportableError
from torch_estimator._core.train_op import TrainOp, reducing_gradients
from torch_estimator._core.variables import VariableStore
from torch_estimator._engine import events as _events
from torch_estimator._engine import hooks as hooks_lib
from torch_estimator._engine.distribute import strategy_for
from torch_estimator._engine.model_dir_lock import TrainingLock
from torch_estimator._engine.parallel import DataParallelRun
from torch_estimator._engine.progress import ProgressHook, input_length
from torch_estimator._engine.run_config import RunConfig
from torch_estimator._engine.warm_start import WarmStarter, warm_start_settings
from torch_estimator.export._program import trace_model
from torch_estimator.export._writer import write_saved_model

__all__ = ["Estimator"]

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


def _mtime(prefix: str | None) -> float | None:
    if prefix is None:
        return None
    try:
        return os.stat(prefix + _checkpoint.SUFFIX).st_mtime_ns / 1e9
    except OSError:
        return None


def _to_numpy(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        array = value.detach().cpu().numpy()
        return array[()] if array.ndim == 0 else array
    return value


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
            logger.info("Restoring parameters from %s", checkpoint)
            store.load_state(tensors, checkpoint + _checkpoint.SUFFIX)
        if not (restore_rng and _rng.set_state(metadata)) and self._config.tf_random_seed is not None:
            _rng.seed_all(self._config.tf_random_seed)
        if checkpoint is None and self._warm_start_settings is not None:
            store.set_warm_starter(WarmStarter(self._warm_start_settings))  # TF falls back to it in every mode
        if isinstance(self._model_fn, torch.nn.Module):
            store.register_module("", self._model_fn)
        self._model = _ResidentModel(store, checkpoint, mtime, metadata)
        return self._model

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

    def _call_model_fn(self, store: VariableStore, features: Any, labels: Any, mode: str) -> EstimatorSpec:
        names = fn_args(self._model_fn)
        kwargs: dict[str, Any] = {}
        if "labels" in names:
            kwargs["labels"] = labels
        elif labels is not None:
            raise ValueError("model_fn does not take labels, but input_fn returns labels.")
        if "mode" in names:
            kwargs["mode"] = mode
        if "params" in names:
            kwargs["params"] = self._params
        if "config" in names:
            kwargs["config"] = self._config
        if isinstance(self._model_fn, torch.nn.Module):
            self._model_fn.train(mode == ModeKeys.TRAIN)
        with store.activate(mode):
            result = self._model_fn(features=features, **kwargs)
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

    def _batches(
        self,
        input_fn: Callable[..., Any],
        mode: str,
        store: VariableStore,
        bounded: bool = False,
        hooks: list[hooks_lib.SessionRunHook] | None = None,
        input_context: Any = None,
    ) -> Iterator[tuple[Any, Any]]:
        """Model-ready ``(features, labels)`` batches; a single batch repeats only when training.

        The input's length, when known, goes to the progress bar among ``hooks``."""
        result = self._call_input_fn(input_fn, mode, input_context)
        if mode == ModeKeys.TRAIN and is_single_batch(result) and not bounded:
            raise ValueError(SINGLE_BATCH_HINT)
        for hook in hooks or []:
            if isinstance(hook, ProgressHook):
                hook.set_total(1 if is_single_batch(result) else input_length(result))
        for features, labels in iterate_batches(result, repeat_single=mode == ModeKeys.TRAIN):
            yield (
                to_model_input(features, store.device, "features"),
                None if labels is None else to_model_input(labels, store.device, "labels"),
            )

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
            all_hooks.append(
                ProgressHook(
                    "train",
                    "step",
                    steps if steps is not None else None if max_steps is None else max_steps - start_step,
                )
            )
            loss = self._train_model(
                model, input_fn, all_hooks, listeners, bounded=steps is not None or max_steps is not None
            )
        if loss is not None:
            logger.info("Loss for final step: %s.", loss)
        return self

    def _training_lock(self) -> Any:
        """The model_dir's exclusive training lock (the chief's: other workers write nothing)."""
        return TrainingLock(self._model_dir) if self._config.is_chief else contextlib.nullcontext()

    def _default_training_hooks(
        self,
        user_hooks: list[hooks_lib.SessionRunHook],
        spec: EstimatorSpec,
        listeners: list[hooks_lib.CheckpointSaverListener],
    ) -> list[hooks_lib.SessionRunHook]:
        """All hooks of a train() call, in TensorFlow's order: chief hooks first, then workers'."""
        config = self._config
        chief: list[hooks_lib.SessionRunHook] = list(spec.training_chief_hooks)
        if config.log_step_count_steps:
            chief.append(
                hooks_lib.StepCounterHook(every_n_steps=config.log_step_count_steps, output_dir=self._model_dir)
            )
        if config.save_summary_steps:
            chief.append(hooks_lib.SummarySaverHook(save_steps=config.save_summary_steps, output_dir=self._model_dir))
        workers: list[hooks_lib.SessionRunHook] = user_hooks + [hooks_lib.NanTensorHook("loss")]
        if config.log_step_count_steps:
            workers.append(
                hooks_lib.LoggingTensorHook(
                    {"loss": "loss", "step": "global_step"}, every_n_iter=config.log_step_count_steps
                )
            )
        workers += list(spec.training_hooks)
        savers = [h for h in chief + workers if isinstance(h, hooks_lib.CheckpointSaverHook)]
        if savers:
            savers[0]._listeners.extend(listeners)
        elif config.save_checkpoints_secs or config.save_checkpoints_steps:
            chief.append(
                hooks_lib.CheckpointSaverHook(
                    self._model_dir,
                    save_secs=config.save_checkpoints_secs,
                    save_steps=config.save_checkpoints_steps,
                    listeners=listeners,
                )
            )
        elif listeners:
            raise ValueError(
                "There should be a CheckpointSaverHook to use saving_listeners. Please set one of the "
                "RunConfig.save_checkpoints_steps or RunConfig.save_checkpoints_secs."
            )
        return (chief if config.is_chief else []) + workers  # checkpoints, summaries, listeners: the chief's

    def _train_model(
        self,
        model: _ResidentModel,
        input_fn: Callable[..., Any],
        hooks: list[hooks_lib.SessionRunHook],
        listeners: list[hooks_lib.CheckpointSaverListener],
        bounded: bool,
    ) -> Any:
        strategy = strategy_for(self._config.train_distribute)
        parallel = (
            DataParallelRun(strategy)
            if strategy is not None and strategy.ensure_process_group().is_distributed
            else None
        )
        checkpoint = model.checkpoint
        store = model.store
        input_context = None
        if parallel is not None:
            parallel.barrier()  # every worker has read the same checkpoint before the chief writes
            if checkpoint is None and self._config.tf_random_seed is None:
                _rng.seed_all(parallel.shared_seed())
            input_context = strategy.input_context()  # type: ignore[union-attr]
            if "input_context" not in fn_args(input_fn):
                logger.warning(
                    "input_fn takes no input_context: every worker reads the whole input (pass input_context to shard it)."
                )
        warm_starter = store.warm_starter if checkpoint is None else None
        session = _Session(self, model)
        all_hooks: list[hooks_lib.SessionRunHook] = []
        last_loss: torch.Tensor | None = None
        steps_taken = 0
        batches = self._batches(input_fn, ModeKeys.TRAIN, store, bounded, hooks, input_context)
        stop_requested = False
        while True:
            batch = next(batches, None)
            if parallel is not None:
                if not parallel.go_on(batch is not None, stop_requested):
                    break
            elif batch is None or stop_requested:
                break
            features, labels = batch  # type: ignore[misc]
            if not all_hooks:
                logger.info("Calling model_fn.")
            spec = self._call_model_fn(store, features, labels, ModeKeys.TRAIN)
            if not all_hooks:
                logger.info("Done calling model_fn.")
                if warm_starter is not None:
                    logger.info("Warm-starting with WarmStartSettings: %s", self._warm_start_settings)
                    warm_starter.finish()
                all_hooks = self._default_training_hooks(hooks, spec, listeners)
                _start_hooks(all_hooks, session)
            context = hooks_lib.SessionRunContext(hooks_lib.SessionRunArgs(fetches=["train_op", "loss"]), session)
            requests = [hook.before_run(context) for hook in all_hooks]
            step = store.global_step
            if parallel is not None:
                if not isinstance(spec.train_op, TrainOp):
                    raise ValueError(
                        "Data-parallel training needs a train_op built by an optimizer (optimizer.minimize(loss) or a head) "
                        f"so that gradients can be averaged across workers; got {spec.train_op!r}."
                    )
                with reducing_gradients(parallel.reduce_gradients):
                    spec.train_op()
                if steps_taken == 0:
                    parallel.check_same_variables(store.variables())
            else:
                spec.train_op()
            store.global_step = step + 1
            steps_taken += 1
            _finish_step(
                all_hooks,
                requests,
                context,
                session,
                {"loss": spec.loss, "global_step": step, "predictions": spec.predictions},
            )
            last_loss = spec.loss
            stop_requested = context.stop_requested
        batches.close()  # stops background input work
        if steps_taken == 0:
            logger.warning("Training with estimator made no steps. Perhaps input is empty or misspecified.")
            return None
        for hook in all_hooks:
            hook.end(session)
        _events.flush_writers(self._model_dir)
        if parallel is not None:
            parallel.barrier()  # the chief's last checkpoint is on disk before any worker goes on
        return _to_numpy(last_loss)

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
        all_hooks.append(ProgressHook("evaluate", "batch", steps))
        checkpoint = self._checkpoint_to_use(checkpoint_path, "evaluate")
        model = self._load_model(checkpoint, restore_rng=False, latest=not checkpoint_path)
        checkpoint = model.checkpoint
        return self._evaluate_model(model, input_fn, steps, all_hooks, name, checkpoint)

    def _evaluate_model(
        self,
        model: _ResidentModel,
        input_fn: Callable[..., Any],
        steps: int | None,
        all_hooks: list[hooks_lib.SessionRunHook],
        name: str | None,
        checkpoint: str | None,
    ) -> dict[str, Any]:
        """Evaluates ``model`` as it is in memory (restored from ``checkpoint``, or being trained)."""
        store = model.store
        session = _Session(self, model)
        logger.info("Starting evaluation at %s", datetime.datetime.now().strftime("%Y-%m-%dT%H:%M:%S"))
        start = time.time()
        metrics: dict[str, Metric] = {}
        loss_sum = torch.zeros((), dtype=torch.float64)
        batches = 0
        hooks_started = False
        for features, labels in self._batches(input_fn, ModeKeys.EVAL, store, hooks=all_hooks):
            with torch.no_grad():
                spec = self._call_model_fn(store, features, labels, ModeKeys.EVAL)
            if not hooks_started:
                all_hooks += list(spec.evaluation_hooks)
                _start_hooks(all_hooks, session)
                hooks_started = True
            context = hooks_lib.SessionRunContext(hooks_lib.SessionRunArgs(fetches=["loss"]), session)
            requests = [hook.before_run(context) for hook in all_hooks]
            _merge_metrics(metrics, spec.eval_metric_ops, first=batches == 0)
            loss_sum = loss_sum + spec.loss.detach().to(torch.float64).cpu()
            batches += 1
            if steps is not None:
                if steps < 20 or batches % max(1, steps // 10) == 0 or batches == steps:
                    logger.info("Evaluation [%d/%d]", batches, steps)
            _finish_step(
                all_hooks,
                requests,
                context,
                session,
                {"loss": spec.loss, "global_step": store.global_step, "predictions": spec.predictions},
            )
            if context.stop_requested or (steps is not None and batches >= steps):
                break
        for hook in all_hooks if hooks_started else []:
            hook.end(session)
        results: dict[str, Any] = {k: np.float32(m.result().item()) for k, m in metrics.items()}
        results["loss"] = np.float32(loss_sum.item() / batches) if batches else np.float32("nan")
        results["global_step"] = store.global_step
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

    def _checkpoint_to_use(self, checkpoint_path: str | None, action: str) -> str | None:
        if checkpoint_path:
            resolved = _checkpoint.resolve(os.fspath(checkpoint_path))
            if resolved is None:
                raise ValueError(f"Could not find a checkpoint at checkpoint_path: {checkpoint_path}.")
            return resolved
        latest = self.latest_checkpoint()
        if latest is None:
            logger.info(
                "Could not find trained model in model_dir: %s, running initialization to %s.", self._model_dir, action
            )
        return latest

    # -- export ---------------------------------------------------------------------------------
    def export_saved_model(
        self,
        export_dir_base: str,
        serving_input_receiver_fn: Callable[[], Any],
        assets_extra: dict[str, str] | None = None,
        as_text: bool = False,
        checkpoint_path: str | None = None,
        experimental_mode: str = ModeKeys.PREDICT,
    ) -> bytes:
        """Exports the model for serving to ``export_dir_base/<timestamp>`` and returns that path (bytes).

        The export holds the signatures the model_fn's ``export_outputs`` define, the receiver
        and feature transforms as data, the PREDICT computation as a ``torch.export`` program and
        the variables; ``te.saved_model.load`` serves it without this model's code. What cannot
        be exported raises ``te.export.NotExportableError`` here, never at load time.
        """
        if not serving_input_receiver_fn:
            raise ValueError("An input_receiver_fn must be defined.")
        return self.experimental_export_all_saved_models(
            export_dir_base, {experimental_mode: serving_input_receiver_fn}, assets_extra, as_text, checkpoint_path
        )

    def experimental_export_all_saved_models(
        self,
        export_dir_base: str,
        input_receiver_fn_map: dict[str, Callable[[], Any]],
        assets_extra: dict[str, str] | None = None,
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
        checkpoint = self._checkpoint_for_export(checkpoint_path)
        model = self._load_model(checkpoint, restore_rng=False, latest=not checkpoint_path)
        traced = trace_model(self._call_model_fn, model.store, receiver_fn())
        if not self._config.is_chief:
            logger.info(
                "Not the chief (task %s %d): the chief writes the export.", self._config.task_type, self._config.task_id
            )
            return None  # type: ignore[return-value]
        return write_saved_model(traced, export_dir_base, assets_extra, as_text)

    def _checkpoint_for_export(self, checkpoint_path: str | None) -> str | None:
        """The checkpoint to export: the given or latest one; None to export the warm-start source."""
        if checkpoint_path:
            resolved = _checkpoint.resolve(os.fspath(checkpoint_path))
            if resolved is None:
                raise ValueError(f"Couldn't find trained model at {checkpoint_path}.")
            return resolved
        latest = self.latest_checkpoint()
        if latest is None and self._warm_start_settings is None:
            raise ValueError(f"Couldn't find trained model at {self._model_dir}.")
        return latest

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
        values. The model stays in memory: it is reloaded only when the checkpoint changes.
        """
        all_hooks = hooks_lib.check_hooks_type(hooks)
        if isinstance(predict_keys, str):
            predict_keys = [predict_keys]
        checkpoint = self._checkpoint_to_use(checkpoint_path, "predict")
        model = self._load_model(checkpoint, restore_rng=False, latest=not checkpoint_path)
        store = model.store
        session = _Session(self, model)
        hooks_started = False
        all_hooks.append(ProgressHook("predict", "batch"))
        for features, _ in self._batches(input_fn, ModeKeys.PREDICT, store, hooks=all_hooks):
            with torch.no_grad():
                spec = self._call_model_fn(store, features, None, ModeKeys.PREDICT)
            if not hooks_started:
                all_hooks += list(spec.prediction_hooks)
                _start_hooks(all_hooks, session)
                hooks_started = True
            context = hooks_lib.SessionRunContext(hooks_lib.SessionRunArgs(fetches=["predictions"]), session)
            requests = [hook.before_run(context) for hook in all_hooks]
            predictions = _extract_keys(spec.predictions, predict_keys)
            predictions = (
                {k: _to_numpy(v) for k, v in predictions.items()}
                if isinstance(predictions, dict)
                else _to_numpy(predictions)
            )
            _finish_step(
                all_hooks,
                requests,
                context,
                session,
                {"global_step": store.global_step, "predictions": spec.predictions},
            )
            if not yield_single_examples:
                yield predictions
            elif not isinstance(predictions, dict):
                yield from predictions
            else:
                _extract_batch_length(predictions)
                keys = list(predictions)
                for row in zip(*(list(v) for v in predictions.values())):
                    yield dict(zip(keys, row))
            if context.stop_requested:
                break
        for hook in all_hooks if hooks_started else []:
            hook.end(session)


def _start_hooks(hooks: list[hooks_lib.SessionRunHook], session: _Session) -> None:
    """``begin`` then ``after_create_session`` on every hook (once the model exists)."""
    for hook in hooks:
        hook.begin()
    for hook in hooks:
        hook.after_create_session(session, None)


def _finish_step(
    hooks: list[hooks_lib.SessionRunHook],
    requests: list[hooks_lib.SessionRunArgs | None],
    context: hooks_lib.SessionRunContext,
    session: _Session,
    step_values: dict[str, Any],
) -> None:
    """Resolves each hook's fetches against the step just run and calls its ``after_run``."""
    session.step_values = step_values
    for hook, request in zip(hooks, requests):
        results = session.fetch(request.fetches) if request is not None else None
        hook.after_run(context, hooks_lib.SessionRunValues(results, None, None))


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


def _merge_metrics(accumulated: dict[str, Metric], batch: dict[str, Metric], first: bool) -> None:
    if first:
        accumulated.update(batch)
        return
    if set(batch) != set(accumulated):
        raise ValueError(
            f"model_fn returned eval_metric_ops {sorted(batch)} for this batch but {sorted(accumulated)} "
            "for the first batch; every batch must return the same metrics."
        )
    for key, metric in batch.items():
        if metric is not accumulated[key]:
            accumulated[key].merge_state(metric)


def _extract_keys(predictions: Any, predict_keys: list[str] | None) -> Any:
    if not predict_keys:
        return predictions
    if not isinstance(predictions, dict):
        raise ValueError("predict_keys argument is not valid in case of non-dict predictions.")
    existing = list(predictions.keys())
    kept = {k: v for k, v in predictions.items() if k in predict_keys}
    if not kept:
        raise ValueError(f"Expected to run at least one output from {existing}, provided {predict_keys}.")
    return kept


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


class _Session:
    """What hooks see of a running loop: fetch resolution and checkpoint saving."""

    def __init__(self, estimator: Estimator, model: _ResidentModel) -> None:
        self._estimator = estimator
        self._model = model
        self.model_dir = estimator.model_dir
        self.step_values: dict[str, Any] | None = None
        self._savers: dict[str, _checkpoint.Saver] = {}
        self._start_step = model.store.global_step

    @property
    def global_step(self) -> int:
        return self._model.store.global_step

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
            return _to_numpy(fetches)
        if callable(fetches):
            return self._resolve(fetches(), in_step)
        return fetches

    def _resolve_name(self, name: str, in_step: bool) -> Any:
        step = self.step_values or {}
        store = self._model.store
        if name == "global_step":
            return step.get("global_step", store.global_step) if in_step else store.global_step
        if name == "summaries":
            summaries = dict(store.summaries)
            if step.get("loss") is not None:
                summaries.setdefault("loss", step["loss"])
            return {k: _to_numpy(v() if callable(v) else v) for k, v in summaries.items()}
        if name in step and step[name] is not None:
            return (
                _to_numpy(step[name])
                if not isinstance(step[name], dict)
                else {k: _to_numpy(v) for k, v in step[name].items()}
            )
        predictions = step.get("predictions")
        if isinstance(predictions, dict) and name in predictions:
            return _to_numpy(predictions[name])
        variables = store.variables()
        if name in variables:
            return _to_numpy(variables[name])
        raise ValueError(
            f"Unknown fetch {name!r}: expected 'loss', 'global_step', 'summaries', a prediction key or a variable name."
        )

    def save(self, checkpoint_dir: str, basename: str) -> str:
        """Saves the model's full state as ``checkpoint_dir/<basename>-<global_step>``."""
        config = self._estimator._config
        saver = self._savers.get(checkpoint_dir)
        if saver is None:
            saver = self._savers[checkpoint_dir] = _checkpoint.Saver(
                checkpoint_dir,
                config.keep_checkpoint_max,
                config.keep_checkpoint_every_n_hours,
                start_step=self._start_step,
            )
        store = self._model.store
        metadata = {"format": "torch_estimator.checkpoint/1", **_rng.get_state()}
        prefix = saver.save(basename, store.global_step, store.state_tensors(), metadata)
        if os.path.abspath(checkpoint_dir) == os.path.abspath(self.model_dir):
            self._model.checkpoint = prefix
            self._model.mtime = _mtime(prefix)
            self._model.metadata = metadata
        return prefix
