"""The Estimator engine: train / evaluate / predict, model_dir state, resume and errors."""

from __future__ import annotations

import logging
import os
import re

import numpy as np
import pytest
import torch

import torch_estimator as te
from conftest import dense_model_fn, make_binary_data
from torch_estimator._core import checkpoint as _checkpoint


def _train_fn(x, y, batch_size=32, shuffle=True, num_epochs=None):
    return te.inputs.numpy_input_fn({"x": x}, y, batch_size=batch_size, num_epochs=num_epochs, shuffle=shuffle)


def _eval_fn(x, y, batch_size=64):
    return te.inputs.numpy_input_fn({"x": x}, y, batch_size=batch_size, num_epochs=1, shuffle=False)


def _estimator(model_dir, params=None, **config):
    config.setdefault("save_checkpoints_steps", 25)
    config.setdefault("log_step_count_steps", 25)
    return te.Estimator(dense_model_fn, model_dir=str(model_dir), params=params or {}, config=te.RunConfig(**config))


def _weights(est: te.Estimator) -> dict[str, np.ndarray]:
    return {n: est.get_variable_value(n) for n in est.get_variable_names()}


class TestFunctionModelFn:
    def test_trains_evaluates_predicts_and_names_variables(self, tmp_path, binary_data):
        x, y = binary_data
        est = _estimator(tmp_path, tf_random_seed=3)
        before = est.evaluate(_eval_fn(x, y))
        est.train(_train_fn(x, y), steps=150)
        after = est.evaluate(_eval_fn(x, y))
        assert after["loss"] < before["loss"] - 0.2
        assert after["accuracy"] > 0.9
        assert after["global_step"] == 150 and before["global_step"] == 0
        assert sorted(after) == ["accuracy", "global_step", "loss"]
        assert est.get_variable_names() == [
            "global_step",
            "hidden/bias",
            "hidden/kernel",
            "logits/bias",
            "logits/kernel",
            "training/Adagrad/decay",
            "training/Adagrad/hidden/bias/accumulator",
            "training/Adagrad/hidden/kernel/accumulator",
            "training/Adagrad/learning_rate",
            "training/Adagrad/logits/bias/accumulator",
            "training/Adagrad/logits/kernel/accumulator",
        ]
        assert est.get_variable_value("hidden/kernel").shape == (4, 8)
        assert est.get_variable_value("global_step") == 150
        predictions = list(est.predict(te.inputs.numpy_input_fn({"x": x[:10]}, shuffle=False)))
        assert len(predictions) == 10
        assert set(predictions[0]) == {"logits", "probabilities"}
        assert isinstance(predictions[0]["logits"], np.ndarray) and predictions[0]["logits"].shape == (1,)
        np.testing.assert_allclose(
            predictions[3]["probabilities"], 1 / (1 + np.exp(-predictions[3]["logits"])), rtol=1e-6
        )

    def test_unnamed_layers_get_tf_style_unique_names(self, tmp_path, binary_data):
        x, y = binary_data

        def model_fn(features, labels, mode):
            with te.variable_scope("dnn"):
                h = te.layers.dense(features["x"], 3)
                h = te.layers.dense(h, 2)
                logits = te.layers.dense(h, 1)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
            return te.EstimatorSpec(mode, loss=loss, train_op=te.optimizers.SGD(0.1).minimize(loss), predictions=logits)

        est = te.Estimator(model_fn, model_dir=str(tmp_path))
        est.train(_train_fn(x, y), steps=3)
        names = [n for n in est.get_variable_names() if n.startswith("dnn/")]
        assert names == [f"dnn/{layer}/{v}" for layer in ("dense", "dense_1", "dense_2") for v in ("bias", "kernel")]


