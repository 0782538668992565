"""call_logit_fn, model_fn / input_fn argument rules and Estimator construction (spec 3, 6.1)."""

from __future__ import annotations

import functools
import logging
import os
import re
import tempfile

import numpy as np
import pytest
import torch

import torch_estimator as te

TRAIN, EVAL, PREDICT = te.ModeKeys.TRAIN, te.ModeKeys.EVAL, te.ModeKeys.PREDICT
LOGIT_FN_ERR = "logit_fn should return a Tensor or a dictionary mapping strings to Tensors.  logit_fn returned: "
FEATURES = {"x": torch.ones(4, 1)}


def _linear_spec(features, labels, mode):
    w = te.get_variable("w", [1, 1])
    pred = features["x"] @ w
    target = labels if labels is not None else torch.zeros_like(pred)
    loss = ((pred - target) ** 2).mean()
    train_op = te.optimizers.get("SGD", 0.1).minimize(loss) if mode == TRAIN else None
    return te.EstimatorSpec(mode, predictions={"y": pred}, loss=loss, train_op=train_op)


def model_fn(features, labels, mode):
    return _linear_spec(features, labels, mode)


def input_fn():
    return {"x": torch.ones(4, 1)}, torch.ones(4, 1)


def _config(**kwargs):
    return te.RunConfig(log_step_count_steps=1000, save_summary_steps=0, **kwargs)


# -- call_logit_fn --------------------------------------------------------------------------------


@pytest.fixture(params=["te", "te.experimental"])
def call_logit_fn(request):
    return te.call_logit_fn if request.param == "te" else te.experimental.call_logit_fn


def test_experimental_call_logit_fn_is_the_same_function():
    assert te.experimental.call_logit_fn is te.call_logit_fn


def test_call_logit_fn_passes_only_features_when_nothing_else_named(call_logit_fn):
    received = {}

    def logit_fn(features):
        received["features"] = features
        return features["x"] * 2

    out = call_logit_fn(logit_fn, FEATURES, TRAIN, {"p": 1}, "cfg")
    assert received["features"] is FEATURES
    assert torch.equal(out, FEATURES["x"] * 2)


@pytest.mark.parametrize(
    "names",
    [
        ("mode",),
        ("params",),
        ("config",),
        ("mode", "params"),
        ("mode", "config"),
        ("params", "config"),
        ("mode", "params", "config"),
    ],
)
def test_call_logit_fn_passes_named_args_only(call_logit_fn, names):
    received = {}
    source = f"def logit_fn(features, {', '.join(names)}):\n    received.update(locals())\n    return features['x']\n"
    namespace = {"received": received}
    exec(source, namespace)  # noqa: S102 - builds a function with exactly these argument names
    params, config = {"lr": 0.1}, object()
    out = call_logit_fn(namespace["logit_fn"], FEATURES, EVAL, params, config)
    assert out is FEATURES["x"]
    assert set(received) == {"features", *names}
    expected = {"mode": EVAL, "params": params, "config": config}
    for name in names:
        assert received[name] is expected[name]


def test_call_logit_fn_passes_by_keyword(call_logit_fn):
    received = {}

    def logit_fn(config, mode, features, params):
        received.update(config=config, mode=mode, features=features, params=params)
        return features["x"]

    call_logit_fn(logit_fn, FEATURES, PREDICT, "P", "C")
    assert received == {"config": "C", "mode": PREDICT, "features": FEATURES, "params": "P"}


def test_call_logit_fn_does_not_fill_var_keyword(call_logit_fn):
    received = {}

    def logit_fn(features, **kwargs):
        received.update(kwargs)
        return features["x"]

    call_logit_fn(logit_fn, FEATURES, TRAIN, {"a": 1}, "cfg")
    assert received == {}


def test_call_logit_fn_with_partial(call_logit_fn):
    def logit_fn(features, mode, scale):
        return features["x"] * scale + (1 if mode == TRAIN else 0)

    out = call_logit_fn(functools.partial(logit_fn, scale=3.0), FEATURES, TRAIN, None, None)
    assert torch.equal(out, torch.full((4, 1), 4.0))


def test_call_logit_fn_returns_dict_of_tensors(call_logit_fn):
    result = {"head1": torch.ones(2), "head2": torch.zeros(2, 3)}
    out = call_logit_fn(lambda features: result, FEATURES, TRAIN, None, None)
    assert out is result


