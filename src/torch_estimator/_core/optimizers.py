"""Optimizers with TensorFlow's (keras legacy) update rules, defaults and slot names.

An optimizer object is a description until it is bound to a model's variable store (which
happens the first time a model_fn uses it); from then on the store keeps it, with its slots,
and checkpoints them as ``training/<name>/<variable>/<slot>``.

``get`` resolves what estimators accept as ``optimizer``: a name ('Adagrad', 'Adam', 'Ftrl',
'RMSProp', 'SGD'), an ``Optimizer`` instance or subclass, a ``torch.optim.Optimizer`` subclass,
or a zero-argument callable returning one of those.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
import torch

from torch_estimator._core.train_op import TrainOp
from torch_estimator._core.variables import VariableStore

__all__ = ["Optimizer", "Adagrad", "Adam", "Ftrl", "RMSprop", "SGD", "TorchOptimizer", "TrainOp", "get", "register"]

Slots = dict[str, torch.Tensor]


class Optimizer:
    """Base class: TF-named slots per variable, hyper-parameters, and an ``iterations`` count.

    Subclasses set ``slot_names`` and implement ``_init_slot``, ``_apply_dense`` (one call for
    all variables with dense gradients) and, where they support it, ``_apply_sparse``.
    """

    slot_names: tuple[str, ...] = ()
    default_name = "Optimizer"
    #: When set, each gradient is scaled down to this norm if it is longer (keras' ``clipnorm``).
    clipnorm: float | None = None

    def __init__(self, learning_rate: float | Callable[[int], Any], name: str | None = None) -> None:
        self._learning_rate = _learning_rate(learning_rate)
        self.name = name or self.default_name
        self.iterations = 0
        self._store: VariableStore | None = None
        self._owns_global_step = False
        self._slots: dict[str, Slots] = {}
        self._plans: dict[tuple[int, ...], list[Slots]] = {}

    @property
    def learning_rate(self) -> float:
        """The learning rate of the next update: a schedule's value at ``iterations``."""
        rate = self._learning_rate
        if isinstance(rate, float):
            return rate
        return _non_negative(
            f"learning_rate (the schedule's value at step {self.iterations})", _as_number(rate(self.iterations))
        )

    @learning_rate.setter
    def learning_rate(self, value: float | Callable[[int], Any]) -> None:
        self._learning_rate = _learning_rate(value)

    # -- hyper-parameters checkpointed as training/<name>/<key> -----------------------------
    def hyper_parameters(self) -> dict[str, float]:
        return {"learning_rate": self.learning_rate, "decay": 0.0}

    def _init_slot(self, slot: str, var: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(var, memory_format=torch.contiguous_format).detach()

    def _apply_dense(self, variables: list[torch.Tensor], grads: list[torch.Tensor], slots: list[Slots]) -> None:
        raise NotImplementedError

    def _apply_sparse(self, var: torch.Tensor, grad: torch.Tensor, slots: Slots) -> None:
        self._apply_dense([var], [grad.to_dense()], [slots])

    # -- binding --------------------------------------------------------------------------------
    def bind(self, store: VariableStore, owns_global_step: bool) -> None:
        """Attaches this optimizer to ``store`` (done once, by the store)."""
        if self._store is not None and self._store is not store:
            raise ValueError(f"Optimizer {self.name!r} is already used by another model.")
        self._store = store
        self._owns_global_step = owns_global_step
        prefix = self._prefix()
        iterations = store.take_pending(prefix + "iter", required=not owns_global_step)
        if iterations is not None:
            self.iterations = int(iterations.item())
        elif owns_global_step:
            self.iterations = store.global_step
        for key in self.hyper_parameters():
            store.take_pending(prefix + key, required=False)

    def _prefix(self) -> str:
        return f"training/{self.name}/"

    def slots_for(self, var: torch.Tensor) -> Slots:
        """The slots of ``var``, created (or restored from the checkpoint) on first use."""
        assert self._store is not None, "optimizer is not bound to a store"
        var_name = self._store.name_of(var)
        slots = self._slots.get(var_name)
        if slots is None:
            slots = {}
            for slot in self.slot_names:
                restored = self._store.take_pending(f"{self._prefix()}{var_name}/{slot}")
                if restored is not None:
                    if restored.shape != var.shape:
                        raise ValueError(
                            f"Slot {slot} of {var_name} has shape {list(restored.shape)} in the "
                            f"checkpoint but the variable has shape {list(var.shape)}."
                        )
                    slots[slot] = restored.to(device=var.device, dtype=var.dtype).clone()
                else:
                    slots[slot] = self._init_slot(slot, var)
            self._slots[var_name] = slots
        return slots

    def create_slots(self, variables: Sequence[torch.Tensor]) -> None:
        """Creates (or restores) the slots of ``variables``, a list the updates will get again."""
        key = tuple(map(id, variables))
        if key not in self._plans:
            self._plans[key] = [self.slots_for(var) for var in variables]

    # -- updates --------------------------------------------------------------------------------
    @torch.no_grad()
    def apply_gradients(self, variables: Sequence[torch.Tensor]) -> None:
        """Updates ``variables`` from their ``.grad`` (variables without a gradient are skipped)."""
        key = tuple(map(id, variables))
        slots = self._plans.get(key)  # the slots of a variable list seen before (every step's)
        if slots is None:
            slots = self._plans[key] = [self.slots_for(var) for var in variables]
        if self.clipnorm is not None:
            _clip_by_norm(variables, float(self.clipnorm))
        grads = [var.grad for var in variables]
        dense = True
        for grad in grads:  # a loop, not all(<generator>): this runs every step
            if grad is None or grad.is_sparse:
                dense = False
                break
        if dense:
            self._apply_dense(list(variables), cast(list[torch.Tensor], grads), slots)
        else:
            dense_vars, dense_grads, dense_slots = [], [], []
            for var, grad, var_slots in zip(variables, grads, slots):
                if grad is None:
                    continue
                if grad.is_sparse:
                    self._apply_sparse(var, grad.coalesce(), var_slots)
                else:
                    dense_vars.append(var)
                    dense_grads.append(grad)
                    dense_slots.append(var_slots)
            if dense_vars:
                self._apply_dense(dense_vars, dense_grads, dense_slots)
        self.iterations += 1

    def minimize(
        self, loss: torch.Tensor, global_step: Any = None, var_list: Sequence[torch.Tensor] | None = None
    ) -> TrainOp:
        """A train op minimising ``loss`` over ``var_list`` (default: all trainable variables).

        ``global_step`` is accepted for TensorFlow compatibility; the Estimator increments the
        global step once per training step.
        """
        del global_step
        return TrainOp(loss, [(self, var_list)])

    def get_updates(self, loss: torch.Tensor, params: Sequence[torch.Tensor] | None) -> list[TrainOp]:
        """Keras-style: ``[train_op]`` updating ``params`` to minimise ``loss``."""
        return [TrainOp(loss, [(self, params)])]

    # -- checkpoint -----------------------------------------------------------------------------
    def state_tensors(self) -> dict[str, torch.Tensor]:
        prefix = self._prefix()
        out = {prefix + k: torch.tensor(v, dtype=torch.float32) for k, v in self.hyper_parameters().items()}
        if not self._owns_global_step:
            out[prefix + "iter"] = torch.tensor(self.iterations, dtype=torch.int64)
        for var_name, slots in self._slots.items():
            for slot, value in slots.items():
                out[f"{prefix}{var_name}/{slot}"] = value
        return out

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restores slots and ``iterations`` from ``tensors`` (consuming the keys it uses)."""
        prefix = self._prefix()
        it = tensors.pop(prefix + "iter", None)
        if it is not None:
            self.iterations = int(it.item())
        elif self._owns_global_step and self._store is not None:
            self.iterations = self._store.global_step
        for key in self.hyper_parameters():
            tensors.pop(prefix + key, None)
        for var_name, slots in self._slots.items():
            for slot, value in slots.items():
                restored = tensors.pop(f"{prefix}{var_name}/{slot}", None)
                if restored is not None:
                    value.copy_(restored)

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v:g}" for k, v in self.hyper_parameters().items())
        return f"{type(self).__name__}(name={self.name!r}, {hyper})"


def _check_number(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise TypeError(f"{name} must be a number; got {value!r}.")


def _as_number(value: Any) -> Any:
    """A one-element tensor or array as its Python number; anything else as it is."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, (np.ndarray, np.generic)) and value.size == 1:
        return value.item()
    return value


def _learning_rate(value: Any) -> float | Callable[[int], Any]:
    """A learning rate: a number (or a one-element tensor), or a schedule ``step -> rate``."""
    value = _as_number(value)
    if callable(value):
        return cast(Callable[[int], Any], value)
    return _non_negative("learning_rate", value)


def _non_negative(name: str, value: Any) -> float:
    """``value`` as a float; a TypeError unless it is a number, a ValueError if it is negative."""
    _check_number(name, value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0; got {value!r}.")
    return float(value)


def _fraction(name: str, value: Any) -> float:
    """``value`` as a float in [0, 1) (Adam's betas)."""
    fraction = _non_negative(name, value)
    if fraction >= 1:
        raise ValueError(f"{name} must be in [0, 1); got {value!r}.")
    return fraction


#: The step count ``torch._fused_adagrad_`` takes; without learning-rate decay it is never read.
_NO_DECAY_STEP = torch.zeros(())


def _all_on_cpu(tensors: list[torch.Tensor]) -> bool:
    for tensor in tensors:
        if tensor.device.type != "cpu":
            return False
    return True


def _clip_by_norm(variables: Sequence[torch.Tensor], clipnorm: float) -> None:
    """Scales each variable's gradient to norm ``clipnorm`` when it is longer (sparse: its values)."""
    with torch.no_grad():
        for var in variables:
            grad = var.grad
            if grad is None:
                continue
            values = grad.coalesce().values() if grad.is_sparse else grad
            norm = torch.linalg.vector_norm(values)
            scale = clipnorm / torch.maximum(norm, torch.tensor(clipnorm, dtype=norm.dtype, device=norm.device))
            if grad.is_sparse:
                coalesced = grad.coalesce()
                var.grad = torch.sparse_coo_tensor(coalesced.indices(), coalesced.values() * scale, grad.shape)
            else:
                grad.mul_(scale)


class Adagrad(Optimizer):
    """Adagrad as TensorFlow's keras legacy optimizer: ``a += g²; w -= lr·g/(√a + ε)``.

    Defaults: learning_rate 0.001, initial_accumulator_value 0.1, epsilon 1e-7. Sparse
    gradients (e.g. from ``sparse=True`` embeddings) update only the touched rows.
    """

    slot_names = ("accumulator",)
    default_name = "Adagrad"

    def __init__(
        self,
        learning_rate: float | Callable[[int], Any] = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, name)
        self.initial_accumulator_value = _non_negative("initial_accumulator_value", initial_accumulator_value)
        self.epsilon = _non_negative("epsilon", epsilon)

    def _init_slot(self, slot: str, var: torch.Tensor) -> torch.Tensor:
        return torch.full_like(var, self.initial_accumulator_value).detach()

    def _apply_dense(self, variables: list[torch.Tensor], grads: list[torch.Tensor], slots: list[Slots]) -> None:
        accs = [s["accumulator"] for s in slots]
        if _all_on_cpu(variables):  # one fused kernel: the same formula, same floats
            steps = [_NO_DECAY_STEP] * len(variables)
            torch._fused_adagrad_(
                variables, grads, accs, steps, lr=self.learning_rate, lr_decay=0.0, weight_decay=0.0,
                eps=self.epsilon, maximize=False,
            )  # fmt: skip
            return
        torch._foreach_addcmul_(accs, grads, grads)
        std = torch._foreach_sqrt(accs)
        torch._foreach_add_(std, self.epsilon)
        torch._foreach_addcdiv_(variables, grads, std, value=-self.learning_rate)

    def _apply_sparse(self, var: torch.Tensor, grad: torch.Tensor, slots: Slots) -> None:
        rows, values = grad.indices()[0], grad.values()
        acc = slots["accumulator"]
        new_acc = acc.index_select(0, rows).addcmul_(values, values)
        acc.index_copy_(0, rows, new_acc)
        var.index_add_(0, rows, values / (new_acc.sqrt_() + self.epsilon), alpha=-self.learning_rate)


class Ftrl(Optimizer):
    """FTRL-Proximal as TensorFlow's keras legacy ``Ftrl`` (``ResourceApplyFtrl[V2]`` kernels).

    Slots ``accumulator`` (n, initialised to ``initial_accumulator_value``) and ``linear``
    (z, initialised to 0). With p = ``learning_rate_power``, λ1, λ2, λ2s (shrinkage) and
    λ2' = λ2 + β/(2·lr), each step with gradient g does::

        ĝ = g + 2·λ2s·w                     (only if λ2s > 0; n still uses g)
        n_new = n + g²
        z += ĝ − (n_new^(−p) − n^(−p)) / lr · w
        w = (sign(z)·λ1 − z) / (n_new^(−p) / lr + 2·λ2')  if |z| > λ1  else 0
        n = n_new

    Sparse gradients (e.g. from ``sparse=True`` embeddings) update only the touched rows, as
    TF's sparse kernels do (shrinkage included); with a dense gradient every entry is
    updated, even where the gradient is zero. Checkpointed hyper-parameters are those keras
    checkpoints: learning_rate, decay, learning_rate_power, l1_regularization_strength,
    l2_regularization_strength and beta (not l2_shrinkage_regularization_strength).

    Example:
        >>> opt = te.optimizers.Ftrl(learning_rate=0.2, l1_regularization_strength=0.01)
    """

    slot_names = ("accumulator", "linear")
    default_name = "Ftrl"

    def __init__(
        self,
        learning_rate: float | Callable[[int], Any] = 0.001,
        learning_rate_power: float = -0.5,
        initial_accumulator_value: float = 0.1,
        l1_regularization_strength: float = 0.0,
        l2_regularization_strength: float = 0.0,
        name: str | None = "Ftrl",
        l2_shrinkage_regularization_strength: float = 0.0,
        beta: float = 0.0,
    ) -> None:
        super().__init__(learning_rate, name)
        args = {
            "learning_rate_power": learning_rate_power,
            "initial_accumulator_value": initial_accumulator_value,
            "l1_regularization_strength": l1_regularization_strength,
            "l2_regularization_strength": l2_regularization_strength,
            "l2_shrinkage_regularization_strength": l2_shrinkage_regularization_strength,
            "beta": beta,
        }
        for arg, value in args.items():
            _check_number(arg, value)
        # keras' messages, verbatim (keras/src/optimizers/legacy/ftrl.py).
        if initial_accumulator_value < 0.0:
            raise ValueError(
                "`initial_accumulator_value` needs to be positive or zero. Received: "
                f"initial_accumulator_value={initial_accumulator_value}."
            )
        if learning_rate_power > 0.0:
            raise ValueError(
                "`learning_rate_power` needs to be negative or zero. Received: "
                f"learning_rate_power={learning_rate_power}."
            )
        for arg in ("l1_regularization_strength", "l2_regularization_strength", "l2_shrinkage_regularization_strength"):
            if args[arg] < 0.0:
                raise ValueError(f"`{arg}` needs to be positive or zero. Received: {arg}={args[arg]}.")
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(l2_shrinkage_regularization_strength)
        self.beta = float(beta)

    def hyper_parameters(self) -> dict[str, float]:
        return {
            "learning_rate": self.learning_rate,
            "decay": 0.0,
            "learning_rate_power": self.learning_rate_power,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "beta": self.beta,
        }

    def _init_slot(self, slot: str, var: torch.Tensor) -> torch.Tensor:
        value = self.initial_accumulator_value if slot == "accumulator" else 0.0
        return torch.full_like(var, value, memory_format=torch.contiguous_format).detach()

    def _adjusted_l2(self) -> float:
        """λ2' = λ2 + β/(2·lr), as keras folds ``beta`` into the kernels' l2."""
        if self.beta == 0.0:
            return self.l2_regularization_strength
        if self.learning_rate == 0.0:
            return math.copysign(math.inf, self.beta)
        return self.l2_regularization_strength + self.beta / (2.0 * self.learning_rate)

    def _update(
        self, ws: list[torch.Tensor], gs: list[torch.Tensor], ns: list[torch.Tensor], zs: list[torch.Tensor]
    ) -> None:
        """One FTRL step on lists of (same-shaped) weights, gradients, accumulators, linears.

        Follows the operation order of TF's CPU kernel (training_ops.cc, ApplyFtrl[V2]).
        """
        lr, power, l1 = self.learning_rate, self.learning_rate_power, self.l1_regularization_strength
        l2 = self._adjusted_l2()
        shrinkage = self.l2_shrinkage_regularization_strength
        fast = power == -0.5
        ghat = torch._foreach_add(gs, ws, alpha=2.0 * shrinkage) if shrinkage > 0.0 else gs
        # step := ĝ − (n_new^(−p) − n^(−p)) / lr · w, computed as ĝ + ((n^(−p) − n_new^(−p)) / lr) · w.
        step = torch._foreach_sqrt(ns) if fast else torch._foreach_pow(ns, -power)
        torch._foreach_addcmul_(ns, gs, gs)  # n := n_new
        new = torch._foreach_sqrt(ns) if fast else torch._foreach_pow(ns, -power)
        torch._foreach_sub_(step, new)
        torch._foreach_div_(step, lr)
        torch._foreach_mul_(step, ws)
        torch._foreach_add_(step, ghat)
        torch._foreach_add_(zs, step)
        # q = n_new^(−p)/lr + 2λ2' (reusing ``new``); w = (clip(z, ±λ1) − z)/q, which is
        # (sign(z)·λ1 − z)/q where |z| > λ1 and exactly 0 elsewhere. Computed in w's own
        # storage: temporaries of a big table's size cost more (page faults) than a pass.
        quadratic = new
        torch._foreach_div_(quadratic, lr)
        if l2 != 0.0:
            torch._foreach_add_(quadratic, 2.0 * l2)
        if l1 > 0.0:
            torch._foreach_copy_(ws, zs)
            torch._foreach_clamp_min_(ws, -l1)
            torch._foreach_clamp_max_(ws, l1)
            torch._foreach_sub_(ws, zs)
            torch._foreach_div_(ws, quadratic)
        else:  # w = 0 + (−1)·(z/q) = −z/q
            torch._foreach_zero_(ws)
            torch._foreach_addcdiv_(ws, zs, quadratic, value=-1.0)
        if self.initial_accumulator_value == 0.0 and l2 == 0.0 and power != 0.0:
            # n_new may be 0, so q = 0 and 0/0 = NaN where TF selects 0 (|z| ≤ λ1).
            for w, z in zip(ws, zs):
                w.masked_fill_(z.abs() <= l1, 0.0)

    def _apply_dense(self, variables: list[torch.Tensor], grads: list[torch.Tensor], slots: list[Slots]) -> None:
        self._update(variables, grads, [s["accumulator"] for s in slots], [s["linear"] for s in slots])

    def _apply_sparse(self, var: torch.Tensor, grad: torch.Tensor, slots: Slots) -> None:
        if grad.sparse_dim() != 1:  # element-sparse: update the rows it touches
            rows = grad.indices()[0].unique()
            values = grad.index_select(0, rows).to_dense()
        else:
            rows, values = grad.indices()[0], grad.values()
        acc, linear = slots["accumulator"], slots["linear"]
        w, n, z = var.index_select(0, rows), acc.index_select(0, rows), linear.index_select(0, rows)
        self._update([w], [values.to(var.dtype)], [n], [z])
        var.index_copy_(0, rows, w)
        acc.index_copy_(0, rows, n)
        linear.index_copy_(0, rows, z)


class Adam(Optimizer):
    """Adam as TensorFlow's keras legacy optimizer (ε added to the uncorrected √v).

    ``lr_t = lr·√(1−β₂ᵗ)/(1−β₁ᵗ); w -= lr_t·m/(√v + ε)``. Defaults: learning_rate 0.001,
    beta_1 0.9, beta_2 0.999, epsilon 1e-7.
    """

    slot_names: tuple[str, ...] = ("m", "v")
    default_name = "Adam"

    def __init__(
        self,
        learning_rate: float | Callable[[int], Any] = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, name)
        self.beta_1 = _fraction("beta_1", beta_1)
        self.beta_2 = _fraction("beta_2", beta_2)
        self.epsilon = float(epsilon)
        self.amsgrad = bool(amsgrad)
        if self.amsgrad:
            self.slot_names = ("m", "v", "vhat")

    def hyper_parameters(self) -> dict[str, float]:
        return {**super().hyper_parameters(), "beta_1": self.beta_1, "beta_2": self.beta_2}

    def _apply_dense(self, variables: list[torch.Tensor], grads: list[torch.Tensor], slots: list[Slots]) -> None:
        t = self.iterations + 1
        lr_t = self.learning_rate * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        ms = [s["m"] for s in slots]
        vs = [s["v"] for s in slots]
        torch._foreach_lerp_(ms, grads, 1 - self.beta_1)
        torch._foreach_mul_(vs, self.beta_2)
        torch._foreach_addcmul_(vs, grads, grads, value=1 - self.beta_2)
        if self.amsgrad:
            vhats = [s["vhat"] for s in slots]
            torch._foreach_maximum_(vhats, vs)
            vs = vhats
        denom = torch._foreach_sqrt(vs)
        torch._foreach_add_(denom, self.epsilon)
        torch._foreach_addcdiv_(variables, ms, denom, value=-lr_t)


class RMSprop(Optimizer):
    """RMSprop as TensorFlow's keras legacy optimizer (ε inside the square root).

    ``ms = ρ·ms + (1−ρ)·g²; mom = μ·mom + lr·g/√(ms + ε); w -= mom`` (centered subtracts the
    mean gradient ``mg``). Defaults: learning_rate 0.001, rho 0.9, momentum 0, epsilon 1e-7.
    """

    default_name = "RMSprop"

    def __init__(
        self,
        learning_rate: float | Callable[[int], Any] = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, name)
        self.rho = _non_negative("rho", rho)
        self.momentum = _non_negative("momentum", momentum)
        self.epsilon = float(epsilon)
        self.centered = bool(centered)
        self.slot_names = ("rms",) + (("momentum",) if self.momentum > 0 else ()) + (("mg",) if self.centered else ())

    def hyper_parameters(self) -> dict[str, float]:
        return {**super().hyper_parameters(), "rho": self.rho, "momentum": self.momentum}

    def _apply_dense(self, variables: list[torch.Tensor], grads: list[torch.Tensor], slots: list[Slots]) -> None:
        rms = [s["rms"] for s in slots]
        torch._foreach_mul_(rms, self.rho)
        torch._foreach_addcmul_(rms, grads, grads, value=1 - self.rho)
        if self.centered:
            mgs = [s["mg"] for s in slots]
            torch._foreach_lerp_(mgs, grads, 1 - self.rho)
            denom = torch._foreach_addcmul(rms, mgs, mgs, value=-1)
        else:
            denom = tuple(r.clone() for r in rms)
        torch._foreach_add_(denom, self.epsilon)
        torch._foreach_sqrt_(denom)
        if self.momentum > 0:
            moms = [s["momentum"] for s in slots]
            torch._foreach_mul_(moms, self.momentum)
            torch._foreach_addcdiv_(moms, grads, denom, value=self.learning_rate)
            torch._foreach_sub_(variables, moms)
        else:
            torch._foreach_addcdiv_(variables, grads, denom, value=-self.learning_rate)


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum, as keras: ``v = μv − lr·g; w += v``.

    Defaults: learning_rate 0.01, momentum 0.
    """

    default_name = "SGD"

    def __init__(
        self,
        learning_rate: float | Callable[[int], Any] = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, name)
        self.momentum = _non_negative("momentum", momentum)
        self.nesterov = bool(nesterov)
        self.slot_names = ("momentum",) if self.momentum > 0 else ()

    def hyper_parameters(self) -> dict[str, float]:
        return {**super().hyper_parameters(), "momentum": self.momentum}

    def _apply_dense(self, variables: list[torch.Tensor], grads: list[torch.Tensor], slots: list[Slots]) -> None:
        if self.momentum == 0:
            torch._foreach_add_(variables, grads, alpha=-self.learning_rate)
            return
        moms = [s["momentum"] for s in slots]
        torch._foreach_mul_(moms, self.momentum)
        torch._foreach_add_(moms, grads, alpha=-self.learning_rate)
        if self.nesterov:
            torch._foreach_add_(variables, moms, alpha=self.momentum)
            torch._foreach_add_(variables, grads, alpha=-self.learning_rate)
        else:
            torch._foreach_add_(variables, moms)

    def _apply_sparse(self, var: torch.Tensor, grad: torch.Tensor, slots: Slots) -> None:
        if self.momentum == 0:
            var.index_add_(0, grad.indices()[0], grad.values(), alpha=-self.learning_rate)
        else:
            super()._apply_sparse(var, grad, slots)


class TorchOptimizer(Optimizer):
    """Any ``torch.optim.Optimizer`` class, checkpointed as ``training/<name>/<var>/<state key>``.

    Example:
        >>> opt = te.optimizers.TorchOptimizer(torch.optim.AdamW, lr=1e-3, weight_decay=0.01)
    """

    def __init__(self, optimizer_class: type[torch.optim.Optimizer], name: str | None = None, **kwargs: Any) -> None:
        if not (isinstance(optimizer_class, type) and issubclass(optimizer_class, torch.optim.Optimizer)):
            raise TypeError(f"optimizer_class must be a torch.optim.Optimizer subclass; got {optimizer_class!r}.")
        super().__init__(float(kwargs.get("lr", 0.001)), name or optimizer_class.__name__)
        self.optimizer_class = optimizer_class
        self.kwargs = kwargs
        self._torch: torch.optim.Optimizer | None = None
        self._params: set[int] = set()

    def hyper_parameters(self) -> dict[str, float]:
        return {"learning_rate": self.learning_rate}

    def _ensure(self, variables: Sequence[torch.Tensor]) -> torch.optim.Optimizer:
        new = [v for v in variables if id(v) not in self._params]
        if self._torch is None:
            self._torch = self.optimizer_class(new, **self.kwargs)
        elif new:
            self._torch.add_param_group({"params": new})
        for var in new:
            self._params.add(id(var))
            self._restore_state(var)
        return self._torch

    def _restore_state(self, var: torch.Tensor) -> None:
        assert self._store is not None and self._torch is not None
        prefix = f"{self._prefix()}{self._store.name_of(var)}/"
        restored = self._store.take_pending_with_prefix(prefix)
        if restored:
            self._torch.state[var] = {k: v.to(var.device).clone() for k, v in restored.items()}

    @torch.no_grad()
    def apply_gradients(self, variables: Sequence[torch.Tensor]) -> None:
        if self.clipnorm is not None:
            _clip_by_norm(variables, float(self.clipnorm))
        self._ensure(variables).step()
        self.iterations += 1

    def state_tensors(self) -> dict[str, torch.Tensor]:
        out = super().state_tensors()
        if self._torch is not None and self._store is not None:
            for var, state in self._torch.state.items():
                name = self._store.name_of(var)
                for key, value in state.items():
                    if isinstance(value, torch.Tensor):
                        out[f"{self._prefix()}{name}/{key}"] = value.detach()
        return out

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        super().load_state_tensors(tensors)
        if self._torch is not None and self._store is not None:
            for var in list(self._torch.state):
                prefix = f"{self._prefix()}{self._store.name_of(var)}/"
                keys = [k for k in tensors if k.startswith(prefix)]
                if keys:
                    self._torch.state[var] = {k[len(prefix) :]: tensors.pop(k).to(var.device).clone() for k in keys}


_BY_NAME: dict[str, Callable[..., Optimizer]] = {
    "Adagrad": Adagrad,
    "Adam": Adam,
    "RMSProp": RMSprop,
    "SGD": SGD,
}


def register(name: str, factory: Callable[..., Optimizer]) -> None:
    """Makes ``name`` resolvable by ``get`` (used for 'Ftrl')."""
    _BY_NAME[name] = factory


register("Ftrl", Ftrl)


def get(identifier: Any, learning_rate: float | None = None) -> Optimizer:
    """Resolves an optimizer given as a name, instance, class or zero-argument callable.

    Args:
        identifier: 'Adagrad', 'Adam', 'Ftrl', 'RMSProp' or 'SGD'; an ``Optimizer`` instance
            (returned as is); an ``Optimizer`` or ``torch.optim.Optimizer`` subclass; or a
            callable taking no arguments and returning one of those.
        learning_rate: used when ``identifier`` is a name or a class (default: its own default).

    Example:
        >>> te.optimizers.get("Adagrad", learning_rate=0.05)
        Adagrad(name='Adagrad', learning_rate=0.05, decay=0)
    """
    kwargs: dict[str, Any] = {} if learning_rate is None else {"learning_rate": learning_rate}
    if isinstance(identifier, str):
        factory = _BY_NAME.get(identifier)
        if factory is None:
            raise ValueError(
                f"Unsupported optimizer name: {identifier}. Supported names are: {tuple(sorted(_BY_NAME))}"
            )
        return factory(**kwargs)
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type):
        if issubclass(identifier, Optimizer):
            return identifier(**kwargs)
        if issubclass(identifier, torch.optim.Optimizer):
            torch_kwargs: dict[str, Any] = {} if learning_rate is None else {"lr": learning_rate}
            return TorchOptimizer(identifier, **torch_kwargs)
    elif callable(identifier):
        return get(identifier())
    raise ValueError(
        "optimizer must be a name (one of "
        f"{sorted(_BY_NAME)}), a torch_estimator.optimizers.Optimizer instance or class, a "
        f"torch.optim.Optimizer class, or a callable returning one; got {identifier!r}."
    )
