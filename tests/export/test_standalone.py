"""standalone.onnx: raw features in, predictions out, run by plain onnxruntime; equal to
Estimator.predict for every column kind with an ONNX form; which columns block it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import onnxruntime as ort
import pytest
import torch

import torch_estimator as te

fc = te.feature_column
N = 96
RNG = np.random.default_rng(7)
EDUCATION = ["Bachelors", "HS-grad", "Masters", "Doctorate", "11th"]


def _features(n: int = N, rng: np.random.Generator = RNG) -> dict[str, np.ndarray]:
    """Dense features of every kind: one and several values per row, missing values ('' and -1),
    unknown vocabulary values, ids past an identity column's buckets, zero and negative weights."""
    return {
        "age": rng.uniform(10, 90, (n, 1)).astype(np.float32),
        "hours": rng.uniform(0, 80, (n, 2)).astype(np.float32),
        "count": rng.integers(0, 9, (n, 1)).astype(np.int64),
        "education": rng.choice(EDUCATION + ["", "Unknown-grade"], (n, 1)).astype(object),
        "tags": rng.choice(["a", "b", "c", "d", "", "zz"], (n, 3)).astype(object),
        "tag_weight": rng.choice([0.0, 0.5, 1.0, 2.0, -1.0], (n, 3)).astype(np.float32),
        "shop": rng.integers(-1, 12, (n, 2)),
        "code": rng.choice([-1, 3, 7, 11, 20], (n, 2)).astype(np.int64),
        "region": rng.integers(-1, 6, (n, 1)),
    }


FEATURES = _features()
LABELS = (FEATURES["age"][:, 0] > 40).astype(np.int64)


def _columns():
    age = fc.numeric_column("age")
    hours = fc.numeric_column("hours", shape=(2,), normalizer_fn=lambda x: x / 40.0)
    count = fc.numeric_column("count", dtype=torch.int64)
    education = fc.categorical_column_with_vocabulary_list("education", EDUCATION)
    tags = fc.categorical_column_with_vocabulary_list("tags", ["a", "b", "c", "d"], default_value=0)
    weighted = fc.weighted_categorical_column(tags, "tag_weight")
    shop = fc.categorical_column_with_identity("shop", 10, default_value=0)
    code = fc.categorical_column_with_vocabulary_list("code", [3, 7, 11], dtype=torch.int64)
    region = fc.categorical_column_with_identity("region", 10)
    shared = fc.shared_embeddings([shop, region], 3, combiner="sqrtn")
    wide = [
        fc.bucketized_column(age, [20, 30, 40, 50, 60]),
        fc.bucketized_column(fc.numeric_column("hours", shape=(2,)), [10.0, 40.0]),
        education,
        weighted,
        shop,
        code,
        count,
        fc.indicator_column(region),
    ]
    deep = [
        age,
        hours,
        count,
        fc.bucketized_column(age, [20, 30, 40, 50, 60]),
        fc.indicator_column(education),
        fc.indicator_column(weighted),
        fc.embedding_column(tags, 4, combiner="mean"),
        fc.embedding_column(code, 2, combiner="sum", max_norm=0.5),
        *shared,
    ]
    return wide, deep


def _trained(estimator, features=FEATURES, labels=LABELS):
    estimator.train(te.inputs.numpy_input_fn(features, labels, batch_size=32, num_epochs=None, shuffle=True), steps=8)
    return estimator


def _export(estimator, tmp_path, columns) -> str:
    receiver = te.export.build_parsing_serving_input_receiver_fn(fc.make_parse_example_spec(columns))
    return estimator.export_saved_model(str(tmp_path / "export"), receiver).decode()


def _predict(estimator, features) -> dict[str, np.ndarray]:
    n = len(next(iter(features.values())))
    out = list(estimator.predict(te.inputs.numpy_input_fn(features, batch_size=n, shuffle=False)))
    return {k: np.stack([row[k] for row in out]) for k in out[0]}


def _run(path: str, features) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(os.path.join(path, "standalone.onnx"), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    inputs = {i.name: features[i.name] for i in session.get_inputs()}
    return dict(zip(names, session.run(names, inputs)))


def _assert_same(got, want) -> None:
    for key, expected in want.items():
        value = got[key]
        if expected.dtype == object:
            assert [v.decode() for v in expected.reshape(-1)] == value.reshape(-1).tolist(), key
        else:
            assert value.shape == expected.shape, key
            np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-5, err_msg=key)


ESTIMATORS = {
    "wide_deep_classifier": lambda d, wide, deep: te.DNNLinearCombinedClassifier(
        model_dir=d,
        linear_feature_columns=wide,
        dnn_feature_columns=deep,
        dnn_hidden_units=[8, 4],
        n_classes=3,
        label_vocabulary=["low", "mid", "high"],
    ),
    "linear_regressor_mean": lambda d, wide, deep: te.LinearRegressor(wide, model_dir=d, sparse_combiner="mean"),
    "linear_classifier_sqrtn": lambda d, wide, deep: te.LinearClassifier(wide, model_dir=d, sparse_combiner="sqrtn"),
    "dnn_regressor": lambda d, wide, deep: te.DNNRegressor([6], deep, model_dir=d, label_dimension=2),
}
LABELS_FOR = {
    "wide_deep_classifier": np.array(["low", "mid", "high"], dtype=object)[
        np.digitize(FEATURES["age"][:, 0], [30, 60])
    ],
    "linear_regressor_mean": FEATURES["age"][:, 0] / 90.0,
    "dnn_regressor": np.stack([FEATURES["age"][:, 0] / 90.0, FEATURES["hours"][:, 0] / 80.0], axis=1),
}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_the_standalone_model_predicts_what_predict_does(tmp_path, name):
    wide, deep = _columns()
    estimator = _trained(ESTIMATORS[name](str(tmp_path / "model"), wide, deep), labels=LABELS_FOR.get(name, LABELS))
    path = _export(estimator, tmp_path, wide + deep)
    document = json.load(open(os.path.join(path, "saved_model.json")))
    entry = document["standalone"]
    assert entry["file"] == "standalone.onnx", entry
    assert "standalone.onnx" in document["files"]
    fresh = _features(200, np.random.default_rng(11))  # rows the export never saw
    _assert_same(_run(path, fresh), _predict(estimator, fresh))
    served = te.saved_model.load(path).run_features(fresh)  # the export's own runtime agrees too
    _assert_same(_run(path, fresh), {k: v for k, v in served.items() if k in _run(path, fresh)})