def test_call_logit_fn_accepts_empty_dict(call_logit_fn):
    assert call_logit_fn(lambda features: {}, FEATURES, TRAIN, None, None) == {}


@pytest.mark.parametrize(
    "result",
    [
        None,
        3.0,
        [torch.ones(1)],
        np.ones(2),
        {"a": np.ones(2)},
        {1: torch.ones(2)},
        {"a": torch.ones(2), "b": 1.0},
        "logits",
    ],
    ids=["none", "float", "list", "numpy", "dict-numpy", "int-key", "mixed-dict", "string"],
)
def test_call_logit_fn_rejects_other_results(call_logit_fn, result):
    with pytest.raises(ValueError, match=re.escape(LOGIT_FN_ERR + str(result))):
        call_logit_fn(lambda features: result, FEATURES, TRAIN, None, None)


def test_call_logit_fn_error_text_is_exact(call_logit_fn):
    with pytest.raises(ValueError) as info:
        call_logit_fn(lambda features: 7, FEATURES, TRAIN, None, None)
    assert str(info.value) == (
        "logit_fn should return a Tensor or a dictionary mapping strings to Tensors.  logit_fn returned: 7"
    )


# -- Estimator construction -----------------------------------------------------------------------


def test_model_fn_none_raises(tmp_path):
    with pytest.raises(ValueError, match=re.escape("model_fn must be provided to Estimator.")):
        te.Estimator(None, model_dir=tmp_path)


def test_model_fn_without_features_raises(tmp_path):
    def bad_model_fn(labels, mode):
        raise AssertionError("not called")

    with pytest.raises(ValueError, match=re.escape(f"model_fn ({bad_model_fn}) must include features argument.")):
        te.Estimator(bad_model_fn, model_dir=tmp_path)


def test_features_check_comes_before_unexpected_args(tmp_path):
    def bad_model_fn(inputs, labels):
        raise AssertionError("not called")

    with pytest.raises(ValueError, match=re.escape("must include features argument.")):
        te.Estimator(bad_model_fn, model_dir=tmp_path)


def test_model_fn_unexpected_args_raise(tmp_path):
    def bad_model_fn(features, labels, mode, extra):
        raise AssertionError("not called")

    message = f"model_fn ({bad_model_fn}) has following not expected args: ['extra']"
    with pytest.raises(ValueError, match=re.escape(message)):
        te.Estimator(bad_model_fn, model_dir=tmp_path)


def test_model_fn_unexpected_args_with_defaults_raise(tmp_path):
    def bad_model_fn(features, labels=None, hidden=3):
        raise AssertionError("not called")

    with pytest.raises(ValueError, match=re.escape("has following not expected args: ['hidden']")):
        te.Estimator(bad_model_fn, model_dir=tmp_path)


def test_model_fn_all_valid_args_accepted(tmp_path):
    def full_model_fn(features, labels, mode, params, config):
        raise AssertionError("not called")

    est = te.Estimator(full_model_fn, model_dir=tmp_path, params={"a": 1})
    assert est.model_fn is full_model_fn
    assert est.params == {"a": 1}


def test_partial_binding_unexpected_arg_is_accepted(tmp_path):
    def fn(features, labels, mode, hidden):
        raise AssertionError("not called")

    est = te.Estimator(functools.partial(fn, hidden=3), model_dir=tmp_path)
    assert est.model_dir == str(tmp_path)


def test_params_given_but_not_in_signature_raises(tmp_path):
    params = {"learning_rate": 0.1}
    message = f"model_fn ({model_fn}) does not include params argument, but params ({params}) is passed to Estimator."
    with pytest.raises(ValueError, match=re.escape(message)):
        te.Estimator(model_fn, model_dir=tmp_path, params=params)


def test_empty_params_also_need_params_argument(tmp_path):
    with pytest.raises(ValueError, match=re.escape("does not include params argument, but params ({}) is passed")):
        te.Estimator(model_fn, model_dir=tmp_path, params={})