class ModuleModel(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.hidden = torch.nn.Linear(4, 8)
        self.out = torch.nn.Linear(8, 1)

    def forward(self, features, labels, mode):
        logits = self.out(torch.relu(self.hidden(features["x"])))
        if mode == te.ModeKeys.PREDICT:
            return te.EstimatorSpec(mode, predictions={"logits": logits})
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
        train_op = te.optimizers.get("Adam", learning_rate=0.02).minimize(loss) if mode == te.ModeKeys.TRAIN else None
        return te.EstimatorSpec(mode, loss=loss, train_op=train_op, predictions={"logits": logits})


class TestModuleModelFn:
    def test_trains_evaluates_predicts(self, tmp_path, binary_data):
        x, y = binary_data
        torch.manual_seed(0)
        est = te.Estimator(ModuleModel(), model_dir=str(tmp_path), config=te.RunConfig(save_checkpoints_steps=50))
        before = est.evaluate(_eval_fn(x, y))["loss"]
        est.train(_train_fn(x, y), steps=100)
        after = est.evaluate(_eval_fn(x, y))["loss"]
        assert after < before - 0.2
        assert "hidden/weight" in est.get_variable_names()
        assert "training/Adam/out/bias/m" in est.get_variable_names()
        predictions = list(
            est.predict(te.inputs.numpy_input_fn({"x": x[:4]}, shuffle=False), yield_single_examples=False)
        )
        assert len(predictions) == 1 and predictions[0]["logits"].shape == (4, 1)

    def test_new_module_instance_restores_checkpoint(self, tmp_path, binary_data):
        x, y = binary_data
        est = te.Estimator(ModuleModel(), model_dir=str(tmp_path))
        est.train(_train_fn(x, y), steps=20)
        module = ModuleModel()
        restored = te.Estimator(module, model_dir=str(tmp_path))
        first = next(restored.predict(te.inputs.numpy_input_fn({"x": x[:1]}, shuffle=False)))
        np.testing.assert_array_equal(module.hidden.weight.detach().numpy(), est.get_variable_value("hidden/weight"))
        expected = next(est.predict(te.inputs.numpy_input_fn({"x": x[:1]}, shuffle=False)))
        np.testing.assert_array_equal(first["logits"], expected["logits"])


class TestStepsAndResume:
    def test_steps_accumulate_and_max_steps_is_absolute(self, tmp_path, binary_data, caplog):
        x, y = binary_data
        est = _estimator(tmp_path)
        est.train(_train_fn(x, y), steps=50)
        assert est.get_variable_value("global_step") == 50
        assert est.train(_train_fn(x, y), steps=50) is est
        assert est.get_variable_value("global_step") == 100
        before = _weights(est)
        with caplog.at_level(logging.INFO, logger="torch_estimator"):
            est.train(_train_fn(x, y), max_steps=100)
        assert "Skipping training since max_steps has already saved." in caplog.text
        after = _weights(est)
        assert before.keys() == after.keys()
        for name in before:
            np.testing.assert_array_equal(before[name], after[name])
        est.train(_train_fn(x, y), max_steps=120)
        assert est.get_variable_value("global_step") == 120

    def test_new_estimator_resumes_with_identical_weights_and_slots(self, tmp_path, binary_data):
        x, y = binary_data
        est = _estimator(tmp_path)
        est.train(_train_fn(x, y), steps=40)
        saved = _weights(est)
        other = _estimator(tmp_path)
        model = other._load_model(other.latest_checkpoint(), restore_rng=False)
        list(other.predict(te.inputs.numpy_input_fn({"x": x[:2]}, shuffle=False)))
        other.train(_train_fn(x, y), steps=1)  # binds the optimizer: restored slots are used, not re-created
        resumed = other._model.store
        assert resumed.global_step == 41
        slots = resumed.optimizers()[0]._slots
        # One step of Adagrad from the saved slots: accumulator grows from the checkpointed value.
        acc_before = saved["training/Adagrad/hidden/kernel/accumulator"]
        acc_after = slots["hidden/kernel"]["accumulator"].numpy()
        assert np.all(acc_after >= acc_before) and np.any(acc_after > acc_before)
        assert model is not None

    def test_restored_state_equals_saved_state_exactly(self, tmp_path, binary_data):
        x, y = binary_data
        est = _estimator(tmp_path)
        est.train(_train_fn(x, y), steps=30)
        other = _estimator(tmp_path)
        other.train(_train_fn(x, y), steps=1)
        tensors, _ = _checkpoint.load(_checkpoint.resolve(str(tmp_path / "model.ckpt-30")))
        restored_names = set(other._model.store.state_tensors())
        assert set(tensors) == restored_names

    def test_same_seed_gives_bit_identical_weights(self, tmp_path, binary_data):
        x, y = binary_data
        runs = []
        for name in ("a", "b"):
            est = _estimator(tmp_path / name, params={"dropout": 0.3}, tf_random_seed=42)
            est.train(_train_fn(x, y), steps=60)
            runs.append(_weights(est))
        for name in runs[0]:
            np.testing.assert_array_equal(runs[0][name], runs[1][name], err_msg=name)
        other = _estimator(tmp_path / "c", params={"dropout": 0.3}, tf_random_seed=7)
        other.train(_train_fn(x, y), steps=60)
        assert not np.array_equal(_weights(other)["hidden/kernel"], runs[0]["hidden/kernel"])

    def test_resumed_training_equals_uninterrupted_training(self, tmp_path):
        x, y = make_binary_data(n=64)
        full_batch = lambda: _train_fn(x, y, batch_size=64, shuffle=False)  # noqa: E731
        params = {"dropout": 0.5, "optimizer": "Adam", "lr": 0.05}
        straight = _estimator(tmp_path / "straight", params=params, tf_random_seed=1)
        straight.train(full_batch(), max_steps=60)
        _estimator(tmp_path / "resumed", params=params, tf_random_seed=1).train(full_batch(), max_steps=25)
        torch.manual_seed(12345)  # unrelated use of the global generator between the two runs
        _estimator(tmp_path / "resumed", params=params, tf_random_seed=1).train(full_batch(), max_steps=60)
        resumed = _estimator(tmp_path / "resumed", params=params)
        a, b = _weights(straight), _weights(resumed)
        assert a.keys() == b.keys()
        for name in a:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)

    def test_keep_checkpoint_max(self, tmp_path, binary_data):
        x, y = binary_data
        est = _estimator(tmp_path, save_checkpoints_steps=10, keep_checkpoint_max=2)
        est.train(_train_fn(x, y), steps=45)
        index = (tmp_path / "checkpoint").read_text().splitlines()
        assert index == [
            'model_checkpoint_path: "model.ckpt-45"',
            'all_model_checkpoint_paths: "model.ckpt-40"',
            'all_model_checkpoint_paths: "model.ckpt-45"',
        ]
        files = sorted(f for f in os.listdir(tmp_path) if f.startswith("model.ckpt"))
        assert files == ["model.ckpt-40.safetensors", "model.ckpt-45.safetensors"]
        assert est.latest_checkpoint() == str(tmp_path / "model.ckpt-45")

    def test_checkpoints_at_first_step_every_period_and_end(self, tmp_path, binary_data, caplog):
        x, y = binary_data
        est = _estimator(tmp_path, save_checkpoints_steps=10, keep_checkpoint_max=10)
        with caplog.at_level(logging.INFO, logger="torch_estimator"):
            est.train(_train_fn(x, y), steps=25)
        saved = [int(s) for s in re.findall(r"Saving checkpoints for (\d+) into", caplog.text)]
        assert saved == [0, 10, 20, 25]

    def test_train_stops_at_end_of_input(self, tmp_path, binary_data):
        x, y = binary_data
        est = _estimator(tmp_path)
        est.train(_train_fn(x, y, batch_size=50, num_epochs=2))
        assert est.get_variable_value("global_step") == 11  # ceil(2 * 256 / 50): batches span epochs

    def test_single_batch_input_needs_steps(self, tmp_path, binary_data):
        x, y = binary_data
        est = _estimator(tmp_path)
        with pytest.raises(ValueError, match="pass steps or max_steps"):
            est.train(lambda: ({"x": x}, y))
        est.train(lambda: ({"x": x}, y), steps=3)
        assert est.get_variable_value("global_step") == 3


