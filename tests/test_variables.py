"""The variable store, variable scopes and te.module (te.layers: tests/test_layers.py)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import torch_estimator as te


def test_get_variable_creates_once_and_reuses_by_scoped_name():
    store = te.VariableStore()
    with store.activate():
        with te.variable_scope("outer"):
            with te.variable_scope("inner"):
                a = te.get_variable("w", [2, 3], initializer="zeros")
        with te.variable_scope("outer/inner"):
            b = te.get_variable("w", [2, 3])
    assert a is b
    assert list(store.variables()) == ["outer/inner/w"]
    assert isinstance(a, torch.nn.Parameter) and torch.count_nonzero(a) == 0
    with store.activate():
        c = te.get_variable("outer/inner/w", [2, 3])
    assert c is a


def test_get_variable_errors():
    with pytest.raises(RuntimeError, match="No active variable store"):
        te.get_variable("w", [1])
    store = te.VariableStore()
    with store.activate():
        te.get_variable("w", [2])
        with pytest.raises(
            ValueError, match=re.escape("Trying to share variable w, but specified shape [3] and found shape [2].")
        ):
            te.get_variable("w", [3])
        with pytest.raises(ValueError, match="needs a shape"):
            te.get_variable("v")
        with pytest.raises(ValueError, match="Unknown initializer 'nope'"):
            te.get_variable("u", [1], initializer="nope")


def test_non_trainable_variables_are_not_parameters():
    store = te.VariableStore()
    with store.activate():
        v = te.get_variable("count", [1], trainable=False, initializer="ones")
        w = te.get_variable("w", [1])
    assert not v.requires_grad
    assert store.trainable_variables() == [w]


def test_default_initializer_is_glorot_uniform():
    store = te.VariableStore()
    with store.activate():
        w = te.get_variable("w", [300, 200]).detach()
    limit = np.sqrt(6 / 500)
    assert float(w.abs().max()) <= limit
    assert float(w.abs().max()) > 0.95 * limit


def test_module_registers_parameters_and_follows_mode():
    store = te.VariableStore()
    with store.activate(te.ModeKeys.TRAIN):
        with te.variable_scope("dnn"):
            m = te.module("tower", lambda: torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Dropout(0.5)))
    assert m.training
    assert set(store.variables()) == {"dnn/tower/0/weight", "dnn/tower/0/bias"}
    with store.activate(te.ModeKeys.EVAL):
        with te.variable_scope("dnn"):
            again = te.module("tower", lambda: pytest.fail("factory must run once"))
    assert again is m and not m.training
    with store.activate():
        with pytest.raises(TypeError, match="must return a torch.nn.Module"):
            te.module("bad", lambda: 3)


def test_load_state_restores_existing_and_later_variables():
    store = te.VariableStore()
    with store.activate():
        te.get_variable("a", [2], initializer=[1.0, 2.0])
    store.load_state({"a": torch.tensor([5.0, 6.0]), "b": torch.tensor([7.0]), "global_step": torch.tensor(9)})
    with store.activate():
        b = te.get_variable("b", [1], initializer="zeros")
        a = te.get_variable("a", [2])
        with pytest.raises(
            ValueError, match=re.escape("Variable c has shape [2] in the model but [3] in the checkpoint.")
        ):
            store.load_state({"c": torch.zeros(3), "global_step": torch.tensor(0)})
            te.get_variable("c", [2])
    assert a.tolist() == [5.0, 6.0] and b.tolist() == [7.0] and store.global_step == 0


def test_load_state_without_global_step_is_refused():
    with pytest.raises(te.errors.NotFoundError, match="Key global_step not found in checkpoint ckpt-3"):
        te.VariableStore().load_state({"a": torch.zeros(2)}, "ckpt-3")


def test_variables_created_after_a_restore_must_come_from_the_checkpoint():
    store = te.VariableStore()
    store.load_state({"a": torch.ones(2), "global_step": torch.tensor(4)}, "/m/model.ckpt-4.safetensors")
    with store.activate():
        te.get_variable("a", [2])
        store.check_restored()
        te.get_variable("b", [3])
        te.get_variable("c", [1])
    with pytest.raises(
        te.errors.NotFoundError,
        match=re.escape(
            "checkpoint /m/model.ckpt-4.safetensors lacks. Key b not found in checkpoint (and 1 more: ['c'])"
        ),
    ):
        store.check_restored()


def test_summary_scalar_records_tag():
    store = te.VariableStore()
    with store.activate():
        with te.variable_scope("head"):
            te.summary.scalar("loss", torch.tensor(2.0))
        with pytest.raises(ValueError, match="needs one value"):
            te.summary.scalar("bad", torch.ones(2))
    assert set(store.summaries) == {"loss"}


def test_initializers_may_return_arrays_and_their_values_are_copied(tmp_path):
    glove = np.arange(12, dtype=np.float32).reshape(6, 2)
    shared = torch.ones(3, 1)

    def model_fn(features, labels, mode):
        words = te.feature_column.categorical_column_with_identity("w", 6)
        embedded = te.feature_column.embedding_column(
            words,
            2,
            initializer=lambda shape, dtype, partition_info=None: glove,  # the GloVe idiom: a numpy array
        )
        x = te.feature_column.DenseFeatures([embedded])(features)
        a = te.get_variable("a", [3, 1], initializer=shared)
        b = te.get_variable("b", [3, 1], initializer=shared)
        logits = torch.cat([x, x[:, :1]], dim=1) @ a + b.sum()
        return te.RegressionHead().create_estimator_spec(
            features, mode, logits, labels=labels, optimizer=te.optimizers.Adagrad(0.5)
        )

    features = {"w": np.arange(12) % 6}
    estimator = te.Estimator(model_fn, model_dir=str(tmp_path))
    estimator.train(te.inputs.numpy_input_fn(features, np.ones(12, np.float32), batch_size=4, shuffle=True), steps=3)
    assert np.array_equal(glove, np.arange(12, dtype=np.float32).reshape(6, 2))  # not trained in place
    assert torch.equal(shared, torch.ones(3, 1))
    embedding = estimator.get_variable_value("dense_features/w_embedding/embedding_weights")
    assert embedding.shape == (6, 2) and not np.array_equal(embedding, glove)  # trained from the array's values
    assert not np.array_equal(estimator.get_variable_value("a"), estimator.get_variable_value("b"))


def test_an_initializer_of_the_wrong_shape_names_the_variable():
    store = te.VariableStore()
    with store.activate(), pytest.raises(ValueError, match="variable 'v' returned shape \\[2\\]; .* shape \\[3\\]"):
        te.get_variable("v", [3], initializer=lambda shape, dtype: np.zeros(2))
    with store.activate(), pytest.raises(TypeError, match="variable 'u' returned str"):
        te.get_variable("u", [3], initializer=lambda shape, dtype: "abc")