def test_inputs_and_outputs_are_documented_and_the_model_runs_without_torch_estimator(tmp_path):
    wide, deep = _columns()
    estimator = _trained(
        ESTIMATORS["wide_deep_classifier"](str(tmp_path / "m"), wide, deep), labels=LABELS_FOR["wide_deep_classifier"]
    )
    path = _export(estimator, tmp_path, wide + deep)
    entry = json.load(open(os.path.join(path, "saved_model.json")))["standalone"]
    inputs = {i["name"]: i for i in entry["inputs"]}
    assert sorted(inputs) == sorted(FEATURES)
    assert inputs["education"] == {"name": "education", "dtype": "string", "shape": ["batch", "education_n"]}
    assert inputs["hours"] == {"name": "hours", "dtype": "float32", "shape": ["batch", 2]}
    assert inputs["count"]["dtype"] == "int64" and inputs["code"]["dtype"] == "int64"
    assert {o["name"] for o in entry["outputs"]} >= {"logits", "probabilities", "classes", "class_ids"}
    features = _features(8, np.random.default_rng(3))
    np.savez(tmp_path / "features.npz", **{k: v.astype(str) if v.dtype == object else v for k, v in features.items()})
    script = textwrap.dedent(
        """
        import json, sys
        import numpy as np, onnxruntime as ort
        data = np.load(sys.argv[2])
        session = ort.InferenceSession(sys.argv[1])
        feed = {i.name: data[i.name].astype(object) if data[i.name].dtype.kind == "U" else data[i.name]
                for i in session.get_inputs()}
        classes, probabilities = session.run(["classes", "probabilities"], feed)
        print(json.dumps({"classes": classes.tolist(), "probabilities": probabilities.tolist(),
                          "torch_estimator": "torch_estimator" in sys.modules, "torch": "torch" in sys.modules}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script, os.path.join(path, "standalone.onnx"), str(tmp_path / "features.npz")],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result = json.loads(out.stdout)
    assert not result["torch_estimator"] and not result["torch"]
    want = _predict(estimator, features)
    assert result["classes"] == [[c.decode()] for c in want["classes"][:, 0]]
    np.testing.assert_allclose(result["probabilities"], want["probabilities"], rtol=1e-5, atol=1e-6)


def test_hashed_and_crossed_columns_block_the_standalone_model_and_are_named(tmp_path):
    education = fc.categorical_column_with_vocabulary_list("education", EDUCATION)
    tags = fc.categorical_column_with_hash_bucket("tags", 20)
    oov = fc.categorical_column_with_vocabulary_list("code", [3, 7], dtype=torch.int64, num_oov_buckets=2)
    columns = [education, tags, oov, fc.crossed_column(["education", "tags"], 30)]
    estimator = _trained(te.LinearClassifier(columns, model_dir=str(tmp_path / "m")))
    path = _export(estimator, tmp_path, columns)
    document = json.load(open(os.path.join(path, "saved_model.json")))
    blocked = document["standalone"]["blocked_by"]
    assert document["standalone"]["file"] is None
    assert not os.path.exists(os.path.join(path, "standalone.onnx"))
    text = " | ".join(blocked)
    assert "'tags' (HashedColumn)" in text and "'code' (VocabularyColumn)" in text and "OOV" in text
    assert "'education_X_tags' (CrossedColumn)" in text
    assert "'education'" not in text  # a plain vocabulary column does not block it
    assert te.saved_model.load(path).run_features({k: FEATURES[k][:4] for k in ("education", "tags", "code")})


def test_ids_past_an_identity_column_fail_as_in_predict(tmp_path):
    region = fc.categorical_column_with_identity("region", 6)
    columns = [region, fc.categorical_column_with_identity("shop", 10, default_value=0)]
    estimator = _trained(te.LinearClassifier(columns, model_dir=str(tmp_path / "m")))
    path = _export(estimator, tmp_path, columns)
    bad = {"region": np.array([[1], [6]]), "shop": np.array([[1, 2], [3, 4]])}
    with pytest.raises(ValueError, match="not in \\[0, 6\\)"):
        _predict(estimator, bad)
    with pytest.raises(Exception, match="out of"):
        _run(path, bad)  # the fused table's next rows are not read instead


def test_a_large_embedding_table_takes_the_bag_without_rows(tmp_path):
    user = fc.categorical_column_with_identity("user", 60_000)
    columns = [fc.embedding_column(user, 2, combiner="sum"), fc.numeric_column("age")]
    features = {"user": RNG.integers(-1, 60_000, (N, 2)), "age": FEATURES["age"]}
    estimator = _trained(te.DNNClassifier([4], columns, model_dir=str(tmp_path / "m")), features)
    path = _export(estimator, tmp_path, [user, fc.numeric_column("age")])
    inputs = json.load(open(os.path.join(path, "saved_model.json")))["host_inputs"]
    assert not any(k.endswith("/rows") for layer in inputs for k in layer)
    _assert_same(_run(path, features), _predict(estimator, features))
