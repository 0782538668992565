"""export_saved_model → te.saved_model.load in a fresh process → the same predictions as
Estimator.predict; TF's directory layout, errors and signatures; what cannot be exported fails at
export time."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import torch_estimator as te
from torch_estimator._census import census_columns, census_features
from torch_estimator.datasets import load_census
from torch_estimator.export.tfexample import encode_example

fc = te.feature_column
CENSUS = load_census("train").sample(600, random_state=1)
FEATURES, LABELS = census_features(CENSUS)
WIDE, DEEP = census_columns()
N = 64


def _input(labels=LABELS, epochs=None, shuffle=True, n=None):
    features = FEATURES if n is None else {k: v[:n] for k, v in FEATURES.items()}
    labels = labels if n is None or labels is None else labels[:n]
    return te.inputs.numpy_input_fn(
        features, labels, batch_size=100 if n is None else n, num_epochs=epochs, shuffle=shuffle
    )


def _examples(keys, n=N) -> np.ndarray:
    rows = []
    for i in range(n):
        row = {}
        for key in keys:
            value = FEATURES[key][i]
            row[key] = [float(value)] if isinstance(value, (float, np.floating)) else [value]
        rows.append(row)
    return np.array([encode_example(r) for r in rows], dtype=object)


def _parsing_receiver(columns):
    return te.export.build_parsing_serving_input_receiver_fn(fc.make_parse_example_spec(columns))


def _predictions(est, n=N, features=None) -> dict[str, np.ndarray]:
    features = features or {k: v[:n] for k, v in FEATURES.items()}
    out = list(est.predict(te.inputs.numpy_input_fn(features, batch_size=n, shuffle=False)))
    return {k: np.stack([r[k] for r in out]) for k in out[0]}


def _run_in_fresh_process(tmp_path, calls: list[dict]) -> list[dict[str, np.ndarray]]:
    """Loads each export in a new interpreter that has only torch_estimator, runs one signature."""
    request = tmp_path / "calls.json"
    response = tmp_path / "results.json"

    def encode(array):
        array = np.asarray(array)
        if array.dtype == object:
            return {"strings": [base64.b64encode(x).decode() for x in array.reshape(-1)], "shape": list(array.shape)}
        return {"values": array.reshape(-1).tolist(), "dtype": str(array.dtype), "shape": list(array.shape)}

    request.write_text(json.dumps([{**c, "inputs": {k: encode(v) for k, v in c["inputs"].items()}} for c in calls]))
    script = textwrap.dedent(
        """
        import base64, json, sys
        import numpy as np
        import torch_estimator as te
        def decode(e):
            if "strings" in e:
                return np.array([base64.b64decode(x) for x in e["strings"]], dtype=object).reshape(e["shape"])
            return np.array(e["values"], dtype=e["dtype"]).reshape(e["shape"])
        results = []
        for call in json.load(open(sys.argv[1])):
            model = te.saved_model.load(call["path"])
            out = model.signatures[call["signature"]](**{k: decode(v) for k, v in call["inputs"].items()})
            results.append({
                k: {"strings": [x.decode("latin-1") for x in v.reshape(-1)], "shape": list(v.shape)}
                if v.dtype == object
                else {"values": v.reshape(-1).tolist(), "dtype": str(v.dtype), "shape": list(v.shape)}
                for k, v in out.items()
            })
        json.dump(results, open(sys.argv[2], "w"))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run(
        [sys.executable, "-c", script, str(request), str(response)], check=True, cwd=str(tmp_path), env=env, timeout=300
    )

    def decode(e):
        if "strings" in e:
            return np.array([x.encode("latin-1") for x in e["strings"]], dtype=object).reshape(e["shape"])
        return np.array(e["values"], dtype=e["dtype"]).reshape(e["shape"])

    return [{k: decode(v) for k, v in r.items()} for r in json.loads(response.read_text())]


def _assert_same(served: dict[str, np.ndarray], expected: dict[str, np.ndarray], keys=None) -> None:
    for key in keys or expected:
        got, want = served[key], expected[key]
        if want.dtype == object:
            assert got.tolist() == want.tolist(), key
        else:
            assert got.dtype == want.dtype, key
            # onnxruntime sums in another order than torch, so outputs agree to float32 rounding of the
            # model's intermediate sums: 1e-6 relative, and up to 2e-5 of the largest output where a
            # model sums large terms (raw census numerics such as fnlwgt, ~1e5, feed these models).
            scale = float(np.abs(want).max()) if want.size else 0.0
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 + 2e-5 * max(1.0, scale), err_msg=key)


