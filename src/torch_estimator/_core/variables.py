"""The variable store: named, scoped parameters that outlive the model_fn call creating them.

A model_fn runs once per batch. The first call creates each variable (``get_variable``, the
``te.layers`` functions, ``module``); later calls get the same tensor back by its scoped name.
The store also holds the bound optimizers and the global step, so that one checkpoint holds
everything training needs to resume.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
import torch

from torch_estimator._core import initializers
from torch_estimator._core.errors import NotFoundError
from torch_estimator._core.mode_keys import ModeKeys

__all__ = [
    "VariableStore",
    "StoreOptimizer",
    "get_variable",
    "variable_scope",
    "module",
    "current_store",
    "get_global_step",
    "trainable_variables",
]

GLOBAL_STEP_NAME = "global_step"
_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-/]+$")
M = TypeVar("M", bound=torch.nn.Module)
#: ``(name, initial_value, trainable) -> value or None``: where a new variable starts (warm starting).
WarmStartFn = Callable[[str, torch.Tensor, bool], torch.Tensor | None]


@runtime_checkable
class StoreOptimizer(Protocol):
    """An optimizer as the store keeps it (``te.optimizers.Optimizer`` is one): bound to one store
    under its ``name``, updating variables from their gradients, checkpointed with them."""

    name: str

    def bind(self, store: VariableStore, owns_global_step: bool) -> None:
        """Attaches the optimizer to ``store`` (done once, by the store)."""

    def create_slots(self, variables: Sequence[torch.Tensor]) -> None:
        """Creates (or restores) the slots of ``variables``."""

    def apply_gradients(self, variables: Sequence[torch.Tensor]) -> None:
        """Updates ``variables`` from their ``.grad``."""

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """The optimizer's checkpointed state (slots, counters, hyper-parameters) by name."""

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restores the state from ``tensors`` (consuming the keys it uses)."""


class _Frame:
    """The current store and variable scope. A frame keeps its child scopes, so entering a scope
    a model_fn entered before (every step's) allocates nothing."""

    __slots__ = ("store", "scope", "path", "_children")

    def __init__(self, store: VariableStore, scope: tuple[str, ...]) -> None:
        self.store = store
        self.scope = scope
        self.path = "/".join(scope)
        self._children: dict[str, _Frame] = {}

    def child(self, name: str) -> _Frame:
        frame = self._children.get(name)
        if frame is None:
            frame = self._children[name] = _Frame(self.store, self.scope + tuple(name.split("/")))
        return frame


_FRAME: contextvars.ContextVar[_Frame | None] = contextvars.ContextVar("torch_estimator_store", default=None)


def _initial_value(name: str, value: Any, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """An initializer's result as a new tensor of ``shape`` and ``dtype``: arrays and lists are
    accepted (as TF's initializers may return them), and the result is always copied, so training
    never writes into the caller's array and two variables never share memory."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach().to(dtype=dtype, copy=True)
    else:
        try:
            tensor = torch.tensor(np.asarray(value), dtype=dtype)
        except (TypeError, ValueError, RuntimeError) as error:
            raise TypeError(
                f"The initializer of variable {name!r} returned {type(value).__name__}; expected a tensor or an array "
                f"of shape {list(shape)} ({error})."
            ) from None
    if tuple(tensor.shape) != shape:
        raise ValueError(
            f"The initializer of variable {name!r} returned shape {list(tensor.shape)}; the variable has shape "
            f"{list(shape)}."
        )
    return tensor


class VariableStore:
    """Holds a model's variables, modules, optimizers and global step by scoped name.

    The Estimator owns one store per model and activates it around every model_fn call. It
    can also be used directly, e.g. to try layers outside an Estimator::

        store = te.VariableStore()
        with store.activate():
            y = te.layers.dense(torch.ones(2, 3), 4)
    """

    def __init__(self, device: str | torch.device | None = None) -> None:
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.mode: str = ModeKeys.TRAIN
        self.global_step: int = 0
        self._variables: dict[str, torch.Tensor] = {}
        self._trainable: dict[str, bool] = {}
        self._names_by_id: dict[int, str] = {}
        self._modules: dict[str, torch.nn.Module] = {}
        self._optimizers: dict[str, StoreOptimizer] = {}
        self._pending: dict[str, torch.Tensor] = {}
        self._restored_from: str | None = None
        self._missing: list[str] = []
        self._exact_restore = False
        self._exact_checked: set[str] = set()
        self._warm_starter: WarmStartFn | None = None
        self._name_counts: dict[tuple[tuple[str, ...], str], int] = {}
        self.summaries: dict[str, Any] = {}  # tensors, or callables evaluated when written
        #: The regularizers' losses of this model_fn call (TF's REGULARIZATION_LOSSES collection).
        self.regularization_losses: list[torch.Tensor] = []
        #: Scratch space of one model_fn call (e.g. feature transforms shared by several layers).
        self.call_cache: dict[Any, Any] = {}
        #: What a layer call site looked up on earlier calls (its variables, by the site's scope and
        #: name): later calls skip the scoped-name lookups. Never shared with another store.
        self.site_cache: dict[Any, Any] = {}
        self._root = _Frame(self, ())

    # -- activation -------------------------------------------------------------------------
    @contextlib.contextmanager
    def activate(self, mode: str | None = None) -> Iterator[VariableStore]:
        """Makes this store current (for one model_fn call); resets per-call auto-naming."""
        if mode is not None:
            self.mode = mode
        self._name_counts = {}
        self.summaries = {}
        self.regularization_losses = []
        self.call_cache = {}
        token = _FRAME.set(self._root)
        try:
            yield self
        finally:
            _FRAME.reset(token)

    # -- variables ----------------------------------------------------------------------------
    def get_variable(
        self,
        name: str,
        shape: Sequence[int],
        dtype: torch.dtype = torch.float32,
        initializer: Any = None,
        trainable: bool = True,
    ) -> torch.Tensor:
        """Returns the variable ``name`` (a full scoped name), creating it on first use."""
        shape = tuple(int(d) for d in shape)
        existing = self._variables.get(name)
        if existing is not None:
            if tuple(existing.shape) != shape:
                raise ValueError(
                    f"Trying to share variable {name}, but specified shape {list(shape)} and found "
                    f"shape {list(existing.shape)}."
                )
            if existing.dtype != dtype:
                raise ValueError(
                    f"Trying to share variable {name}, but specified dtype {dtype} and found dtype {existing.dtype}."
                )
            return existing
        value = self._pending.pop(name, None)
        if value is not None:
            if tuple(value.shape) != shape:
                raise ValueError(
                    f"Variable {name} has shape {list(shape)} in the model but {list(value.shape)} in the checkpoint."
                )
            value = value.to(dtype=dtype)
        else:
            self._note_missing(name)
            value = _initial_value(name, initializers.get(initializer)(shape, dtype), shape, dtype)
            if self._warm_starter is not None:
                warm = self._warm_starter(name, value, trainable)
                value = value if warm is None else warm
        value = value.to(self.device)
        tensor: torch.Tensor = torch.nn.Parameter(value, requires_grad=True) if trainable else value
        self._add(name, tensor, trainable)
        return tensor

    def _add(self, name: str, tensor: torch.Tensor, trainable: bool) -> None:
        if not _NAME_RE.match(name) or name == GLOBAL_STEP_NAME:
            raise ValueError(
                f"Invalid variable name {name!r}: use letters, digits, '_', '.', '-' and '/' (and not 'global_step')."
            )
        if name in self._variables:
            raise ValueError(f"Variable {name} already exists in the store.")
        self._variables[name] = tensor
        self._trainable[name] = trainable
        self._names_by_id[id(tensor)] = name

    def register_module(self, prefix: str, mod: torch.nn.Module) -> None:
        """Adds ``mod``'s parameters and buffers as variables named ``prefix/<path>``.

        Values waiting in a restored checkpoint (else warm-start values) are copied into the module.
        """
        mod.to(self.device)
        self._modules[prefix] = mod
        named: list[tuple[str, torch.Tensor, bool]] = [(n, p, p.requires_grad) for n, p in mod.named_parameters()] + [
            (n, b, False) for n, b in mod.named_buffers()
        ]
        for path, tensor, trainable in named:
            name = "/".join(filter(None, [prefix, path.replace(".", "/")]))
            self._add(name, tensor, trainable)
            pending = self._pending.pop(name, None)
            if pending is not None:
                self._assign(name, tensor, pending)
            else:
                self._note_missing(name)
                self._warm_start(name, tensor, trainable)

    @property
    def warm_starter(self) -> WarmStartFn | None:
        """The warm starter consulted when variables are created (None: none)."""
        return self._warm_starter

    def set_warm_starter(self, warm_starter: WarmStartFn | None) -> None:
        """Variables created from now on start from ``warm_starter(name, initial_value, trainable)``
        unless it returns None or a restored checkpoint has a value; existing ones are set now."""
        self._warm_starter = warm_starter
        for name, tensor in self._variables.items():
            self._warm_start(name, tensor, self._trainable[name])

    def _warm_start(self, name: str, tensor: torch.Tensor, trainable: bool) -> None:
        if self._warm_starter is not None:
            value = self._warm_starter(name, tensor.detach(), trainable)
            if value is not None:
                self._assign(name, tensor, value)

    @staticmethod
    def _assign(name: str, tensor: torch.Tensor, value: torch.Tensor) -> None:
        if tuple(value.shape) != tuple(tensor.shape):
            raise ValueError(
                f"Variable {name} has shape {list(tensor.shape)} in the model but {list(value.shape)} "
                "in the checkpoint."
            )
        with torch.no_grad():
            tensor.copy_(value.to(dtype=tensor.dtype))

    def module_for(self, prefix: str) -> torch.nn.Module | None:
        return self._modules.get(prefix)

    def modules(self) -> dict[str, torch.nn.Module]:
        """The registered modules by name prefix."""
        return dict(self._modules)

    def with_values(self, values: Mapping[str, torch.Tensor]) -> VariableStore:
        """A store whose variables are ``values[name]`` for each of this store's variables, with the
        same trainable flags, modules and global step (export traces the model through it)."""
        other = VariableStore(self.device)
        other._variables = {name: values[name] for name in self._variables}
        other._trainable = dict(self._trainable)
        other._modules = self._modules
        other.global_step = self.global_step
        return other

    def unique_name(self, scope: tuple[str, ...], base: str) -> str:
        """``base``, ``base_1``, ``base_2``, ... for successive unnamed layers within one call."""
        key = (scope, base)
        count = self._name_counts.get(key, 0)
        self._name_counts[key] = count + 1
        return base if count == 0 else f"{base}_{count}"

    def name_of(self, tensor: torch.Tensor) -> str:
        """The scoped name of a variable of this store."""
        try:
            return self._names_by_id[id(tensor)]
        except KeyError:
            raise ValueError(f"Tensor of shape {tuple(tensor.shape)} is not a variable of this store.") from None

    def variables(self) -> dict[str, torch.Tensor]:
        """All variables by name, in creation order."""
        return dict(self._variables)

    def trainable_variables(self) -> list[torch.Tensor]:
        """Trainable variables, in creation order."""
        return [t for n, t in self._variables.items() if self._trainable[n]]

    # -- optimizers -----------------------------------------------------------------------------
    def optimizer(self, optimizer: StoreOptimizer) -> StoreOptimizer:
        """The store's optimizer named ``optimizer.name``, binding ``optimizer`` on first use.

        A model_fn that builds a new optimizer object on every call thus trains with one
        optimizer whose slots persist. The first optimizer bound owns the global step.
        """
        bound = self._optimizers.get(optimizer.name)
        if bound is not None:
            return bound
        optimizer.bind(self, owns_global_step=not self._optimizers)
        self._optimizers[optimizer.name] = optimizer
        return optimizer

    def optimizers(self) -> list[StoreOptimizer]:
        """The bound optimizers, in binding order."""
        return list(self._optimizers.values())

    def take_pending(self, name: str, required: bool = True) -> torch.Tensor | None:
        """Removes and returns a value waiting in a restored checkpoint (for optimizer slots).

        A ``required`` value the restored checkpoint lacks is reported by ``check_restored``."""
        value = self._pending.pop(name, None)
        if value is None and required:
            self._note_missing(name)
        return value

    def take_pending_with_prefix(self, prefix: str) -> dict[str, torch.Tensor]:
        """Removes and returns the restored values whose names start with ``prefix``, keyed by the
        rest of the name (an optimizer's per-variable state)."""
        names = [name for name in self._pending if name.startswith(prefix)]
        return {name[len(prefix) :]: self._pending.pop(name) for name in names}

    def _note_missing(self, name: str) -> None:
        if self._restored_from is not None:
            self._missing.append(name)

    def check_restored(self) -> None:
        """Raises ``NotFoundError`` if the model needed state its restored checkpoint lacks.

        Variables, optimizer slots and counters created after a restore must all come from the
        checkpoint; initialising them silently would mix fresh weights into a trained model. A
        checkpoint restored ``exact`` (TensorFlow's) must also hold nothing the model does not
        use: besides the optimizers' state (``training/...``), which only training uses, every
        name must map, and both sides' unmatched names are listed otherwise.
        """
        if self._exact_restore and self.mode not in self._exact_checked:
            self._exact_checked.add(self.mode)
            unused = sorted(n for n in self._pending if self.mode == ModeKeys.TRAIN or not n.startswith("training/"))
            if unused or self._missing:
                raise NotFoundError(
                    f"Restoring from checkpoint {self._restored_from} failed: its variables and the model's do not "
                    f"match by name. In the checkpoint, not in the model: {unused or 'none'}. In the model, not in "
                    f"the checkpoint: {self._missing or 'none'}. Names map one to one (TensorFlow's names); a model "
                    "changed since the checkpoint was written can warm-start from it (warm_start_from=..., with "
                    "var_name_to_prev_var_name for renamed variables)."
                )
        if not self._missing:
            return
        first, rest = self._missing[0], self._missing[1:]
        more = f" (and {len(rest)} more: {rest})" if rest else ""
        raise NotFoundError(
            "Restoring from checkpoint failed: the model needs variables that the checkpoint "
            f"{self._restored_from} lacks. Key {first} not found in checkpoint{more}. The model was changed since "
            "the checkpoint was written: train it in a new model_dir, or warm-start from this checkpoint "
            "(warm_start_from=...) to reuse what matches."
        )

    # -- checkpoint state -----------------------------------------------------------------------
    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Everything a checkpoint holds: variables, optimizer slots and hyper-parameters, step."""
        out: dict[str, torch.Tensor] = {n: t.detach() for n, t in self._variables.items()}
        for opt in self._optimizers.values():
            out.update(opt.state_tensors())
        out.update(self._pending)
        out[GLOBAL_STEP_NAME] = torch.tensor(self.global_step, dtype=torch.int64)
        return out

    def load_state(
        self, tensors: dict[str, torch.Tensor], source: str = "the restored state", exact: bool = False
    ) -> None:
        """Restores from the tensors of checkpoint ``source``: existing variables now, the rest
        when created (each must then be in the checkpoint, see ``check_restored``; with ``exact``
        every tensor of the checkpoint must also be used)."""
        self._exact_restore = exact
        self._exact_checked = set()
        tensors = dict(tensors)
        step = tensors.pop(GLOBAL_STEP_NAME, None)
        if step is None:
            raise NotFoundError(
                f"Restoring from checkpoint failed: Key {GLOBAL_STEP_NAME} not found in checkpoint {source}."
            )
        self.global_step = int(step.item())
        self._restored_from = source
        for name, tensor in self._variables.items():
            value = tensors.pop(name, None)
            if value is not None:
                self._assign(name, tensor, value)
            else:
                self._note_missing(name)
        for opt in self._optimizers.values():
            opt.load_state_tensors(tensors)
        self._pending = tensors


def _frame() -> _Frame:
    frame = _FRAME.get()
    if frame is None:
        raise RuntimeError(
            "No active variable store: call this inside a model_fn run by an Estimator, or "
            "inside `with te.VariableStore().activate():`."
        )
    return frame


def current_store() -> VariableStore:
    """The store of the model_fn being run."""
    return _frame().store


def current_scope() -> tuple[str, ...]:
    return _frame().scope


def scoped_name(name: str) -> str:
    return "/".join(current_scope() + (name,))


class variable_scope:
    """Prefixes the names of variables created inside with ``name/`` (nested scopes join); as a
    context manager it gives the scope's full name.

    ``reuse`` is accepted for TensorFlow compatibility: variables are always reused by name.
    """

    __slots__ = ("_name", "_token")

    def __init__(self, name: str, reuse: Any = None) -> None:
        del reuse
        if not isinstance(name, str) or not name:
            raise ValueError(f"variable_scope name must be a non-empty string; got {name!r}.")
        self._name = name
        self._token: contextvars.Token[_Frame | None] | None = None

    def __enter__(self) -> str:
        frame = _frame().child(self._name)
        self._token = _FRAME.set(frame)
        return frame.path

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _FRAME.reset(self._token)
        self._token = None


def get_variable(
    name: str,
    shape: Sequence[int] | None = None,
    dtype: torch.dtype = torch.float32,
    initializer: Any = None,
    trainable: bool = True,
    regularizer: Callable[[torch.Tensor], Any] | None = None,
) -> torch.Tensor:
    """Gets the variable ``name`` in the current scope, creating it on first use.

    Args:
        name: name within the current ``variable_scope``.
        shape: the variable's shape (may be omitted when ``initializer`` is an array).
        dtype: a torch dtype (default float32).
        initializer: None (glorot_uniform), a name from ``te.initializers``, a constant, or a
            callable ``(shape, dtype) -> tensor``.
        trainable: whether optimizers update it.
        regularizer: ``variable -> scalar loss``; its loss joins this call's
            ``te.compat.v1.losses.get_regularization_losses()``.

    Example:
        >>> def model_fn(features, labels, mode):
        ...     w = te.get_variable("w", [3, 1], initializer="zeros")
        ...     ...
    """
    if shape is None:
        if initializer is None or callable(initializer) or isinstance(initializer, str):
            raise ValueError(f"get_variable({name!r}) needs a shape unless initializer is a constant array.")
        shape = tuple(torch.as_tensor(initializer).shape)
    store = current_store()
    variable = store.get_variable(scoped_name(name), shape, dtype, initializer, trainable)
    if regularizer is not None:
        add_regularization_loss(regularizer, variable, name)
    return variable


def add_regularization_loss(regularizer: Callable[[torch.Tensor], Any], variable: torch.Tensor, name: str) -> None:
    """Records ``regularizer(variable)`` (a scalar) in this call's regularization losses."""
    if not callable(regularizer):
        raise TypeError(
            f"regularizer of {name!r} must be a callable variable -> loss; got {type(regularizer).__name__}."
        )
    loss = regularizer(variable)
    if loss is None:
        return  # keras regularizers may return None for a zero scale; TF skips them too
    loss = torch.as_tensor(loss, dtype=torch.float32, device=variable.device)
    if loss.numel() != 1:
        raise ValueError(f"regularizer of {name!r} must return a scalar; got shape {tuple(loss.shape)}.")
    current_store().regularization_losses.append(loss.reshape(()))


def module(name: str, factory: Callable[[], M]) -> M:
    """An ``nn.Module`` built once by ``factory`` and kept in the store under ``name``.

    Its parameters become variables named ``<scope>/<name>/<parameter path>``; the module is put
    in training mode only when the model_fn runs in TRAIN mode.

    Example:
        >>> tower = te.module("tower", lambda: torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU()))
        >>> hidden = tower(features["x"])
    """
    store = current_store()
    prefix = scoped_name(name)
    mod = store.module_for(prefix)
    if mod is None:
        mod = factory()
        if not isinstance(mod, torch.nn.Module):
            raise TypeError(f"module({name!r}) factory must return a torch.nn.Module; got {type(mod).__name__}.")
        store.register_module(prefix, mod)
    mod.train(store.mode == ModeKeys.TRAIN)
    return mod  # type: ignore[return-value]


def trainable_variables() -> list[torch.Tensor]:
    """The trainable variables of the model being run (for ``trainable_variables=`` arguments)."""
    return current_store().trainable_variables()


def get_global_step() -> int:
    """The global step of the model being run (the number of training steps taken)."""
    return current_store().global_step
