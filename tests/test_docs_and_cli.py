"""The README quickstart runs as written, and the census command trains a useful model."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np

import torch_estimator as te
from torch_estimator.datasets import load_census

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run_readme_snippet(heading: str, model_dir: str, new_dir: str, namespace: dict | None = None) -> dict:
    """Runs the first Python block after ``heading`` in the README, with ``model_dir`` replaced."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    code = re.search(re.escape(heading) + r".*?```python\n(.*?)```", readme, re.S).group(1)
    namespace = {} if namespace is None else namespace
    exec(compile(code.replace(repr(model_dir).replace("'", '"'), repr(new_dir)), "README.md", "exec"), namespace)
    return namespace


def test_readme_quickstart_runs(tmp_path, capsys):
    namespace = _run_readme_snippet(
        "## Quickstart: a custom model_fn with a head", "/tmp/quickstart", str(tmp_path / "quickstart")
    )
    estimator = namespace["estimator"]
    assert estimator.get_variable_value("global_step") == 500
    assert "'prediction/mean'" in capsys.readouterr().out


def test_readme_wide_and_deep_quickstart_and_export_run(tmp_path, capsys):
    namespace = _run_readme_snippet("## Quickstart: wide & deep", "/tmp/census_wide_deep", str(tmp_path / "wd"))
    _run_readme_snippet("## Export and serve", "/tmp/census_export", str(tmp_path / "export"), namespace)
    assert os.path.dirname(namespace["export_dir"]) == str(tmp_path / "export").encode()
    out = capsys.readouterr().out
    assert "['classification', 'predict', 'regression', 'serving_default']" in out
    accuracy = float(re.search(r"'accuracy': np.float32\(([0-9.]+)\)", out).group(1))
    baseline = float(re.search(r"'accuracy_baseline': np.float32\(([0-9.]+)\)", out).group(1))
    assert accuracy > baseline + 0.02, out  # better than always predicting the majority class
    assert "dnn/hiddenlayer_0/bias" in out
    standalone = _run_readme_snippet(
        "### A standalone ONNX model", "/tmp/census_standalone", str(tmp_path / "standalone"), namespace
    )
    features = {"age": np.array([39.0, 52.0], np.float32), "education": np.array(["Bachelors", "Doctorate"], object)}
    predicted = list(standalone["small"].predict(te.inputs.numpy_input_fn(features, batch_size=2, shuffle=False)))
    assert standalone["classes"].tolist() == [[p["classes"][0].decode()] for p in predicted]
    np.testing.assert_allclose(standalone["probabilities"], [p["probabilities"] for p in predicted], rtol=1e-5)


def test_census_data_is_shipped():
    train, test = load_census("train"), load_census("test")
    assert train.shape == (32561, 15) and test.shape == (16281, 15)
    assert (train["class"] == ">50K").sum() == 7841 and (test["class"] == ">50K").sum() == 3846


def test_census_command_trains_wide_and_deep_to_target_quality(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "torch_estimator", "--quiet", "census", "--model_dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    accuracy = float(re.search(r"\n  accuracy\s+([0-9.]+)", out).group(1))
    auc = float(re.search(r"\n  auc\s+([0-9.]+)", out).group(1))
    # Measured over seeds 0-9 with 1 and 2 threads: accuracy 0.8560-0.8610 (mean 0.8588),
    # AUC 0.9106-0.9125 (mean 0.9115); the bars sit 5 (accuracy) and 10 (AUC) standard deviations
    # below the mean, so another platform's float order cannot cross them.
    assert accuracy >= 0.85 and auc >= 0.905, out
    assert (
        "dnn/hiddenlayer_3/kernel" in te.Estimator(lambda features: None, model_dir=str(tmp_path)).get_variable_names()
    )
    export_dir = re.search(r"Exported a servable model to (\S+)", out).group(1)
    assert os.path.dirname(export_dir) == str(tmp_path / "export" / "census")
    assert sorted(te.saved_model.load(export_dir).signatures) == [
        "classification",
        "predict",
        "regression",
        "serving_default",
    ]


def test_custom_model_fn_head_example_runs(capsys):
    import runpy

    module = runpy.run_path(os.path.join(ROOT, "examples", "custom_model_fn_head.py"))
    module["main"]()
    out = capsys.readouterr().out
    assert "'prediction/mean'" in out and "'global_step': 509" in out