def _custom_logistic_model_fn(features, labels, mode):
    x = fc.DenseFeatures(
        [
            fc.numeric_column("age"),
            fc.numeric_column("hours-per-week"),
            fc.embedding_column(fc.categorical_column_with_hash_bucket("occupation", 50), 3),
        ]
    )(features)
    tower = te.module("tower", lambda: torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh()))
    logits = te.layers.dense(tower(x / 50.0), 1, name="logits")
    head = te.LogisticRegressionHead()
    return head.create_estimator_spec(features, mode, logits, labels=labels, optimizer=te.optimizers.Adagrad(0.1))


ESTIMATORS = {
    "linear_classifier": lambda d: te.LinearClassifier(WIDE, model_dir=d),
    "dnn_classifier": lambda d: te.DNNClassifier([8, 4], DEEP, model_dir=d, optimizer=te.optimizers.Adagrad(0.1)),
    "wide_deep_classifier": lambda d: te.DNNLinearCombinedClassifier(
        model_dir=d,
        linear_feature_columns=WIDE,
        dnn_feature_columns=DEEP,
        dnn_hidden_units=[8, 4],
        dnn_optimizer=te.optimizers.Adagrad(0.1),
    ),
    "wide_deep_3_classes_vocab": lambda d: te.DNNLinearCombinedClassifier(
        model_dir=d,
        linear_feature_columns=WIDE,
        dnn_feature_columns=DEEP,
        dnn_hidden_units=[8],
        n_classes=3,
        label_vocabulary=["young", "mid", "old"],
    ),
    "linear_regressor": lambda d: te.LinearRegressor(WIDE, model_dir=d),
    "dnn_regressor": lambda d: te.DNNRegressor([8], DEEP, model_dir=d, batch_norm=True),
    "wide_deep_regressor": lambda d: te.DNNLinearCombinedRegressor(
        model_dir=d, linear_feature_columns=WIDE, dnn_feature_columns=DEEP, dnn_hidden_units=[8]
    ),
    "custom_logistic_regression_head": lambda d: te.Estimator(_custom_logistic_model_fn, model_dir=d),
    "linear_estimator": lambda d: te.LinearEstimator(te.BinaryClassHead(), WIDE, model_dir=d),
    "dnn_estimator": lambda d: te.DNNEstimator(te.MultiLabelHead(3), [8], DEEP, model_dir=d),
    "wide_deep_estimator": lambda d: te.DNNLinearCombinedEstimator(
        te.RegressionHead(label_dimension=2),
        model_dir=d,
        linear_feature_columns=WIDE,
        dnn_feature_columns=DEEP,
        dnn_hidden_units=[8],
    ),
}
AGE_CLASSES = np.array(["young", "mid", "old"], dtype=object)[np.digitize(FEATURES["age"], [30, 45])]
REGRESSION_LABELS = (FEATURES["hours-per-week"] / 40.0).astype(np.float32)
LABELS_FOR = {
    "wide_deep_3_classes_vocab": AGE_CLASSES,
    "linear_regressor": REGRESSION_LABELS,
    "dnn_regressor": REGRESSION_LABELS,
    "wide_deep_regressor": REGRESSION_LABELS,
    "custom_logistic_regression_head": LABELS.astype(np.float32),
    "dnn_estimator": np.stack([LABELS, 1 - LABELS, LABELS], axis=1).astype(np.int64),
    "wide_deep_estimator": np.stack([REGRESSION_LABELS, REGRESSION_LABELS * 2], axis=1),
}
COLUMNS_FOR = {
    "custom_logistic_regression_head": [
        fc.numeric_column("age"),
        fc.numeric_column("hours-per-week"),
        fc.categorical_column_with_hash_bucket("occupation", 50),
    ]
}


def test_every_estimator_exports_and_serves_the_same_predictions_in_a_fresh_process(tmp_path):
    calls, expected = [], []
    for name, build in ESTIMATORS.items():
        est = build(str(tmp_path / name))
        est.train(_input(LABELS_FOR.get(name, LABELS)), steps=5)
        columns = COLUMNS_FOR.get(name, WIDE + DEEP)
        path = est.export_saved_model(str(tmp_path / "export" / name), _parsing_receiver(columns))
        assert isinstance(path, bytes) and os.path.isdir(path)
        keys = sorted({k for c in columns for k in c.parse_example_spec})
        calls.append({"path": path.decode(), "signature": "predict", "inputs": {"examples": _examples(keys)}})
        expected.append(_predictions(est))
    for (name, want), got in zip(zip(ESTIMATORS, expected), _run_in_fresh_process(tmp_path, calls)):
        assert sorted(got) == sorted(want), name
        _assert_same(got, want)


