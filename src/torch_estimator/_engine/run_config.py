"""RunConfig: where and how often an Estimator saves, logs and summarises."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping
from typing import Any

from torch_estimator._core.checks import check_int, check_number, describe
from torch_estimator._core.fn_args import fn_args
from torch_estimator._engine.distribute import environment, strategy_for
from torch_estimator._engine.threads import configured_threads

__all__ = ["RunConfig"]


class _UseDefault:
    def __repr__(self) -> str:
        return "<USE_DEFAULT>"


_USE_DEFAULT: Any = _UseDefault()
_SAVE_CKPT_ERR = "`save_checkpoints_steps` and `save_checkpoints_secs` cannot be both set."

_REPLACEABLE = (
    "model_dir",
    "tf_random_seed",
    "save_summary_steps",
    "save_checkpoints_steps",
    "save_checkpoints_secs",
    "session_config",
    "keep_checkpoint_max",
    "keep_checkpoint_every_n_hours",
    "log_step_count_steps",
    "train_distribute",
    "device_fn",
    "protocol",
    "eval_distribute",
    "experimental_distribute",
    "experimental_max_worker_delay_secs",
    "session_creation_timeout_secs",
    "checkpoint_save_graph_def",
)

Check = Callable[[str, Any], Any]


def _with_value(message: str, value: Any) -> str:
    """TensorFlow's ``message`` followed by the value received."""
    return f"{message} Got {describe(value)}." if message.endswith(".") else f"{message}; got {describe(value)}."


def _int_at_least(minimum: int) -> Check:
    """An integer field: TensorFlow's '<field> should be >= 0' / '> 0' for values out of range."""
    return lambda name, v: check_int(
        name, v, minimum, range_message=f"{name} should be {'>= 0' if minimum == 0 else '> 0'}; got {v!r}."
    )


def _number(strict: bool) -> Check:
    """A number field >= 0 (> 0 when ``strict``), with TensorFlow's messages."""
    return lambda name, v: check_number(
        name, v, 0, strict, range_message=f"{name} should be {'> 0' if strict else '>= 0'}; got {v!r}."
    )


def _model_dir(name: str, value: Any) -> str:
    path = os.fspath(value) if isinstance(value, os.PathLike) else value
    if not isinstance(path, str):
        raise TypeError(f"model_dir must be a str or os.PathLike; got {describe(value)}.")
    if not path:
        raise ValueError("model_dir should be non-empty")
    return path


def _random_seed(name: str, value: Any) -> int:
    """An int64 (torch's seed range); a wrong type raises TensorFlow's ValueError."""
    try:
        return check_int(
            name,
            value,
            -(2**63),
            2**63 - 1,
            range_message=f"tf_random_seed must be a 64-bit integer, in [-2**63, 2**63 - 1]; got {value}.",
        )
    except TypeError:
        raise ValueError(_with_value("tf_random_seed must be integer.", value)) from None


def _session_config(name: str, value: Any) -> Any:
    if not isinstance(value, Mapping) and type(value).__name__ != "ConfigProto":
        raise ValueError(
            _with_value("session_config must be instance of ConfigProto (or a dict of its fields).", value)
        )
    configured_threads(value)  # its thread counts are checked now, not when a loop starts
    return value


def _checked(message: str, check: Callable[[Any], bool]) -> Check:
    """A field checked by ``check`` (errors inside it count as failing), else ValueError(message)."""

    def validate(name: str, value: Any) -> Any:
        try:
            ok = check(value)
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(_with_value(message, value))
        return value

    return validate


#: Validation of each field that has one (None is always valid); each returns the value kept.
_CHECKS: dict[str, Check] = {
    "model_dir": _model_dir,
    "tf_random_seed": _random_seed,
    "save_summary_steps": _int_at_least(0),
    "save_checkpoints_steps": _int_at_least(0),
    "save_checkpoints_secs": _number(strict=False),
    "session_config": _session_config,
    "keep_checkpoint_max": _int_at_least(0),
    "keep_checkpoint_every_n_hours": _number(strict=True),
    "log_step_count_steps": _int_at_least(1),
    "experimental_max_worker_delay_secs": _checked(
        "experimental_max_worker_delay_secs must be an integer if set.",
        lambda v: isinstance(v, int) and not isinstance(v, bool),
    ),
    "session_creation_timeout_secs": _number(strict=True),
    "device_fn": _checked(
        'device_fn must be callable with exactly one argument "op".',
        lambda v: callable(v) and set(fn_args(v)) == {"op"},
    ),
    "protocol": _checked("protocol should be grpc or grpc+verbs", lambda v: v in ("grpc", "grpc+verbs")),
}


