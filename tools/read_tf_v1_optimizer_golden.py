"""Reads ``tf.compat.v1.train`` optimizer trajectories off TensorFlow 2.15 into
tests/golden/v1_optimizers.json.

Run with an interpreter that has tensorflow 2.15: /tmp/tf215/bin/python tools/read_tf_v1_optimizer_golden.py

Each case: an optimizer class and its arguments, a float32 variable [4, 3] and 8 dense gradients
(random, fixed seed, some exact zeros), and the variable after each ``apply_gradients``.
"""

from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf

tf.compat.v1.disable_eager_execution()
T = tf.compat.v1.train
CASES = [
    ("GradientDescentOptimizer", {"learning_rate": 0.1}),
    ("MomentumOptimizer", {"learning_rate": 0.1, "momentum": 0.9}),
    ("MomentumOptimizer", {"learning_rate": 0.05, "momentum": 0.5, "use_nesterov": True}),
    ("AdagradOptimizer", {"learning_rate": 0.3}),
    ("AdagradOptimizer", {"learning_rate": 0.1, "initial_accumulator_value": 0.5}),
    ("AdamOptimizer", {}),
    ("AdamOptimizer", {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-4}),
    ("FtrlOptimizer", {"learning_rate": 0.2}),
    ("FtrlOptimizer", {"learning_rate": 0.1, "l1_regularization_strength": 0.01, "l2_regularization_strength": 0.02}),
    ("RMSPropOptimizer", {"learning_rate": 0.01}),
    ("RMSPropOptimizer", {"learning_rate": 0.01, "momentum": 0.9, "centered": True}),
]


def main() -> None:
    rng = np.random.default_rng(3)
    w0 = rng.normal(size=(4, 3)).astype(np.float32)
    grads = [(rng.normal(size=(4, 3)) * (rng.uniform(size=(4, 3)) > 0.2)).astype(np.float32) for _ in range(8)]
    cases = []
    for name, kwargs in CASES:
        graph = tf.Graph()
        with graph.as_default():
            var = tf.compat.v1.get_variable("w", initializer=w0)
            grad = tf.compat.v1.placeholder(tf.float32, shape=w0.shape)
            step = getattr(T, name)(**kwargs).apply_gradients([(grad, var)])
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.global_variables_initializer())
                trajectory = []
                for g in grads:
                    session.run(step, {grad: g})
                    trajectory.append(session.run(var).tolist())
        cases.append({"optimizer": name, "kwargs": kwargs, "trajectory": trajectory})
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "v1_optimizers.json")
    with open(path, "w") as f:
        json.dump(
            {"tensorflow": tf.__version__, "w0": w0.tolist(), "grads": [g.tolist() for g in grads], "cases": cases}, f
        )
    print(f"wrote {len(cases)} cases to {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