@pytest.mark.parametrize("config", [{"model_dir": "x"}, "config", 5])
def test_config_must_be_run_config(tmp_path, config):
    with pytest.raises(
        ValueError, match=re.escape(f"config must be an instance of `RunConfig`, but provided {config}.")
    ):
        te.Estimator(model_fn, model_dir=tmp_path, config=config)


def test_model_dir_conflict_raises(tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    message = (
        "`model_dir` are set both in constructor and `RunConfig`, but with different values. "
        f"In constructor: '{a}', in `RunConfig`: '{b}' "
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        te.Estimator(model_fn, model_dir=a, config=te.RunConfig(model_dir=b))


def test_same_model_dir_in_both_is_fine(tmp_path):
    d = str(tmp_path / "m")
    est = te.Estimator(model_fn, model_dir=d, config=te.RunConfig(model_dir=d))
    assert est.model_dir == d
    assert est.config.model_dir == d


def test_model_dir_from_constructor_goes_into_config(tmp_path):
    d = tmp_path / "from_arg"
    config = te.RunConfig(save_checkpoints_steps=3)
    est = te.Estimator(model_fn, model_dir=d, config=config)
    assert est.model_dir == str(d)
    assert est.config.model_dir == str(d)
    assert est.config.save_checkpoints_steps == 3
    assert config.model_dir is None  # the caller's config is not modified


def test_model_dir_from_config(tmp_path):
    d = str(tmp_path / "from_config")
    est = te.Estimator(model_fn, config=te.RunConfig(model_dir=d))
    assert est.model_dir == d
    assert est.config.model_dir == d


def test_temp_dir_used_when_no_model_dir(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with caplog.at_level(logging.INFO, logger="torch_estimator"):
        est = te.Estimator(model_fn)
    assert os.path.isdir(est.model_dir)
    assert os.path.dirname(est.model_dir) == str(tmp_path)
    assert est.config.model_dir == est.model_dir
    assert f"Using temporary folder as model directory: {est.model_dir}" in caplog.text
    assert "Using config: " in caplog.text


def test_two_estimators_without_model_dir_get_distinct_temp_dirs(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert te.Estimator(model_fn).model_dir != te.Estimator(model_fn).model_dir


def test_config_and_params_properties_are_copies(tmp_path):
    def fn(features, labels, mode, params):
        raise AssertionError("not called")

    params = {"layers": [1, 2]}
    est = te.Estimator(fn, model_dir=tmp_path, params=params)
    params["layers"].append(3)
    assert est.params == {"layers": [1, 2]}
    est.params["layers"].append(4)
    assert est.params == {"layers": [1, 2]}
    assert est.config is not est.config
    assert est.config.model_dir == str(tmp_path)


# -- calling model_fn -----------------------------------------------------------------------------


def test_model_fn_without_labels_but_input_fn_with_labels_raises_on_train(tmp_path):
    def no_labels_model_fn(features, mode):
        raise AssertionError("must not be called")

    est = te.Estimator(no_labels_model_fn, model_dir=tmp_path, config=_config())
    with pytest.raises(ValueError, match=re.escape("model_fn does not take labels, but input_fn returns labels.")):
        est.train(input_fn, steps=1)


def test_model_fn_without_labels_works_when_input_fn_has_no_labels(tmp_path):
    calls = []

    def no_labels_model_fn(features, mode):
        calls.append(mode)
        return _linear_spec(features, None, mode)

    est = te.Estimator(no_labels_model_fn, model_dir=tmp_path, config=_config())
    est.train(lambda: {"x": torch.ones(4, 1)}, steps=2)
    assert calls == [TRAIN, TRAIN]
    assert est.latest_checkpoint() is not None


@pytest.mark.parametrize("result", [None, {"loss": torch.tensor(1.0)}, (torch.tensor(1.0), None)])
def test_model_fn_must_return_estimator_spec(tmp_path, result):
    def bad_model_fn(features, labels, mode):
        return result

    est = te.Estimator(bad_model_fn, model_dir=tmp_path, config=_config())
    with pytest.raises(ValueError, match=re.escape("model_fn should return an EstimatorSpec.")):
        est.train(input_fn, steps=1)


def test_model_fn_must_return_estimator_spec_in_predict(tmp_path):
    est = te.Estimator(lambda features: {"y": features["x"]}, model_dir=tmp_path, config=_config())
    with pytest.raises(ValueError, match=re.escape("model_fn should return an EstimatorSpec.")):
        list(est.predict(lambda: {"x": torch.ones(2, 1)}))


def test_model_fn_receives_named_args_per_mode(tmp_path):
    seen = []

    def recording_model_fn(features, labels, mode, params, config):
        seen.append({"mode": mode, "labels": labels, "params": params, "config": config})
        return _linear_spec(features, labels, mode)

    est = te.Estimator(recording_model_fn, model_dir=tmp_path, config=_config(), params={"units": 4})
    est.train(input_fn, steps=1)
    est.evaluate(input_fn, steps=1)
    list(est.predict(lambda: {"x": torch.ones(2, 1)}))
    assert [s["mode"] for s in seen] == [TRAIN, EVAL, PREDICT]
    for s in seen:
        assert s["params"] == {"units": 4}
        assert isinstance(s["config"], te.RunConfig)
        assert s["config"].model_dir == str(tmp_path)
    assert torch.equal(seen[0]["labels"], torch.ones(4, 1))
    assert torch.equal(seen[1]["labels"], torch.ones(4, 1))
    assert seen[2]["labels"] is None


def test_model_fn_receives_only_what_it_names(tmp_path):
    seen = []

    def features_only(features):
        seen.append(sorted(features))
        return _linear_spec(features, None, PREDICT)

    est = te.Estimator(features_only, model_dir=tmp_path, config=_config())
    preds = list(est.predict(lambda: {"x": torch.ones(3, 1)}))
    assert seen == [["x"]]
    assert len(preds) == 3


def test_predict_drops_labels_returned_by_input_fn(tmp_path):
    seen = []

    def recording_model_fn(features, labels, mode):
        seen.append(labels)
        return _linear_spec(features, None, mode)

    est = te.Estimator(recording_model_fn, model_dir=tmp_path, config=_config())
    list(est.predict(input_fn))
    assert seen == [None]


def test_predict_with_labels_and_model_fn_without_labels(tmp_path):
    def no_labels_model_fn(features, mode):
        return _linear_spec(features, None, mode)

    est = te.Estimator(no_labels_model_fn, model_dir=tmp_path, config=_config())
    assert len(list(est.predict(input_fn))) == 4


# -- calling input_fn -----------------------------------------------------------------------------


def test_input_fn_without_args_is_called_without_args(tmp_path):
    calls = []

    def no_arg_input_fn():
        calls.append(True)
        return input_fn()

    est = te.Estimator(model_fn, model_dir=tmp_path, config=_config())
    est.train(no_arg_input_fn, steps=1)
    assert calls == [True]


def test_input_fn_receives_mode_params_config_when_named(tmp_path):
    received = []

    def recording_input_fn(mode, params, config):
        received.append({"mode": mode, "params": params, "config": config})
        return input_fn()

    def fn(features, labels, mode, params):
        return _linear_spec(features, labels, mode)

    est = te.Estimator(fn, model_dir=tmp_path, config=_config(), params={"batch_size": 4})
    est.train(recording_input_fn, steps=1)
    est.evaluate(recording_input_fn, steps=1)
    list(est.predict(lambda mode: {"x": torch.ones(2, 1)} if mode == PREDICT else None))
    assert [r["mode"] for r in received] == [TRAIN, EVAL]
    for r in received:
        assert r["params"] == {"batch_size": 4}
        assert isinstance(r["config"], te.RunConfig)
        assert r["config"].model_dir == str(tmp_path)


@pytest.mark.parametrize("name", ["mode", "params", "config"])
def test_input_fn_receives_only_the_named_arg(tmp_path, name):
    received = {}
    namespace = {"received": received, "input_fn": input_fn}
    exec(  # noqa: S102 - builds an input_fn with exactly one named argument
        f"def one_arg_input_fn({name}):\n    received.update(locals())\n    return input_fn()\n", namespace
    )
    est = te.Estimator(model_fn, model_dir=tmp_path, config=_config())
    est.train(namespace["one_arg_input_fn"], steps=1)
    assert set(received) == {name}
    value = received[name]
    if name == "mode":
        assert value == TRAIN
    elif name == "params":
        assert value == {}
    else:
        assert isinstance(value, te.RunConfig)


def test_input_fn_var_keyword_gets_nothing(tmp_path):
    received = []

    def kw_input_fn(**kwargs):
        received.append(kwargs)
        return input_fn()

    est = te.Estimator(model_fn, model_dir=tmp_path, config=_config())
    est.train(kw_input_fn, steps=1)
    assert received == [{}]


def test_input_fn_params_are_a_copy(tmp_path):
    def mutating_input_fn(params):
        params["mutated"] = True
        return input_fn()

    def fn(features, labels, mode, params):
        assert "mutated" not in params
        return _linear_spec(features, labels, mode)

    est = te.Estimator(fn, model_dir=tmp_path, config=_config(), params={"a": 1})
    est.train(mutating_input_fn, steps=1)
    assert est.params == {"a": 1}


# -- subclasses -----------------------------------------------------------------------------------


@pytest.mark.parametrize("member", ["train", "evaluate", "predict", "get_variable_names"])
def test_subclass_overriding_members_is_rejected(tmp_path, member):
    def override(self, *args, **kwargs):
        raise AssertionError("not called")

    subclass = type("BadEstimator", (te.Estimator,), {member: override})
    with pytest.raises(
        ValueError, match=re.escape("Subclasses of Estimator cannot override members of Estimator.")
    ) as info:
        subclass(model_fn, model_dir=tmp_path)
    assert member in str(info.value)


def test_subclass_overriding_train_message(tmp_path):
    class MyEstimator(te.Estimator):
        def train(self, input_fn, hooks=None, steps=None, max_steps=None, saving_listeners=None):
            raise AssertionError("not called")

    with pytest.raises(
        ValueError, match="^" + re.escape("Subclasses of Estimator cannot override members of Estimator.")
    ):
        MyEstimator(model_fn, model_dir=tmp_path)


def test_subclass_without_overrides_is_accepted(tmp_path):
    class MyEstimator(te.Estimator):
        def __init__(self, model_dir):
            super().__init__(model_fn, model_dir=model_dir, config=_config())

        def extra_method(self):
            return "extra"

    est = MyEstimator(tmp_path)
    assert est.extra_method() == "extra"
    est.train(input_fn, steps=1)
    assert est.latest_checkpoint() is not None


def test_subclass_may_override_latest_checkpoint(tmp_path):
    class MyEstimator(te.Estimator):
        def latest_checkpoint(self):
            return None

    assert MyEstimator(model_fn, model_dir=tmp_path).latest_checkpoint() is None


# -- nn.Module as model_fn ------------------------------------------------------------------------


class LinearModule(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(1, 1)
        self.modes = []

    def forward(self, features, labels, mode):
        self.modes.append(mode)
        pred = self.linear(features["x"])
        loss = ((pred - labels) ** 2).mean() if labels is not None else None
        train_op = te.optimizers.get("SGD", 0.1).minimize(loss) if mode == TRAIN else None
        return te.EstimatorSpec(mode, predictions={"y": pred}, loss=loss, train_op=train_op)


def test_module_with_forward_signature_is_accepted_as_model_fn(tmp_path):
    module = LinearModule()
    est = te.Estimator(module, model_dir=tmp_path, config=_config())
    assert est.model_fn is module
    est.train(input_fn, steps=3)
    names = est.get_variable_names()
    assert "linear/weight" in names and "linear/bias" in names
    assert "global_step" in names
    assert int(est.get_variable_value("global_step")) == 3
    np.testing.assert_allclose(
        est.get_variable_value("linear/weight"), module.linear.weight.detach().numpy(), rtol=1e-6
    )
    assert module.modes == [TRAIN, TRAIN, TRAIN]


def test_module_forward_without_features_is_rejected(tmp_path):
    class BadModule(torch.nn.Module):
        def forward(self, x, labels):
            return x

    module = BadModule()
    with pytest.raises(ValueError, match=re.escape(f"model_fn ({module}) must include features argument.")):
        te.Estimator(module, model_dir=tmp_path)


def test_module_forward_with_unexpected_args_is_rejected(tmp_path):
    class BadModule(torch.nn.Module):
        def forward(self, features, labels, mode, hidden_units):
            return features

    with pytest.raises(ValueError, match=re.escape("has following not expected args: ['hidden_units']")):
        te.Estimator(BadModule(), model_dir=tmp_path)
