"""Reads ``tf.compat.v1.layers`` convolution, pooling and flatten off TensorFlow 2.15 into
tests/golden/v1_layers.json.

Run with an interpreter that has tensorflow 2.15: /tmp/tf215/bin/python tools/read_tf_v1_layers_golden.py

Each case: a layer call with its arguments on a random channels-last input (fixed seed); the
variables it made (name, shape, initial value) and its output.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import tensorflow as tf

tf.compat.v1.disable_eager_execution()
L = tf.compat.v1.layers


def _cases() -> list[tuple[str, tuple[int, ...], dict[str, Any]]]:
    cases: list[tuple[str, tuple[int, ...], dict[str, Any]]] = []
    for extra in (
        {"filters": 4, "kernel_size": 3},
        {"filters": 4, "kernel_size": (3, 2), "padding": "same"},
        {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
        {"filters": 3, "kernel_size": 2, "strides": (2, 1), "padding": "valid", "activation": tf.nn.relu},
        {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "same", "use_bias": False},
        {"filters": 5, "kernel_size": 4, "strides": 3, "padding": "same", "name": "c1"},
    ):
        cases.append(("conv2d", (2, 7, 6, 3), extra))
    for extra in (
        {"filters": 4, "kernel_size": 3},
        {"filters": 4, "kernel_size": 2, "strides": 2, "padding": "same"},
        {"filters": 3, "kernel_size": 3, "dilation_rate": 2, "padding": "same", "activation": tf.nn.relu},
    ):
        cases.append(("conv1d", (2, 9, 3), extra))
    for fn in ("max_pooling2d", "average_pooling2d"):
        for extra in (
            {"pool_size": 2, "strides": 2},
            {"pool_size": 3, "strides": 2, "padding": "same"},
            {"pool_size": (2, 3), "strides": (1, 2), "padding": "same"},
            {"pool_size": 3, "strides": 1},
        ):
            cases.append((fn, (2, 7, 6, 3), extra))
    for fn in ("max_pooling1d", "average_pooling1d"):
        for extra in ({"pool_size": 2, "strides": 2}, {"pool_size": 3, "strides": 2, "padding": "same"}):
            cases.append((fn, (2, 9, 3), extra))
    cases.append(("flatten", (2, 3, 4, 2), {}))
    return cases


def _json_args(extra: dict[str, Any]) -> dict[str, Any]:
    return {k: ("relu" if v is tf.nn.relu else list(v) if isinstance(v, tuple) else v) for k, v in extra.items()}


def main() -> None:
    rng = np.random.default_rng(0)
    out = []
    for fn, shape, extra in _cases():
        x = rng.normal(size=shape).astype(np.float32)
        graph = tf.Graph()
        with graph.as_default():
            tf.compat.v1.set_random_seed(1)
            y = getattr(L, fn)(tf.constant(x), **extra)
            variables = tf.compat.v1.global_variables()
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.global_variables_initializer())
                values = session.run(variables)
                output = session.run(y)
        out.append(
            {
                "fn": fn,
                "args": _json_args(extra),
                "input": x.tolist(),
                "variables": [
                    {"name": v.name.split(":")[0], "shape": list(val.shape), "value": val.tolist()}
                    for v, val in zip(variables, values)
                ],
                "output": output.tolist(),
            }
        )
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "v1_layers.json")
    with open(path, "w") as f:
        json.dump({"tensorflow": tf.__version__, "cases": out}, f)
    print(f"wrote {len(out)} cases to {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
