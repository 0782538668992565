"""te.saved_model.load on its own: signatures (their TensorInfos and calls), request values of
every accepted form, input validation errors naming the input, parsed features, and a
saved_model.json whose layers or columns are not what this package wrote."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import torch

import torch_estimator as te
from torch_estimator.export._schema import document_checksum
from torch_estimator.export.tfexample import encode_example

fc = te.feature_column
RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 2)).astype(np.float32)
N = RNG.integers(0, 4, 40).astype(np.int64)
COLOR = np.array(["red", "green", "blue"], dtype=object)[RNG.integers(0, 3, 40)]
LABELS = ((X[:, 0] > 0) | (COLOR == "red")).astype(np.float32)[:, None]
COLUMNS = [
    fc.numeric_column("x", shape=2),
    fc.indicator_column(fc.categorical_column_with_identity("n", 4)),
    fc.embedding_column(fc.categorical_column_with_vocabulary_list("color", ["red", "green", "blue"]), 2),
]


def _model_fn(features, labels, mode):
    logits = te.layers.dense(fc.DenseFeatures(COLUMNS)(features), 1, name="logits")
    return te.BinaryClassHead().create_estimator_spec(
        features, mode, logits, labels=labels, optimizer=te.optimizers.SGD(0.1)
    )


@pytest.fixture(scope="module")
def estimator(tmp_path_factory):
    est = te.Estimator(_model_fn, model_dir=str(tmp_path_factory.mktemp("model")))
    est.train(lambda: ({"x": X, "n": N, "color": COLOR}, LABELS), steps=3)
    return est


@pytest.fixture(scope="module")
def raw_export(estimator, tmp_path_factory):
    receiver = te.export.build_raw_serving_input_receiver_fn({"x": X[:2], "n": N[:2], "color": COLOR[:2]})
    return estimator.export_saved_model(str(tmp_path_factory.mktemp("raw")), receiver)


@pytest.fixture(scope="module")
def parsing_export(estimator, tmp_path_factory):
    receiver = te.export.build_parsing_serving_input_receiver_fn(fc.make_parse_example_spec(COLUMNS))
    return estimator.export_saved_model(str(tmp_path_factory.mktemp("parsing")), receiver).decode()


def _predicted(estimator, n=5):
    out = list(estimator.predict(lambda: {"x": X[:n], "n": N[:n], "color": COLOR[:n]}))
    return np.stack([r["logistic"] for r in out])


def test_load_takes_bytes_or_str_and_describes_its_signatures(raw_export):
    model = te.saved_model.load(raw_export)
    assert te.saved_model.load(raw_export.decode()).signatures.keys() == model.signatures.keys()
    assert repr(model) == f"SavedModel({raw_export.decode()!r}, signatures={sorted(model.signatures)})"
    assert model.tags == ["serve"]
    predict = model.signatures["predict"]
    assert predict.method_name == "tensorflow/serving/predict"
    assert {k: (v.dtype, v.shape, v.name) for k, v in predict.inputs.items()} == {
        "x": ("DT_FLOAT", (-1, 2), "x"),
        "n": ("DT_INT64", (-1,), "n"),
        "color": ("DT_STRING", (-1,), "color"),
    }
    assert predict.outputs["logistic"].dtype == "DT_FLOAT" and predict.outputs["logistic"].shape == (-1, 1)
    assert predict.outputs["classes"].dtype == "DT_STRING"
    assert predict.to_json()["inputs"]["x"]["tensor_shape"] == {
        "dim": [{"size": "-1", "name": ""}, {"size": "2", "name": ""}],
        "unknown_rank": False,
    }
    # A raw receiver of several tensors serves only predict signatures, as TF Serving would.
    assert sorted(model.signatures) == ["predict"]


def test_a_signature_call_gives_the_estimators_predictions(estimator, raw_export):
    predict = te.saved_model.load(raw_export).signatures["predict"]
    out = predict(x=X[:5], n=N[:5], color=COLOR[:5])
    np.testing.assert_allclose(out["logistic"], _predicted(estimator), atol=1e-6)
    assert out["classes"].dtype == object and set(out["classes"].reshape(-1)) <= {b"0", b"1"}
    # Lists, torch tensors, str and bytes are accepted as the receiver tensors' values.
    again = predict(x=torch.from_numpy(X[:5]), n=N[:5].tolist(), color=[c.encode() for c in COLOR[:5]])
    np.testing.assert_array_equal(again["logistic"], out["logistic"])
    assert isinstance(COLOR[0], str)  # the request's arrays are not changed


@pytest.mark.parametrize(
    "inputs, message",
    [
        (
            {"x": X[:3], "n": N[:3].astype(np.float64), "color": COLOR[:3]},
            "Input 'n' expects int64 values; got float64",
        ),
        ({"x": X[:3, 0], "n": N[:3], "color": COLOR[:3]}, r"Input 'x' must have shape \[\?, 2\]; got \[3\]"),
        ({"x": X[:3], "n": N[:3], "color": np.array([1, 2, 3])}, "Input 'color' expects strings; got 1"),
        ({"x": X[:3], "n": N[:3], "color": np.array(["a", "b"], dtype=object)}, "same batch size"),
        ({"x": X[:3].astype(str), "n": N[:3], "color": COLOR[:3]}, "Input 'x' expects float32 values"),
    ],
)
def test_bad_request_values_name_the_input(raw_export, inputs, message):
    predict = te.saved_model.load(raw_export).signatures["predict"]
    with pytest.raises(ValueError, match=message):
        predict(**inputs)


def test_parsing_receiver_features_and_classify_signature(estimator, parsing_export):
    model = te.saved_model.load(parsing_export)
    examples = np.array(
        [encode_example({"x": list(map(float, X[i])), "n": [int(N[i])], "color": [COLOR[i]]}) for i in range(5)],
        dtype=object,
    )
    features = model.features({"examples": examples})
    assert sorted(features) == ["color", "n", "x"]
    np.testing.assert_allclose(features["x"], X[:5])
    assert features["color"].to_lists() == [[c.encode()] for c in COLOR[:5]]
    classify = model.signatures["classification"]
    assert list(classify.inputs) == ["inputs"] and classify.method_name == "tensorflow/serving/classify"
    scores = classify(inputs=examples)["scores"]
    np.testing.assert_allclose(scores[:, 1:], _predicted(estimator), atol=1e-6)
    np.testing.assert_allclose(model.run_features(features)["logistic"], _predicted(estimator), atol=1e-6)


def _edited(export_dir: str, tmp_path, edit) -> str:
    """A copy of the export with ``edit`` applied to its saved_model.json (checksum recomputed)."""
    copy = shutil.copytree(export_dir, str(tmp_path / "copy"))
    path = os.path.join(copy, "saved_model.json")
    with open(path, encoding="utf-8") as f:
        document = json.load(f)
    edit(document)
    document["crc32c"] = document_checksum(document)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(document, f)
    return copy


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["layers"][0].update(layer="Conv2D"), "ValueError: unknown layer 'Conv2D'"),
        (
            lambda d: d["layers"][0]["columns"][0].update(type="SequenceColumn"),
            "Unknown feature column type 'SequenceColumn'",
        ),
        (lambda d: d["layers"][0].pop("columns"), "KeyError: 'columns'"),
    ],
)
def test_layers_this_package_did_not_write_are_malformed(raw_export, tmp_path, edit, message):
    copy = _edited(raw_export.decode(), tmp_path, edit)
    with pytest.raises(ValueError) as error:
        te.saved_model.load(copy)
    assert str(error.value).startswith(f"The export file {os.path.join(copy, 'saved_model.json')} is malformed: ")
    assert message in str(error.value)