def test_baseline_estimators_export_with_a_raw_receiver(tmp_path):
    calls, expected = [], []
    for name, est in {
        "classifier": te.BaselineClassifier(model_dir=str(tmp_path / "c")),
        "regressor": te.BaselineRegressor(model_dir=str(tmp_path / "r")),
    }.items():
        labels = LABELS if name == "classifier" else REGRESSION_LABELS
        est.train(
            te.inputs.numpy_input_fn({"age": FEATURES["age"]}, labels, batch_size=50, num_epochs=None, shuffle=True),
            steps=5,
        )
        receiver = te.export.build_raw_serving_input_receiver_fn({"age": FEATURES["age"][:2]})
        path = est.export_saved_model(str(tmp_path / "export" / name), receiver)
        calls.append({"path": path.decode(), "signature": "predict", "inputs": {"age": FEATURES["age"][:N]}})
        expected.append(_predictions(est, features={"age": FEATURES["age"][:N]}))
    for want, got in zip(expected, _run_in_fresh_process(tmp_path, calls)):
        _assert_same(got, want)


@pytest.fixture(scope="module")
def trained_wide_deep(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("wide_deep")
    est = te.DNNLinearCombinedClassifier(
        model_dir=str(model_dir), linear_feature_columns=WIDE, dnn_feature_columns=DEEP, dnn_hidden_units=[8]
    )
    est.train(_input(), steps=5)
    return est


def test_signatures_match_tensorflow(trained_wide_deep, tmp_path):
    path = trained_wide_deep.export_saved_model(str(tmp_path), _parsing_receiver(WIDE + DEEP))
    model = te.saved_model.load(path)
    sigs = model.signatures
    assert sorted(sigs) == ["classification", "predict", "regression", "serving_default"]
    assert sigs["serving_default"].method_name == "tensorflow/serving/classify"
    assert {k: (v.dtype, v.shape) for k, v in sigs["classification"].inputs.items()} == {"inputs": ("DT_STRING", (-1,))}
    assert {k: (v.dtype, v.shape) for k, v in sigs["classification"].outputs.items()} == {
        "classes": ("DT_STRING", (-1, 2)),
        "scores": ("DT_FLOAT", (-1, 2)),
    }
    assert {k: (v.dtype, v.shape) for k, v in sigs["regression"].outputs.items()} == {"outputs": ("DT_FLOAT", (-1, 1))}
    assert {k: v.dtype for k, v in sigs["predict"].outputs.items()} == {
        "all_class_ids": "DT_INT32",
        "all_classes": "DT_STRING",
        "class_ids": "DT_INT64",
        "classes": "DT_STRING",
        "logistic": "DT_FLOAT",
        "logits": "DT_FLOAT",
        "probabilities": "DT_FLOAT",
    }
    assert list(sigs["predict"].inputs) == ["examples"]
    examples = _examples(sorted(fc.make_parse_example_spec(WIDE + DEEP)), n=5)
    expected = _predictions(trained_wide_deep, n=5)
    out = sigs["serving_default"](inputs=examples)
    np.testing.assert_allclose(out["scores"], expected["probabilities"], atol=1e-6)
    assert out["classes"].tolist() == [[b"0", b"1"]] * 5
    np.testing.assert_allclose(sigs["regression"](inputs=examples)["outputs"], expected["logistic"], atol=1e-6)


def test_export_directory_layout_and_assets(trained_wide_deep, tmp_path, caplog):
    extra = tmp_path / "notes.txt"
    extra.write_text("hello")
    with caplog.at_level(logging.INFO, logger="torch_estimator"):
        first = trained_wide_deep.export_saved_model(
            str(tmp_path / "base"), _parsing_receiver(WIDE + DEEP), assets_extra={"docs/notes.txt": str(extra)}
        )
        second = trained_wide_deep.export_saved_model(str(tmp_path / "base"), _parsing_receiver(WIDE + DEEP))
    names = sorted(os.listdir(tmp_path / "base"))
    assert [os.path.basename(first).decode(), os.path.basename(second).decode()] == names
    assert all(len(n) == 10 and n.isdigit() for n in names) and int(names[1]) > int(names[0])
    assert sorted(os.listdir(first.decode())) == ["assets.extra", "program.onnx", "saved_model.json", "variables"]
    assert (tmp_path / "base" / names[0] / "assets.extra" / "docs" / "notes.txt").read_text() == "hello"
    assert "Signatures INCLUDED in export for Classify: ['classification', 'serving_default']" in caplog.text
    assert "SavedModel written to: " in caplog.text and "temp-" in caplog.text


def test_vocabulary_files_go_to_assets(tmp_path):
    vocab = tmp_path / "education.txt"
    vocab.write_text("\n".join(sorted(set(FEATURES["education"]))) + "\n")
    column = fc.categorical_column_with_vocabulary_file("education", str(vocab))
    est = te.LinearClassifier([column], model_dir=str(tmp_path / "m"))
    est.train(_input(), steps=3)
    path = est.export_saved_model(str(tmp_path / "e"), _parsing_receiver([column]))
    assert os.listdir(os.path.join(path, b"assets")) == [b"education.txt"]
    vocab.unlink()  # the export does not need the original file
    out = te.saved_model.load(path).signatures["predict"](examples=_examples(["education"], n=8))
    np.testing.assert_allclose(out["logits"], _predictions(est, n=8)["logits"], atol=1e-6)


def test_multi_head_signatures(tmp_path):
    heads = [te.BinaryClassHead(name="h1"), te.RegressionHead(name="h2")]

    def model_fn(features, labels, mode):
        logits = te.layers.dense(features["x"], 2, name="logits")
        return te.MultiHead(heads).create_estimator_spec(
            features, mode, logits, labels=labels, optimizer=te.optimizers.SGD(0.1)
        )

    x = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    labels = {"h1": (x[:, :1] > 0).astype(np.float32), "h2": x[:, 1:2]}
    est = te.Estimator(model_fn, model_dir=str(tmp_path / "m"))
    est.train(lambda: ({"x": x}, labels), steps=2)
    path = est.export_saved_model(str(tmp_path / "e"), te.export.build_raw_serving_input_receiver_fn({"x": x}))
    model = te.saved_model.load(path)
    # A raw (non-string) receiver cannot feed classify/regress signatures: only predict ones remain.
    assert sorted(model.signatures) == ["h1/predict", "h2/predict", "predict"]
    out = model.signatures["predict"](x=x[:4])
    want = list(est.predict(lambda: {"x": x[:4]}))
    np.testing.assert_allclose(out["h1/logistic"][:, 0], [w[("h1", "logistic")][0] for w in want], atol=1e-6)
    np.testing.assert_allclose(out["h2/predictions"][:, 0], [w[("h2", "predictions")][0] for w in want], atol=1e-6)


def test_signature_input_errors(trained_wide_deep, tmp_path):
    model = te.saved_model.load(trained_wide_deep.export_saved_model(str(tmp_path), _parsing_receiver(WIDE + DEEP)))
    predict = model.signatures["predict"]
    with pytest.raises(ValueError, match=r"missing input\(s\) \['examples'\]"):
        predict()
    with pytest.raises(ValueError, match=r"has no input\(s\) \['foo'\]"):
        predict(examples=_examples(["age"], 1), foo=1)
    with pytest.raises(ValueError, match="expects strings"):
        predict(examples=np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="age"):  # a required feature missing from the protos
        predict(examples=_examples(["education"], 2))
    keys = sorted({k for c in WIDE + DEEP for k in c.parse_example_spec})
    examples = _examples(keys, 3)
    positional, named = predict(examples), predict(examples=examples)  # one input: positional too, as in TF
    assert positional.keys() == named.keys() and np.array_equal(positional["logits"], named["logits"])
    with pytest.raises(TypeError, match=r"takes its inputs \['examples'\] by name"):
        predict(examples, examples)


def test_export_errors(tmp_path, trained_wide_deep):
    with pytest.raises(ValueError, match="An input_receiver_fn must be defined."):
        trained_wide_deep.export_saved_model(str(tmp_path), None)
    fresh = te.LinearClassifier(WIDE, model_dir=str(tmp_path / "empty"))
    with pytest.raises(ValueError, match="Couldn't find trained model at .*empty"):
        fresh.export_saved_model(str(tmp_path / "e"), _parsing_receiver(WIDE))
    with pytest.raises(ValueError, match="must return a ServingInputReceiver"):
        trained_wide_deep.export_saved_model(str(tmp_path / "e"), lambda: {"x": 1})
    with pytest.raises(te.export.NotExportableError, match="Only the 'infer' mode"):
        trained_wide_deep.experimental_export_all_saved_models(
            str(tmp_path / "e"), {te.ModeKeys.TRAIN: _parsing_receiver(WIDE)}
        )
    assert not os.path.exists(tmp_path / "e") or os.listdir(tmp_path / "e") == []


def test_what_cannot_be_exported_fails_at_export_time(tmp_path):
    def uses_strings_directly(features, labels, mode):
        offset = torch.tensor([[float(len(s)) for s in features["occupation"]]]).T  # host work outside feature columns
        logits = te.layers.dense(features["age"] + offset, 1, name="logits")
        return te.LogisticRegressionHead().create_estimator_spec(
            features, mode, logits, labels=labels, optimizer=te.optimizers.SGD(0.01)
        )

    est = te.Estimator(uses_strings_directly, model_dir=str(tmp_path / "a"))
    est.train(
        te.inputs.numpy_input_fn(
            {"age": FEATURES["age"][:, None], "occupation": FEATURES["occupation"]},
            LABELS.astype(np.float32)[:, None],
            batch_size=20,
            num_epochs=None,
            shuffle=True,
        ),
        steps=2,
    )
    receiver = te.export.build_raw_serving_input_receiver_fn(
        {"age": FEATURES["age"][:2, None], "occupation": FEATURES["occupation"][:2]}
    )
    with pytest.raises(te.export.NotExportableError, match="feature 'occupation'"):
        est.export_saved_model(str(tmp_path / "ea"), receiver)
    assert not os.path.exists(tmp_path / "ea") or os.listdir(tmp_path / "ea") == []

    normalized = fc.numeric_column("age", normalizer_fn=lambda v: v / 100.0)
    est = te.LinearClassifier([fc.bucketized_column(normalized, [0.3, 0.5])], model_dir=str(tmp_path / "b"))
    est.train(_input(), steps=2)
    with pytest.raises(te.export.NotExportableError, match="normalizer_fn"):
        est.export_saved_model(str(tmp_path / "eb"), _parsing_receiver([normalized]))


def test_a_normalizer_fn_on_a_numeric_column_is_traced(tmp_path):
    normalized = fc.numeric_column("age", normalizer_fn=lambda v: (v - 40.0) / 10.0)
    est = te.DNNRegressor([4], [normalized], model_dir=str(tmp_path / "m"))
    est.train(_input(REGRESSION_LABELS), steps=3)
    path = est.export_saved_model(str(tmp_path / "e"), _parsing_receiver([normalized]))
    out = te.saved_model.load(path).signatures["predict"](examples=_examples(["age"], n=10))
    np.testing.assert_allclose(out["predictions"], _predictions(est, n=10)["predictions"], atol=1e-6)


def test_raw_receivers_take_dtypes_and_shapes_as_tensorflow_does():
    # Read off TF 2.15: build_raw_serving_input_receiver_fn({"input": tf.constant(v)}) gives a [None]
    # placeholder of tf.constant's dtype: float64 for np.array(3.), float32 for 3.0, int64 for numpy ints.
    cases = {
        "array_scalar": (np.array(3.0), "float64", (None,)),
        "array": (np.array([3.0]), "float64", (None,)),
        "python_float": (3.0, "float32", (None,)),
        "python_int": (3, "int32", (None,)),
        "ints": (np.array([1, 2]), "int64", (None,)),
        "strings": (np.array(["a"]), "string", (None,)),
        "matrix": (np.zeros((2, 3), np.float32), "float32", (None, 3)),
    }
    receiver = te.export.build_raw_serving_input_receiver_fn({k: v for k, (v, _, _) in cases.items()})()
    for key, (_, dtype, shape) in cases.items():
        placeholder = receiver.receiver_tensors[key]
        assert (str(placeholder.dtype), placeholder.shape) == (dtype, shape), key
    with pytest.raises(ValueError, match="features\\['x'\\] must be numbers or strings"):
        te.export.build_raw_serving_input_receiver_fn({"x": np.array([1 + 2j])})


def test_export_savedmodel_is_the_deprecated_name(trained_wide_deep, tmp_path):
    with pytest.warns(DeprecationWarning, match="export_savedmodel is deprecated"):
        path = trained_wide_deep.export_savedmodel(str(tmp_path), _parsing_receiver(WIDE + DEEP))
    assert sorted(te.saved_model.load(path).signatures) == [
        "classification",
        "predict",
        "regression",
        "serving_default",
    ]