class TestEvaluate:
    def test_loss_is_mean_of_batch_losses_and_metrics_stream(self, tmp_path, binary_data):
        x, y = binary_data
        est = _estimator(tmp_path)
        est.train(_train_fn(x, y), steps=20)
        result = est.evaluate(_eval_fn(x, y, batch_size=100))  # batches of 100, 100, 56
        logits = np.concatenate(
            [
                p["logits"]
                for p in est.predict(
                    te.inputs.numpy_input_fn({"x": x}, batch_size=100, shuffle=False), yield_single_examples=False
                )
            ]
        )
        per_example = np.logaddexp(0, logits) - y * logits
        batch_means = [per_example[i : i + 100].mean() for i in (0, 100, 200)]
        np.testing.assert_allclose(result["loss"], np.mean(batch_means), rtol=1e-5)
        np.testing.assert_allclose(result["accuracy"], np.mean((logits > 0) == (y > 0.5)), rtol=1e-6)
        assert result == est.evaluate(_eval_fn(x, y, batch_size=100))  # state reset per call
        assert est.evaluate(_eval_fn(x, y), steps=1)["accuracy"] == pytest.approx(
            np.mean(((logits > 0) == (y > 0.5))[:64])
        )

    def test_checkpoint_path_selects_an_older_checkpoint(self, tmp_path, binary_data):
        x, y = binary_data
        est = _estimator(tmp_path, save_checkpoints_steps=10)
        est.train(_train_fn(x, y), steps=30)
        assert est.evaluate(_eval_fn(x, y), checkpoint_path=str(tmp_path / "model.ckpt-10"))["global_step"] == 10
        assert est.evaluate(_eval_fn(x, y))["global_step"] == 30
        with pytest.raises(ValueError, match="Could not find a checkpoint"):
            est.evaluate(_eval_fn(x, y), checkpoint_path=str(tmp_path / "model.ckpt-11"))

    def test_without_checkpoint_runs_initialization(self, tmp_path, binary_data, caplog):
        x, y = binary_data
        est = _estimator(tmp_path)
        with caplog.at_level(logging.INFO, logger="torch_estimator"):
            result = est.evaluate(_eval_fn(x, y))
            list(est.predict(te.inputs.numpy_input_fn({"x": x[:2]}, shuffle=False)))
        assert result["global_step"] == 0
        assert (
            f"Could not find trained model in model_dir: {tmp_path}, running initialization to evaluate." in caplog.text
        )
        assert (
            f"Could not find trained model in model_dir: {tmp_path}, running initialization to predict." in caplog.text
        )
        for call in (est.get_variable_names, lambda: est.get_variable_value("hidden/kernel")):
            with pytest.raises(ValueError, match=re.escape(f"Could not find trained model in model_dir: {tmp_path}.")):
                call()

    def test_eval_dir(self, tmp_path):
        est = _estimator(tmp_path)
        assert est.eval_dir() == os.path.join(str(tmp_path), "eval")
        assert est.eval_dir("valid") == os.path.join(str(tmp_path), "eval_valid")


