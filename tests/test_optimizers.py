"""Optimizers: TF (keras legacy) update rules, resolution of names/instances/classes, slots."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import torch_estimator as te
from torch_estimator import optimizers


def _run(opt: optimizers.Optimizer, w0: np.ndarray, grads: list[np.ndarray], sparse_rows: list[np.ndarray] | None = None) -> np.ndarray:
    """Applies ``grads`` (dense, or rows of a sparse gradient) to a variable starting at ``w0``."""
    store = te.VariableStore()
    with store.activate():
        var = te.get_variable("w", w0.shape, torch.float64, initializer=w0)
    bound = store.optimizer(opt)
    for i, g in enumerate(grads):
        if sparse_rows is None:
            var.grad = torch.from_numpy(g)
        else:
            rows = torch.from_numpy(sparse_rows[i])
            var.grad = torch.sparse_coo_tensor(rows[None, :], torch.from_numpy(g), w0.shape, check_invariants=True)
        bound.apply_gradients([var])
    return var.detach().numpy()


def _grads(shape, n=6, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape) for _ in range(n)]


def test_adagrad_matches_tf_formula():
    w0 = np.array([[0.5, -1.0], [2.0, 0.1]])
    grads = _grads(w0.shape)
    w, acc = w0.copy(), np.full_like(w0, 0.1)
    for g in grads:
        acc += g * g
        w -= 0.3 * g / (np.sqrt(acc) + 1e-7)
    np.testing.assert_allclose(_run(optimizers.Adagrad(0.3), w0, grads), w, rtol=1e-12)


def test_adagrad_sparse_updates_only_touched_rows():
    w0 = np.arange(12, dtype=np.float64).reshape(6, 2) / 10
    rows = [np.array([1, 4]), np.array([4]), np.array([0, 1])]
    values = [np.ones((2, 2)), np.full((1, 2), -2.0), np.full((2, 2), 0.5)]
    got = _run(optimizers.Adagrad(0.1), w0, values, sparse_rows=rows)
    dense = [np.zeros_like(w0) for _ in rows]
    for d, r, v in zip(dense, rows, values):
        d[r] = v
    w, acc = w0.copy(), np.full_like(w0, 0.1)
    for g, r in zip(dense, rows):
        acc[r] += g[r] ** 2
        w[r] -= 0.1 * g[r] / (np.sqrt(acc[r]) + 1e-7)
    np.testing.assert_allclose(got, w, rtol=1e-12)
    np.testing.assert_array_equal(got[[2, 3, 5]], w0[[2, 3, 5]])


def test_adam_matches_keras_legacy_formula():
    w0 = np.array([1.0, -2.0, 0.5])
    grads = _grads(w0.shape)
    w, m, v = w0.copy(), np.zeros(3), np.zeros(3)
    for t, g in enumerate(grads, start=1):
        lr_t = 0.01 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w -= lr_t * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(_run(optimizers.Adam(0.01), w0, grads), w, rtol=1e-12)


@pytest.mark.parametrize("momentum, centered", [(0.0, False), (0.5, False), (0.0, True), (0.9, True)])
def test_rmsprop_matches_keras_legacy_formula(momentum, centered):
    w0 = np.array([1.0, -2.0, 0.5])
    grads = _grads(w0.shape)
    w, ms, mg, mom = w0.copy(), np.zeros(3), np.zeros(3), np.zeros(3)
    for g in grads:
        ms = 0.9 * ms + 0.1 * g * g
        denom = ms
        if centered:
            mg = 0.9 * mg + 0.1 * g
            denom = ms - mg * mg
        step = 0.01 * g / np.sqrt(denom + 1e-7)
        if momentum:
            mom = momentum * mom + step
            w -= mom
        else:
            w -= step
    got = _run(optimizers.RMSprop(0.01, momentum=momentum, centered=centered), w0, grads)
    np.testing.assert_allclose(got, w, rtol=1e-10)


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_matches_keras_formula(momentum, nesterov):
    w0 = np.array([1.0, -2.0])
    grads = _grads(w0.shape)
    w, v = w0.copy(), np.zeros(2)
    for g in grads:
        v = momentum * v - 0.1 * g
        w = w + (momentum * v - 0.1 * g if nesterov else v)
    np.testing.assert_allclose(_run(optimizers.SGD(0.1, momentum=momentum, nesterov=nesterov), w0, grads), w, rtol=1e-12)


def test_get_resolves_names_instances_classes_and_callables():
    assert isinstance(optimizers.get("Adagrad"), optimizers.Adagrad)
    assert optimizers.get("Adagrad").learning_rate == 0.001
    assert optimizers.get("Adagrad").initial_accumulator_value == 0.1
    assert optimizers.get("Adagrad").epsilon == 1e-7
    assert optimizers.get("SGD", learning_rate=0.5).learning_rate == 0.5
    assert isinstance(optimizers.get("RMSProp"), optimizers.RMSprop)
    instance = optimizers.Adam(0.2)
    assert optimizers.get(instance) is instance
    assert isinstance(optimizers.get(optimizers.Adam), optimizers.Adam)
    assert optimizers.get(lambda: optimizers.SGD(0.3)).learning_rate == 0.3
    wrapped = optimizers.get(torch.optim.AdamW, learning_rate=0.01)
    assert isinstance(wrapped, optimizers.TorchOptimizer) and wrapped.kwargs == {"lr": 0.01}
    with pytest.raises(ValueError, match=re.escape("Unsupported optimizer name: Adadelta. Supported names are: (")):
        optimizers.get("Adadelta")
    with pytest.raises(ValueError, match="optimizer must be a name"):
        optimizers.get(42)


def test_bad_hyper_parameters_are_rejected():
    with pytest.raises(ValueError, match="learning_rate must be >= 0; got -1"):
        optimizers.Adagrad(-1)
    with pytest.raises(TypeError, match="learning_rate must be a number; got 'fast'"):
        optimizers.SGD("fast")
    with pytest.raises(ValueError, match=re.escape("beta_1 must be in [0, 1); got 1.0")):
        optimizers.Adam(beta_1=1.0)


def test_store_keeps_one_optimizer_per_name_and_checkpoints_slots_by_tf_name():
    store = te.VariableStore()
    with store.activate():
        var = te.get_variable("dense/kernel", [2, 2])
        loss = (var**2).sum()
        op = optimizers.get("Adagrad", learning_rate=0.1).minimize(loss)
        again = optimizers.get("Adagrad", learning_rate=0.9).minimize((var**2).sum())
    assert op.updates[0][0] is again.updates[0][0]
    op()
    state = store.state_tensors()
    assert sorted(state) == [
        "dense/kernel",
        "global_step",
        "training/Adagrad/decay",
        "training/Adagrad/dense/kernel/accumulator",
        "training/Adagrad/learning_rate",
    ]
    assert float(state["training/Adagrad/learning_rate"]) == pytest.approx(0.1)


def test_second_optimizer_keeps_its_own_iteration_count():
    store = te.VariableStore()
    for _ in range(2):
        with store.activate():
            a = te.get_variable("dnn/w", [2])
            b = te.get_variable("linear/w", [2])
            loss = (a * b).sum() + (a**2).sum()
            optimizers.TrainOp(loss, [(optimizers.Adagrad(0.1), [a]), (optimizers.SGD(0.1), [b])])()
    state = store.state_tensors()
    assert "training/Adagrad/iter" not in state
    assert int(state["training/SGD/iter"]) == 2


def test_torch_optimizer_state_is_checkpointed_and_restored():
    store = te.VariableStore()
    with store.activate():
        var = te.get_variable("w", [3], initializer=[1.0, 2.0, 3.0])
    opt = store.optimizer(optimizers.TorchOptimizer(torch.optim.AdamW, lr=0.1))
    for _ in range(3):
        var.grad = torch.ones(3)
        opt.apply_gradients([var])
    state = store.state_tensors()
    assert {"training/AdamW/w/exp_avg", "training/AdamW/w/exp_avg_sq", "training/AdamW/w/step"} <= set(state)

    restored = te.VariableStore()
    restored.load_state({k: v.clone() for k, v in state.items()})
    with restored.activate():
        var2 = te.get_variable("w", [3])
    opt2 = restored.optimizer(optimizers.TorchOptimizer(torch.optim.AdamW, lr=0.1))
    var.grad = torch.full((3,), 0.5)
    var2.grad = torch.full((3,), 0.5)
    opt.apply_gradients([var])
    opt2.apply_gradients([var2])
    torch.testing.assert_close(var2.detach(), var.detach(), rtol=0, atol=0)
