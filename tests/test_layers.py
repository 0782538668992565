"""te.layers: TF's layer functions over the variable store (names, reuse, semantics, argument checks)."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F

import torch_estimator as te


def test_unnamed_layers_are_numbered_per_call():
    store = te.VariableStore()
    x = torch.ones(2, 3)
    for _ in range(2):
        with store.activate():
            te.layers.dense(x, 4)
            te.layers.dense(x, 5)
            with te.variable_scope("tower"):
                te.layers.dense(x, 6)
    assert list(store.variables()) == [
        "dense/kernel",
        "dense/bias",
        "dense_1/kernel",
        "dense_1/bias",
        "tower/dense/kernel",
        "tower/dense/bias",
    ]


def test_dense_computes_affine_map_and_checks_input():
    store = te.VariableStore()
    x = torch.randn(5, 3)
    with store.activate():
        y = te.layers.dense(x, 2, activation="relu", name="fc")
        with pytest.raises(TypeError, match="dense inputs must be floating point"):
            te.layers.dense(torch.ones(2, 3, dtype=torch.int64), 2)
    kernel, bias = store.variables()["fc/kernel"], store.variables()["fc/bias"]
    torch.testing.assert_close(y, torch.relu(x @ kernel + bias))


def test_batch_normalization_matches_tf_semantics():
    store = te.VariableStore()
    x = torch.randn(16, 3) * 2 + 1
    with store.activate():
        y = te.layers.batch_normalization(x, momentum=0.9, training=True, name="bn")
    mean, var = x.mean(0), x.var(0, unbiased=False)
    torch.testing.assert_close(y, (x - mean) / torch.sqrt(var + 1e-3))
    variables = store.variables()
    torch.testing.assert_close(variables["bn/moving_mean"], 0.1 * mean)
    torch.testing.assert_close(variables["bn/moving_variance"], 0.9 + 0.1 * var)
    with store.activate():
        z = te.layers.batch_normalization(x, momentum=0.9, training=False, name="bn")
    torch.testing.assert_close(z, (x - 0.1 * mean) / torch.sqrt(0.9 + 0.1 * var + 1e-3))
    assert not variables["bn/moving_mean"].requires_grad


def test_dropout_only_when_training():
    x = torch.ones(1000)
    assert torch.equal(te.layers.dropout(x, 0.5, training=False), x)
    dropped = te.layers.dropout(x, 0.5, training=True)
    assert 300 < int((dropped == 0).sum()) < 700
    assert set(dropped.unique().tolist()) <= {0.0, 2.0}
    with pytest.raises(ValueError, match=re.escape("dropout rate must be in [0, 1)")):
        te.layers.dropout(x, 1.0)


def test_embedding_lookup_and_embedding_layer():
    table = torch.arange(12, dtype=torch.float32).reshape(4, 3)
    out = te.layers.embedding_lookup(table, torch.tensor([[3, 0]]))
    torch.testing.assert_close(out, table[[3, 0]].unsqueeze(0))
    clipped = te.layers.embedding_lookup(table, torch.tensor([3]), max_norm=1.0)
    torch.testing.assert_close(clipped.norm(dim=-1), torch.ones(1))
    store = te.VariableStore()
    with store.activate():
        e = te.layers.embedding(torch.tensor([1, 2]), 5, 3, name="emb")
        with pytest.raises(ValueError, match=re.escape("embedding ids must be in [0, 5); got values in [0, 7]")):
            te.layers.embedding(torch.tensor([0, 7]), 5, 3, name="emb")
    assert e.shape == (2, 3) and list(store.variables()) == ["emb/embeddings"]


def test_dense_variables_take_the_input_dtype_and_are_reused():
    store = te.VariableStore()
    x = torch.randn(4, 3, dtype=torch.float64)
    with store.activate():
        first = te.layers.dense(x, 2, name="fc")
    with store.activate():
        second = te.layers.dense(x, 2, name="fc")
    torch.testing.assert_close(first, second)
    variables = store.variables()
    assert list(variables) == ["fc/kernel", "fc/bias"]
    assert variables["fc/kernel"].shape == (3, 2) and variables["fc/kernel"].dtype == torch.float64
    assert torch.count_nonzero(variables["fc/bias"]) == 0


def test_dense_without_bias_and_on_3d_inputs():
    store = te.VariableStore()
    x = torch.randn(2, 5, 3)
    with store.activate():
        y = te.layers.dense(x, 4, use_bias=False, kernel_initializer="ones", name="proj")
    assert list(store.variables()) == ["proj/kernel"]
    torch.testing.assert_close(y, x.sum(-1, keepdim=True).expand(2, 5, 4))


def test_dense_trainable_false_gives_no_parameters():
    store = te.VariableStore()
    with store.activate():
        te.layers.dense(torch.ones(1, 2), 3, trainable=False, name="frozen")
    assert store.trainable_variables() == []
    assert not any(v.requires_grad for v in store.variables().values())


@pytest.mark.parametrize("units", [0, -1, 2.0, "3"])
def test_dense_units_must_be_a_positive_integer(units):
    with te.VariableStore().activate():
        with pytest.raises(ValueError, match=re.escape(f"dense units must be a positive integer; got {units!r}.")):
            te.layers.dense(torch.ones(1, 2), units)


def test_dense_inputs_must_be_a_tensor():
    with te.VariableStore().activate():
        with pytest.raises(TypeError, match="dense inputs must be a torch.Tensor; got list"):
            te.layers.dense([[1.0, 2.0]], 2)


@pytest.mark.parametrize(
    "name, reference",
    [
        ("relu", torch.relu),
        ("tanh", torch.tanh),
        ("sigmoid", torch.sigmoid),
        ("swish", F.silu),
        ("leaky_relu", lambda x: F.leaky_relu(x, 0.2)),
        ("softmax", lambda x: torch.softmax(x, dim=-1)),
        ("linear", lambda x: x),
    ],
)
def test_activations_by_name(name, reference):
    x = torch.linspace(-3, 3, 12).reshape(3, 4)
    torch.testing.assert_close(te.layers.get_activation(name)(x), reference(x))


def test_get_activation_passes_callables_and_none_and_names_unknown_ones():
    assert te.layers.get_activation(None) is None
    assert te.layers.get_activation(torch.exp) is torch.exp
    with pytest.raises(ValueError, match=re.escape("Unknown activation 'rectifier'; expected a callable or one of [")):
        te.layers.get_activation("rectifier")


def test_batch_normalization_over_another_axis_without_scale_or_center():
    store = te.VariableStore()
    x = torch.randn(8, 3, 5)
    with store.activate():
        y = te.layers.batch_normalization(x, axis=1, center=False, scale=False, training=True, name="bn")
    assert list(store.variables()) == ["bn/moving_mean", "bn/moving_variance"]
    mean = x.mean(dim=(0, 2), keepdim=True)
    var = x.var(dim=(0, 2), unbiased=False, keepdim=True)
    torch.testing.assert_close(y, (x - mean) / torch.sqrt(var + 1e-3))


def test_batch_normalization_inference_uses_the_moving_statistics_only():
    store = te.VariableStore()
    x = torch.randn(6, 2)
    with store.activate():
        y = te.layers.batch_normalization(x, training=False, name="bn")
    variables = store.variables()
    torch.testing.assert_close(y, x / torch.sqrt(torch.tensor(1 + 1e-3)))
    assert torch.count_nonzero(variables["bn/moving_mean"]) == 0
    assert set(variables) == {"bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance"}
    assert {n for n, v in variables.items() if v.requires_grad} == {"bn/gamma", "bn/beta"}


def test_batch_normalization_inputs_must_be_floating_point():
    with te.VariableStore().activate():
        with pytest.raises(TypeError, match="batch_normalization inputs must be floating point; got dtype torch.int64"):
            te.layers.batch_normalization(torch.ones(2, 2, dtype=torch.int64))


def test_dropout_rate_zero_is_the_identity_and_negative_rates_are_refused():
    x = torch.randn(10)
    assert te.layers.dropout(x, 0.0, training=True) is x
    with pytest.raises(ValueError, match=re.escape("dropout rate must be in [0, 1); got -0.1.")):
        te.layers.dropout(x, -0.1, training=True)


def test_embedding_lookup_ids_must_be_integers():
    table = torch.zeros(3, 2)
    with pytest.raises(TypeError, match="embedding_lookup ids must be an integer tensor; got torch.float32"):
        te.layers.embedding_lookup(table, torch.tensor([0.0]))
    with pytest.raises(TypeError, match="embedding_lookup ids must be an integer tensor; got list"):
        te.layers.embedding_lookup(table, [0, 1])


def test_embedding_lookup_max_norm_leaves_short_rows_alone():
    table = torch.tensor([[0.3, 0.4], [3.0, 4.0]])
    out = te.layers.embedding_lookup(table, torch.tensor([0, 1]), max_norm=1.0)
    torch.testing.assert_close(out, torch.tensor([[0.3, 0.4], [0.6, 0.8]]))


def test_unnamed_embedding_and_batch_norm_layers_are_numbered():
    store = te.VariableStore()
    with store.activate():
        te.layers.embedding(torch.tensor([0]), 2, 2)
        te.layers.embedding(torch.tensor([0]), 2, 2)
        te.layers.batch_normalization(torch.ones(2, 2))
    assert list(store.variables()) == [
        "embedding/embeddings",
        "embedding_1/embeddings",
        "batch_normalization/gamma",
        "batch_normalization/beta",
        "batch_normalization/moving_mean",
        "batch_normalization/moving_variance",
    ]


def test_layers_need_an_active_store():
    with pytest.raises(RuntimeError, match="No active variable store"):
        te.layers.dense(torch.ones(1, 2), 2)
