"""RunConfig: where and how often an Estimator saves, logs and summarises."""

from __future__ import annotations

import copy
from typing import Any, Callable

from ._fn_args import fn_args

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

_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "model_dir": (lambda v: bool(v), "model_dir should be non-empty"),
    "save_summary_steps": (lambda v: v >= 0, "save_summary_steps should be >= 0"),
    "save_checkpoints_steps": (lambda v: v >= 0, "save_checkpoints_steps should be >= 0"),
    "save_checkpoints_secs": (lambda v: v >= 0, "save_checkpoints_secs should be >= 0"),
    "keep_checkpoint_max": (lambda v: v >= 0, "keep_checkpoint_max should be >= 0"),
    "keep_checkpoint_every_n_hours": (lambda v: v > 0, "keep_checkpoint_every_n_hours should be > 0"),
    "log_step_count_steps": (lambda v: v > 0, "log_step_count_steps should be > 0"),
    "tf_random_seed": (lambda v: isinstance(v, int), "tf_random_seed must be integer."),
    "experimental_max_worker_delay_secs": (
        lambda v: isinstance(v, int) and not isinstance(v, bool),
        "experimental_max_worker_delay_secs must be an integer if set.",
    ),
    "session_creation_timeout_secs": (lambda v: v > 0, "session_creation_timeout_secs should be > 0"),
    "device_fn": (
        lambda v: callable(v) and set(fn_args(v)) == {"op"},
        'device_fn must be callable with exactly one argument "op".',
    ),
    "protocol": (lambda v: v in ("grpc", "grpc+verbs"), "protocol should be grpc or grpc+verbs"),
}


class RunConfig:
    """Configuration of an Estimator run, with ``tf.estimator.RunConfig``'s fields and defaults.

    Checkpoints are saved every 600 seconds unless ``save_checkpoints_steps`` or
    ``save_checkpoints_secs`` is given (giving both raises). ``tf_random_seed`` seeds torch,
    numpy and Python's ``random`` before variables are created, so two runs with the same seed
    produce identical weights.

    The distribution-related properties (``task_type``, ``is_chief``, ``task_id``,
    ``num_worker_replicas``, ``global_id_in_cluster``) come from the torch.distributed environment
    (torchrun's ``RANK`` / ``WORLD_SIZE``): rank 0 is the chief, rank k > 0 is worker k - 1; without
    it, a single local worker. ``train_distribute`` takes a ``te.distribute.DataParallelStrategy``.
    """

    def __init__(
        self,
        model_dir: str | None = None,
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
        if self._values["model_dir"] is not None:
            self._values["model_dir"] = str(self._values["model_dir"])
        self._validate()

    def _validate(self) -> None:
        for key, (check, message) in _CHECKS.items():
            value = self._values[key]
            if value is None:
                continue
            try:
                ok = check(value)
            except TypeError:
                ok = False
            if not ok:
                raise ValueError(message)
        if self._values["train_distribute"] is not None:
            from .distribute import strategy_for

            strategy_for(self._values["train_distribute"])  # raises unless it is a strategy of ours

    def replace(self, **kwargs: Any) -> "RunConfig":
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
    task_type = property(lambda self: "chief" if _env().is_distributed and _env().is_chief else "worker")
    task_id = property(lambda self: 0 if _env().is_chief else _env().rank - 1)
    global_id_in_cluster = property(lambda self: _env().rank)
    master = property(lambda self: "")
    evaluation_master = property(lambda self: "")
    is_chief = property(lambda self: _env().is_chief)
    num_ps_replicas = property(lambda self: 0)
    num_worker_replicas = property(lambda self: _env().world_size)
    service = property(lambda self: None)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunConfig) and self._values == other._values

    def __repr__(self) -> str:
        items = {**self._values, "task_type": self.task_type, "task_id": self.task_id,
                 "is_chief": self.is_chief, "num_worker_replicas": self.num_worker_replicas}
        return "RunConfig(" + ", ".join(f"{k}={v!r}" for k, v in items.items()) + ")"


def _env() -> Any:
    from .distribute import environment

    return environment()