class TestPredict:
    def test_model_stays_resident_until_checkpoint_changes(self, tmp_path, binary_data, monkeypatch):
        x, y = binary_data
        est = _estimator(tmp_path)
        est.train(_train_fn(x, y), steps=10)
        loads = []
        original = _checkpoint.load
        monkeypatch.setattr(_checkpoint, "load", lambda prefix: loads.append(prefix) or original(prefix))
        fresh = _estimator(tmp_path)
        predict_input = te.inputs.numpy_input_fn({"x": x[:8]}, shuffle=False)
        for _ in range(3):
            list(fresh.predict(predict_input))
        assert len(loads) == 1
        est.train(_train_fn(x, y), steps=5)
        list(fresh.predict(predict_input))
        assert len(loads) == 2 and loads[-1].endswith("model.ckpt-15")

    def test_predict_keys_and_batches(self, tmp_path, binary_data):
        x, _ = binary_data
        est = _estimator(tmp_path)
        input_fn = te.inputs.numpy_input_fn({"x": x[:10]}, batch_size=4, shuffle=False)
        only = list(est.predict(input_fn, predict_keys=["logits"]))
        assert len(only) == 10 and set(only[0]) == {"logits"}
        batches = list(est.predict(input_fn, yield_single_examples=False))
        assert [b["logits"].shape[0] for b in batches] == [4, 4, 2]
        with pytest.raises(
            ValueError,
            match=re.escape("Expected to run at least one output from ['logits', 'probabilities'], provided ['nope']."),
        ):
            list(est.predict(input_fn, predict_keys=["nope"]))

    def test_non_dict_predictions(self, tmp_path, binary_data):
        x, _ = binary_data

        def model_fn(features, mode):
            return te.EstimatorSpec(mode, predictions=te.layers.dense(features["x"], 2))

        est = te.Estimator(model_fn, model_dir=str(tmp_path))
        rows = list(est.predict(te.inputs.numpy_input_fn({"x": x[:5]}, shuffle=False)))
        assert len(rows) == 5 and rows[0].shape == (2,)
        with pytest.raises(ValueError, match="predict_keys argument is not valid in case of non-dict predictions."):
            list(est.predict(te.inputs.numpy_input_fn({"x": x[:5]}, shuffle=False), predict_keys=["a"]))

    def test_ragged_prediction_batch_is_rejected(self, tmp_path, binary_data):
        x, _ = binary_data

        def model_fn(features, mode):
            logits = te.layers.dense(features["x"], 1)
            return te.EstimatorSpec(mode, predictions={"logits": logits, "bad": logits[:-1]})

        est = te.Estimator(model_fn, model_dir=str(tmp_path))
        with pytest.raises(
            ValueError, match="Batch length of predictions should be same. bad has different batch length than others."
        ):
            list(est.predict(te.inputs.numpy_input_fn({"x": x[:5]}, shuffle=False)))
        batches = list(est.predict(te.inputs.numpy_input_fn({"x": x[:5]}, shuffle=False), yield_single_examples=False))
        assert batches[0]["bad"].shape == (4, 1)