class RunConfig:
    """Configuration of an Estimator run, with ``tf.estimator.RunConfig``'s fields and defaults.

    Checkpoints are saved every 600 seconds unless ``save_checkpoints_steps`` or
    ``save_checkpoints_secs`` is given (giving both raises). ``tf_random_seed`` (an int64) seeds
    torch, numpy and Python's ``random`` before variables are created, so two runs with the same
    seed produce identical weights. Each field is checked when set, here and in ``replace``: a
    wrong type or value raises a TypeError / ValueError naming the field and the value received
    (``model_dir`` is a str or ``os.PathLike``, kept as str; step counts are integers).

    The distribution-related properties (``task_type``, ``is_chief``, ``task_id``,
    ``num_worker_replicas``, ``global_id_in_cluster``) come from the torch.distributed environment
    (torchrun's ``RANK`` / ``WORLD_SIZE``): rank 0 is the chief, rank k > 0 is worker k - 1; without
    it, a single local worker. ``train_distribute`` takes a ``te.distribute.DataParallelStrategy``.
    """

    def __init__(
        self,
        model_dir: str | os.PathLike[str] | None = None,
        tf_random_seed: int | None = None,
        save_summary_steps: int = 100,
        save_checkpoints_steps: Any = _USE_DEFAULT,
        save_checkpoints_secs: Any = _USE_DEFAULT,
        session_config: Any = None,
        keep_checkpoint_max: int = 5,
        keep_checkpoint_every_n_hours: float = 10000,
        log_step_count_steps: int = 100,
        train_distribute: Any = None,
        device_fn: Any = None,
        protocol: str | None = None,
        eval_distribute: Any = None,
        experimental_distribute: Any = None,
        experimental_max_worker_delay_secs: int | None = None,
        session_creation_timeout_secs: int = 7200,
        checkpoint_save_graph_def: bool = True,
    ) -> None:
        if save_checkpoints_steps is _USE_DEFAULT and save_checkpoints_secs is _USE_DEFAULT:
            save_checkpoints_steps, save_checkpoints_secs = None, 600
        elif save_checkpoints_secs is _USE_DEFAULT:
            save_checkpoints_secs = None
        elif save_checkpoints_steps is _USE_DEFAULT:
            save_checkpoints_steps = None
        elif save_checkpoints_steps is not None and save_checkpoints_secs is not None:
            raise ValueError(_SAVE_CKPT_ERR)
        values = dict(locals())
        self._values: dict[str, Any] = {k: values[k] for k in _REPLACEABLE}
        self._validate()

    def _validate(self) -> None:
        for key, check in _CHECKS.items():
            if self._values[key] is not None:
                self._values[key] = check(key, self._values[key])
        if self._values["train_distribute"] is not None:
            strategy_for(self._values["train_distribute"])  # raises unless it is a strategy of ours

    def replace(self, **kwargs: Any) -> RunConfig:
        """A copy with the given constructor fields replaced (and validated).

        Replacing one of ``save_checkpoints_steps`` / ``save_checkpoints_secs`` with a value
        clears the other; replacing both with values raises.
        """
        new = copy.deepcopy(self)
        for key, value in kwargs.items():
            if key not in _REPLACEABLE:
                raise ValueError(f"{key} property is not allowed to be replaced.")
            new._values[key] = value
        steps, secs = new._values["save_checkpoints_steps"], new._values["save_checkpoints_secs"]
        if "save_checkpoints_steps" in kwargs and "save_checkpoints_secs" in kwargs:
            if steps is not None and secs is not None:
                raise ValueError(_SAVE_CKPT_ERR)
        elif "save_checkpoints_steps" in kwargs and steps is not None:
            new._values["save_checkpoints_secs"] = None
        elif "save_checkpoints_secs" in kwargs and secs is not None:
            new._values["save_checkpoints_steps"] = None
        new._validate()
        return new

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values")
        if values is not None and name in values:
            return values[name]
        raise AttributeError(f"'RunConfig' object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name != "_values":
            raise AttributeError(f"RunConfig.{name} is read-only; use replace({name}=...).")
        object.__setattr__(self, name, value)

    # -- where this process stands (torch.distributed's RANK / WORLD_SIZE; one local worker without them)
    cluster_spec = property(lambda self: {})
    task_type = property(lambda self: "chief" if environment().is_distributed and environment().is_chief else "worker")
    task_id = property(lambda self: 0 if environment().is_chief else environment().rank - 1)
    global_id_in_cluster = property(lambda self: environment().rank)
    master = property(lambda self: "")
    evaluation_master = property(lambda self: "")
    is_chief = property(lambda self: environment().is_chief)
    num_ps_replicas = property(lambda self: 0)
    num_worker_replicas = property(lambda self: environment().world_size)
    service = property(lambda self: None)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunConfig) and self._values == other._values

    def __repr__(self) -> str:
        items = {
            **self._values,
            "task_type": self.task_type,
            "task_id": self.task_id,
            "is_chief": self.is_chief,
            "num_worker_replicas": self.num_worker_replicas,
        }
        return "RunConfig(" + ", ".join(f"{k}={v!r}" for k, v in items.items()) + ")"
