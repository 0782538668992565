"""Reads learning-rate schedule values off TensorFlow 2.15 into tests/golden/schedules.json.

Run with an interpreter that has tensorflow 2.15 (never a project dependency):
    /tmp/tf215/bin/python tools/read_tf_schedule_golden.py

Each case: the TF1 function (``tf.compat.v1.train.<name>``) or Keras schedule class
(``tf.keras.optimizers.schedules.<name>``), its arguments, and its value at each of STEPS.
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

STEPS = [0, 1, 5, 10, 99, 100, 101, 250, 999, 1000, 1001, 5000]
V1 = tf.compat.v1.train
KERAS = tf.keras.optimizers.schedules

FUNCTIONS = [
    ("exponential_decay", dict(learning_rate=0.1, decay_steps=100, decay_rate=0.96)),
    ("exponential_decay", dict(learning_rate=0.1, decay_steps=100, decay_rate=0.5, staircase=True)),
    ("natural_exp_decay", dict(learning_rate=0.1, decay_steps=100, decay_rate=0.5)),
    ("natural_exp_decay", dict(learning_rate=0.1, decay_steps=100, decay_rate=0.5, staircase=True)),
    ("inverse_time_decay", dict(learning_rate=0.1, decay_steps=100, decay_rate=0.5)),
    ("inverse_time_decay", dict(learning_rate=0.1, decay_steps=100, decay_rate=0.5, staircase=True)),
    ("polynomial_decay", dict(learning_rate=0.1, decay_steps=1000)),
    ("polynomial_decay", dict(learning_rate=0.1, decay_steps=100, end_learning_rate=0.01, power=2.0, cycle=True)),
    ("cosine_decay", dict(learning_rate=0.1, decay_steps=1000)),
    ("cosine_decay", dict(learning_rate=0.1, decay_steps=1000, alpha=0.1)),
    ("piecewise_constant", dict(boundaries=[10, 100, 1000], values=[1.0, 0.5, 0.1, 0.01])),
]
CLASSES = [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=100, decay_rate=0.96)),
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=100, decay_rate=0.5, staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[10, 100, 1000], values=[1.0, 0.5, 0.1, 0.01])),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=1000)),
    (
        "PolynomialDecay",
        dict(initial_learning_rate=0.1, decay_steps=100, end_learning_rate=0.01, power=0.5, cycle=True),
    ),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=1000, alpha=0.2)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=100, decay_rate=0.5)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=100, decay_rate=0.5, staircase=True)),
]


def main() -> None:
    cases = []
    for name, kwargs in FUNCTIONS:
        values = []
        for step in STEPS:
            step_tensor = tf.constant(step, tf.int64)
            if name == "piecewise_constant":
                value = V1.piecewise_constant(step_tensor, **kwargs)
            else:
                value = getattr(V1, name)(global_step=step_tensor, **kwargs)
            values.append(float(value() if callable(value) else value))
        cases.append({"kind": "function", "name": name, "kwargs": kwargs, "values": values})
    for name, kwargs in CLASSES:
        schedule = getattr(KERAS, name)(**kwargs)
        values = [float(schedule(tf.constant(step, tf.int64))) for step in STEPS]
        cases.append({"kind": "class", "name": name, "kwargs": kwargs, "values": values})
    out = os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "schedules.json")
    with open(out, "w") as f:
        json.dump({"tensorflow": tf.__version__, "steps": STEPS, "cases": cases}, f, indent=1)
    print(f"wrote {len(cases)} cases to {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