class TestTrainArgumentErrors:
    @pytest.mark.parametrize(
        "kwargs, message",
        [
            ({"steps": 1, "max_steps": 1}, "Can not provide both steps and max_steps."),
            ({"steps": 0}, "Must specify steps > 0, given: 0"),
            ({"max_steps": -1}, "Must specify max_steps > 0, given: -1"),
        ],
    )
    def test_train(self, tmp_path, binary_data, kwargs, message):
        x, y = binary_data
        with pytest.raises(ValueError, match=re.escape(message)):
            _estimator(tmp_path).train(_train_fn(x, y), **kwargs)

    def test_evaluate_steps(self, tmp_path, binary_data):
        x, y = binary_data
        with pytest.raises(ValueError, match=re.escape("Must specify steps > 0, given: 0")):
            _estimator(tmp_path).evaluate(_eval_fn(x, y), steps=0)

    def test_input_fn_not_callable(self, tmp_path):
        with pytest.raises(TypeError, match="input_fn must be callable"):
            _estimator(tmp_path).train([1, 2], steps=1)

    def test_metrics_must_match_across_batches(self, tmp_path, binary_data):
        x, y = binary_data
        calls = []

        def model_fn(features, labels, mode):
            logits = te.layers.dense(features["x"], 1)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
            calls.append(1)
            name = "a" if len(calls) == 1 else "b"
            return te.EstimatorSpec(mode, loss=loss, eval_metric_ops={name: te.metrics.mean(loss)})

        with pytest.raises(ValueError, match="every batch must return the same metrics"):
            te.Estimator(model_fn, model_dir=str(tmp_path)).evaluate(_eval_fn(x, y))
