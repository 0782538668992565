"""Optimizers: TF (keras legacy) update rules, resolution of names/instances/classes, slots."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import torch_estimator as te
from torch_estimator._core import optimizers


def _run(
    opt: optimizers.Optimizer, w0: np.ndarray, grads: list[np.ndarray], sparse_rows: list[np.ndarray] | None = None
) -> np.ndarray:
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
    np.testing.assert_allclose(
        _run(optimizers.SGD(0.1, momentum=momentum, nesterov=nesterov), w0, grads), w, rtol=1e-12
    )


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


# -- FTRL-Proximal and golden trajectories read off keras legacy (tools/read_tf_optimizer_golden.py)

GOLDEN = json.loads((Path(__file__).parent / "golden" / "optimizers.json").read_text())
GOLDEN_CASES = [pytest.param(case, id=case["name"]) for case in GOLDEN["cases"]]
FTRL_HYPER_PARAMETERS = [
    "beta",
    "decay",
    "l1_regularization_strength",
    "l2_regularization_strength",
    "learning_rate",
    "learning_rate_power",
]


def _golden_optimizer(case: dict, float32_hyper_parameters: bool) -> optimizers.Optimizer:
    """The case's optimizer; optionally with keras' float32-rounded hyper-parameters.

    keras keeps hyper-parameters in float32 variables (and Ftrl casts l2_shrinkage through a
    float32 tensor) before casting them to the variable's dtype, so its float64 run uses e.g.
    learning_rate 0.0010000000474974513. initial_accumulator_value is cast directly.
    """
    kwargs = dict(case["kwargs"])
    if float32_hyper_parameters:
        kwargs.update({k: v for k, v in case["hyper_parameters"].items() if k != "decay"})
        kwargs = {k: v if k == "initial_accumulator_value" else float(np.float32(v)) for k, v in kwargs.items()}
    return getattr(optimizers, case["optimizer"])(**kwargs)


def _golden_trajectory(case: dict, dtype: torch.dtype, float32_hyper_parameters: bool):
    """Yields (step, {'var': ..., <slot>: ...}) as numpy arrays after every golden step."""
    inputs = GOLDEN["inputs"][case["inputs"]]
    np_dtype = torch.empty((), dtype=dtype).numpy().dtype
    init = np.asarray(inputs["initial"], np.float32).astype(np_dtype)
    store = te.VariableStore()
    with store.activate():
        var = te.get_variable("w", list(init.shape), dtype, initializer=init)
    opt = store.optimizer(_golden_optimizer(case, float32_hyper_parameters))
    for step, grad in enumerate(inputs["grads"]):
        if isinstance(grad, dict):  # IndexedSlices, possibly with a duplicated row
            values = torch.from_numpy(np.asarray(grad["values"], np.float32).astype(np_dtype))
            var.grad = torch.sparse_coo_tensor(
                torch.tensor([grad["indices"]]), values, init.shape, check_invariants=True
            )
        else:
            var.grad = torch.from_numpy(np.asarray(grad, np.float32).astype(np_dtype))
        opt.apply_gradients([var])
        yield step, {"var": var.detach().numpy().copy(), **{k: v.numpy().copy() for k, v in opt.slots_for(var).items()}}


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_golden_trajectory_float32(case):
    """float32 like TF: the variable within 1e-6 after every step; slots within 1e-6 × their scale.

    The slots' float32 rounding noise grows with their magnitude: at learning_rate 0.001 FTRL's
    ``linear`` reaches ~500 and differs from TF by up to ~3e-4 (relative ~5e-7), and
    accumulators (~20) by ~2e-6; the float64 test below pins the math down exactly.
    """
    expected = case["trajectory"]["float32"]
    assert {"var", *getattr(optimizers, case["optimizer"]).slot_names} == set(expected)
    scale = {k: max(1.0, float(np.abs(np.asarray(v)).max())) for k, v in expected.items()}
    for step, got in _golden_trajectory(case, torch.float32, float32_hyper_parameters=False):
        for key, value in got.items():
            atol = 1e-6 if key == "var" else 1e-6 * scale[key]
            np.testing.assert_allclose(
                value,
                np.asarray(expected[key][step], np.float32),
                rtol=0,
                atol=atol,
                err_msg=f"{key} after step {step + 1}",
            )


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_golden_trajectory_float64(case):
    """float64 (TF run with float64 variables, float32-rounded hyper-parameters): ~1e-12."""
    expected = case["trajectory"]["float64"]
    for step, got in _golden_trajectory(case, torch.float64, float32_hyper_parameters=True):
        for key, value in got.items():
            np.testing.assert_allclose(
                value, expected[key][step], rtol=1e-10, atol=1e-12, err_msg=f"{key} after step {step + 1}"
            )


def _ftrl_reference(w, n, z, g, lr, power=-0.5, l1=0.0, l2=0.0, shrinkage=0.0, beta=0.0):
    """Spec §7, written out in numpy (float64)."""
    l2 = l2 + beta / (2 * lr)
    ghat = g + 2 * shrinkage * w
    n_new = n + g * g
    z = z + ghat - (n_new**-power - n**-power) / lr * w
    q = n_new**-power / lr + 2 * l2
    w = np.where(np.abs(z) > l1, (np.sign(z) * l1 - z) / np.where(q == 0, 1, q), 0.0)
    return w, n_new, z


FTRL_CONFIGS = [
    {},
    {"learning_rate": 0.2, "l1_regularization_strength": 0.3, "l2_regularization_strength": 0.1},
    {"learning_rate": 0.1, "l2_shrinkage_regularization_strength": 0.2, "beta": 0.5},
    {"learning_rate": 0.05, "learning_rate_power": -0.7, "initial_accumulator_value": 0.5},
    {"learning_rate": 0.3, "learning_rate_power": 0.0, "l1_regularization_strength": 0.1},
]


@pytest.mark.parametrize("kwargs", FTRL_CONFIGS, ids=str)
def test_ftrl_matches_spec_formula(kwargs):
    w0 = np.random.default_rng(3).uniform(-1, 1, size=(4, 3))
    grads = _grads(w0.shape, n=8)
    grads[2][1] = 0.0
    opt = optimizers.Ftrl(**kwargs)
    ref = {
        "lr": opt.learning_rate,
        "power": opt.learning_rate_power,
        "l1": opt.l1_regularization_strength,
        "l2": opt.l2_regularization_strength,
        "shrinkage": opt.l2_shrinkage_regularization_strength,
        "beta": opt.beta,
    }
    w, n, z = w0.copy(), np.full_like(w0, opt.initial_accumulator_value), np.zeros_like(w0)
    for g in grads:
        w, n, z = _ftrl_reference(w, n, z, g, **ref)
    np.testing.assert_allclose(_run(opt, w0, grads), w, rtol=1e-10, atol=1e-14)


def _ftrl_store(w0: np.ndarray, **kwargs):
    store = te.VariableStore()
    with store.activate():
        var = te.get_variable("emb", list(w0.shape), torch.float64, initializer=w0)
    return var, store.optimizer(optimizers.Ftrl(**kwargs))


@pytest.mark.parametrize("kwargs", FTRL_CONFIGS, ids=str)
def test_ftrl_sparse_equals_dense_on_touched_rows_and_leaves_others(kwargs):
    rng = np.random.default_rng(7)
    w0 = rng.uniform(-1, 1, size=(10, 3))
    sparse_var, sparse_opt = _ftrl_store(w0, **kwargs)
    dense_var, dense_opt = _ftrl_store(w0, **kwargs)
    for step in range(6):
        rows = np.array([[1, 4, 7], [4], [0, 9, 4, 4], [2, 3], [7, 1], [5]][step])
        values = rng.normal(size=(len(rows), 3))
        before = {
            "var": sparse_var.detach().clone(),
            **{k: v.clone() for k, v in sparse_opt.slots_for(sparse_var).items()},
        }
        # the dense twin starts each step from the sparse optimizer's state
        dense_var.data.copy_(before["var"])
        for k, v in dense_opt.slots_for(dense_var).items():
            v.copy_(before[k])
        sparse_var.grad = torch.sparse_coo_tensor(
            torch.from_numpy(rows)[None], torch.from_numpy(values), w0.shape, check_invariants=True
        )
        dense_grad = np.zeros_like(w0)
        np.add.at(dense_grad, rows, values)
        dense_var.grad = torch.from_numpy(dense_grad)
        sparse_opt.apply_gradients([sparse_var])
        dense_opt.apply_gradients([dense_var])

        touched = sorted(set(rows.tolist()))
        untouched = [r for r in range(10) if r not in touched]
        after_sparse = {"var": sparse_var.detach(), **sparse_opt.slots_for(sparse_var)}
        after_dense = {"var": dense_var.detach(), **dense_opt.slots_for(dense_var)}
        for key in after_sparse:
            torch.testing.assert_close(after_sparse[key][touched], after_dense[key][touched], rtol=1e-14, atol=1e-15)
            torch.testing.assert_close(after_sparse[key][untouched], before[key][untouched], rtol=0, atol=0)


def test_ftrl_element_sparse_gradient_updates_the_rows_it_touches():
    w0 = np.random.default_rng(1).uniform(-1, 1, size=(6, 2))
    row_var, row_opt = _ftrl_store(w0, learning_rate=0.2, l2_shrinkage_regularization_strength=0.1)
    elem_var, elem_opt = _ftrl_store(w0, learning_rate=0.2, l2_shrinkage_regularization_strength=0.1)
    row_var.grad = torch.sparse_coo_tensor(
        torch.tensor([[1, 4]]),
        torch.tensor([[0.5, 0.0], [0.0, -1.0]], dtype=torch.float64),
        (6, 2),
        check_invariants=True,
    )
    elem_var.grad = torch.sparse_coo_tensor(
        torch.tensor([[1, 4], [0, 1]]), torch.tensor([0.5, -1.0], dtype=torch.float64), (6, 2), check_invariants=True
    )
    row_opt.apply_gradients([row_var])
    elem_opt.apply_gradients([elem_var])
    torch.testing.assert_close(elem_var.detach(), row_var.detach(), rtol=0, atol=0)
    for k, v in elem_opt.slots_for(elem_var).items():
        torch.testing.assert_close(v, row_opt.slots_for(row_var)[k], rtol=0, atol=0)


def test_ftrl_sparse_step_on_a_large_table_touches_only_its_rows():
    w0 = np.zeros((200_000, 2))
    w0[:, 0] = 0.25
    var, opt = _ftrl_store(w0, learning_rate=0.2, l2_shrinkage_regularization_strength=0.1)
    rows = torch.arange(0, 200_000, 2_000)
    var.grad = torch.sparse_coo_tensor(
        rows[None], torch.ones(100, 2, dtype=torch.float64), w0.shape, check_invariants=True
    )
    opt.apply_gradients([var])
    changed = (var.detach() != torch.from_numpy(w0)).any(dim=1).nonzero().flatten()
    torch.testing.assert_close(changed, rows)
    assert (opt.slots_for(var)["accumulator"] != 0.1).any(dim=1).sum() == 100


def test_ftrl_defaults_and_get():
    opt = optimizers.get("Ftrl", learning_rate=0.2)
    assert type(opt) is optimizers.Ftrl and "Ftrl" in optimizers.__all__
    assert (opt.name, opt.learning_rate, opt.learning_rate_power, opt.initial_accumulator_value) == (
        "Ftrl",
        0.2,
        -0.5,
        0.1,
    )
    assert (
        opt.l1_regularization_strength,
        opt.l2_regularization_strength,
        opt.l2_shrinkage_regularization_strength,
        opt.beta,
    ) == (0, 0, 0, 0)
    assert optimizers.get("Ftrl").learning_rate == 0.001
    assert opt.slot_names == ("accumulator", "linear")
    assert list(opt.hyper_parameters()) == [
        "learning_rate",
        "decay",
        "learning_rate_power",
        "l1_regularization_strength",
        "l2_regularization_strength",
        "beta",
    ]
    assert sorted(opt.hyper_parameters()) == FTRL_HYPER_PARAMETERS
    assert sorted(set(GOLDEN["checkpoint_names"]["Ftrl"]["non_slot"]) - {"iter"}) == FTRL_HYPER_PARAMETERS
    assert GOLDEN["checkpoint_names"]["Ftrl"]["slots"] == ["accumulator", "linear"]
    with pytest.raises(
        ValueError, match=re.escape("Supported names are: ('Adagrad', 'Adam', 'Ftrl', 'RMSProp', 'SGD')")
    ):
        optimizers.get("Nadam")


@pytest.mark.parametrize("error", GOLDEN["errors"], ids=lambda e: next(iter(e["kwargs"])))
def test_ftrl_rejects_bad_arguments_with_keras_messages(error):
    with pytest.raises(ValueError, match=re.escape(error["message"])):
        optimizers.Ftrl(**error["kwargs"])


def test_ftrl_argument_types_and_what_keras_accepts():
    with pytest.raises(TypeError, match="l1_regularization_strength must be a number; got 'x'"):
        optimizers.Ftrl(l1_regularization_strength="x")
    with pytest.raises(TypeError, match="beta must be a number; got None"):
        optimizers.Ftrl(beta=None)
    with pytest.raises(ValueError, match="learning_rate must be >= 0; got -0.1"):
        optimizers.Ftrl(learning_rate=-0.1)
    optimizers.Ftrl(learning_rate_power=0.0, initial_accumulator_value=0.0, beta=-0.1)  # as keras


def test_ftrl_checkpoint_names_as_tf():
    store = te.VariableStore()
    with store.activate():
        w = te.get_variable("linear/linear_model/x/weights", [3, 1])
        b = te.get_variable("linear/linear_model/bias_weights", [1])
        loss = ((w.sum() + b.sum()) - 1.0) ** 2
        optimizers.get("Ftrl", learning_rate=0.2).minimize(loss)()
    state = store.state_tensors()
    assert sorted(state) == sorted(
        ["global_step", "linear/linear_model/x/weights", "linear/linear_model/bias_weights"]
        + [f"training/Ftrl/{k}" for k in FTRL_HYPER_PARAMETERS]
        + [
            f"training/Ftrl/linear/linear_model/{v}/{s}"
            for v in ("x/weights", "bias_weights")
            for s in ("accumulator", "linear")
        ]
    )
    assert float(state["training/Ftrl/learning_rate"]) == pytest.approx(0.2)
    assert float(state["training/Ftrl/learning_rate_power"]) == -0.5
    assert state["training/Ftrl/linear/linear_model/x/weights/accumulator"].shape == (3, 1)


def test_ftrl_as_second_optimizer_keeps_iter_and_restores():
    """Combined model (spec §4.3/§4.5): Adagrad owns the global step, Ftrl has training/Ftrl/iter."""

    def step(store):
        with store.activate():
            a = te.get_variable("dnn/w", [2], initializer=[0.5, -0.5])
            b = te.get_variable("linear/w", [2], initializer=[0.1, 0.2])
            loss = ((a * b).sum() - 1.0) ** 2 + (a**2).sum()
            optimizers.TrainOp(
                loss, [(optimizers.Adagrad(0.1), [a]), (optimizers.Ftrl(0.2, l1_regularization_strength=0.01), [b])]
            )()
        store.global_step += 1

    store = te.VariableStore()
    for _ in range(3):
        step(store)
    state = {k: v.clone() for k, v in store.state_tensors().items()}
    assert int(state["training/Ftrl/iter"]) == 3 and "training/Adagrad/iter" not in state
    assert {f"training/Ftrl/{k}" for k in FTRL_HYPER_PARAMETERS} <= set(state)
    for _ in range(2):
        step(store)

    restored = te.VariableStore()
    restored.load_state(state)
    for _ in range(2):
        step(restored)
    final, again = store.state_tensors(), restored.state_tensors()
    assert sorted(final) == sorted(again)
    for key in final:
        torch.testing.assert_close(again[key], final[key], rtol=0, atol=0, msg=key)


def test_clipnorm_scales_each_long_gradient_to_the_norm():
    w0 = np.zeros((2,))
    opt = optimizers.SGD(1.0)
    opt.clipnorm = 5.0
    long, short = np.array([30.0, 40.0]), np.array([0.3, 0.4])  # norms 50 and 0.5
    np.testing.assert_allclose(_run(opt, w0, [long]), [-3.0, -4.0], rtol=1e-12)
    np.testing.assert_allclose(_run(optimizers.SGD(1.0), w0, [short]), [-0.3, -0.4], rtol=1e-12)
    opt2 = optimizers.SGD(1.0)
    opt2.clipnorm = 5.0
    np.testing.assert_allclose(_run(opt2, w0, [short]), [-0.3, -0.4], rtol=1e-12)
