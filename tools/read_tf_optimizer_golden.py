"""Read golden optimizer trajectories (keras legacy Ftrl and Adagrad) off real TensorFlow.

This is a developer tool, NOT part of the package: TensorFlow is never a
dependency of torch_estimator.  Run it by hand with an interpreter that has
tensorflow 2.15 (+ keras 2.15) installed, e.g.

    /tmp/tf215/bin/python tools/read_tf_optimizer_golden.py

It writes ``tests/golden/optimizers.json`` (path overridable with ``--out``).

Everything is deterministic: the initial values and gradients are drawn once from
``numpy.random.RandomState`` with fixed seeds and stored in the JSON, so consumers never
regenerate them.  Every case starts a fresh ``tf.keras.optimizers.legacy.<Optimizer>`` on a
fresh ``tf.Variable`` (float32, as TF's canned estimators use) and records, after every one
of the ``STEPS`` ``apply_gradients`` calls, the variable and all its slots.

Inputs (``inputs`` in the JSON):
  * ``dense``: variable [5, 3], 20 dense gradients with about 20 % exact zeros (so the
    "zero gradient" branches of the kernels are exercised);
  * ``sparse``: variable [5, 3], 20 ``tf.IndexedSlices`` gradients touching 1-3 rows each,
    some with a duplicated row (keras sums duplicates before the sparse kernel);
  * ``sparse_1d``: variable [6] with ``IndexedSlices`` gradients (TF's sparse FTRL kernel
    takes its scalar code path when the rows have a single element).

Every case is run twice, with a float32 variable (as TF's canned estimators use) and with a
float64 one (``trajectory.float32`` / ``trajectory.float64``).  In float32 the ``linear`` slot
of FTRL reaches hundreds at small learning rates, so its float32 rounding noise is ~1e-4 in
absolute terms; the float64 run pins the math down to ~1e-12.  keras keeps hyper-parameters
in float32 variables and casts them to the variable's dtype, so the float64 run uses the
float32-rounded hyper-parameters recorded in ``hyper_parameters`` (e.g. learning_rate
0.001 -> 0.0010000000474974513).  Ftrl's ``l2_shrinkage_regularization_strength`` goes
through ``tf.cast(<python float>, dtype)``, i.e. a float32 tensor, so it is float32-rounded
as well (0.05 -> 0.05000000074505806); ``initial_accumulator_value`` (and Adagrad's epsilon)
are cast directly.

float32 values are written as JSON numbers in their shortest round-trip form
(``float(str(np.float32(x)))``, so casting them back to float32 is exact); float64 values
with 13 significant digits.  Inputs are float32 values (cast exactly for the float64 run).

The JSON also records, per optimizer, the names keras checkpoints (hyper-parameter variables,
``iter`` and slot names) and the ValueError messages of bad constructor arguments.
"""

import argparse
import importlib.metadata
import json
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

tf.get_logger().setLevel("ERROR")

STEPS = 20
SHAPE = (5, 3)
SEED = 20240611

Ftrl = tf.keras.optimizers.legacy.Ftrl
Adagrad = tf.keras.optimizers.legacy.Adagrad

# (name, optimizer, kwargs, inputs)
CASES = [
    ("ftrl_defaults", "Ftrl", {}, "dense"),
    ("ftrl_l1_l2", "Ftrl", {"l1_regularization_strength": 0.01, "l2_regularization_strength": 0.02}, "dense"),
    ("ftrl_l2_shrinkage", "Ftrl", {"l2_shrinkage_regularization_strength": 0.05}, "dense"),
    ("ftrl_beta", "Ftrl", {"beta": 0.3}, "dense"),
    ("ftrl_power_-0.3", "Ftrl", {"learning_rate_power": -0.3, "initial_accumulator_value": 0.5}, "dense"),
    ("ftrl_lr_0.2", "Ftrl", {"learning_rate": 0.2}, "dense"),
    ("ftrl_power_0", "Ftrl", {"learning_rate": 0.05, "learning_rate_power": 0.0}, "dense"),
    # lr 0.2 makes |z| cross a large l1 often, so both branches of the proximal step occur.
    (
        "ftrl_all",
        "Ftrl",
        {
            "learning_rate": 0.2,
            "l1_regularization_strength": 0.5,
            "l2_regularization_strength": 0.1,
            "l2_shrinkage_regularization_strength": 0.05,
            "beta": 0.1,
        },
        "dense",
    ),
    # accumulator 0 + zero gradient: n_new = 0 and q = 0; TF's select yields w = 0, not NaN.
    ("ftrl_zero_accumulator", "Ftrl", {"learning_rate": 0.1, "initial_accumulator_value": 0.0}, "dense"),
    ("adagrad_defaults", "Adagrad", {}, "dense"),
    ("adagrad_lr_0.1", "Adagrad", {"learning_rate": 0.1}, "dense"),
    ("ftrl_sparse", "Ftrl", {"learning_rate": 0.2}, "sparse"),
    (
        "ftrl_sparse_all",
        "Ftrl",
        {
            "learning_rate": 0.2,
            "l1_regularization_strength": 0.5,
            "l2_regularization_strength": 0.1,
            "l2_shrinkage_regularization_strength": 0.05,
            "beta": 0.1,
        },
        "sparse",
    ),
    ("ftrl_sparse_1d", "Ftrl", {"learning_rate": 0.2, "l2_shrinkage_regularization_strength": 0.05}, "sparse_1d"),
    ("ftrl_sparse_1d_power_-0.3", "Ftrl", {"learning_rate": 0.2, "learning_rate_power": -0.3}, "sparse_1d"),
    ("adagrad_sparse", "Adagrad", {"learning_rate": 0.1}, "sparse"),
]

BAD_ARGUMENTS = [
    {"initial_accumulator_value": -0.1},
    {"learning_rate_power": 0.5},
    {"l1_regularization_strength": -1.0},
    {"l2_regularization_strength": -0.5},
    {"l2_shrinkage_regularization_strength": -2.0},
]


def f32(x):
    """Nested lists of float32 values in their shortest round-trip decimal form."""
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim == 0:
        return float(str(np.float32(arr)))
    return [f32(a) for a in arr]


def make_inputs():
    rng = np.random.RandomState(SEED)
    dense_init = rng.uniform(-0.5, 0.5, size=SHAPE).astype(np.float32)
    dense_grads = rng.normal(size=(STEPS,) + SHAPE).astype(np.float32)
    dense_grads[rng.uniform(size=dense_grads.shape) < 0.2] = 0.0
    # Entry [0, 0] gets a zero gradient on the first 3 steps (accumulator stays at its initial
    # value; with initial_accumulator_value=0 this is the q = 0 case).
    dense_grads[:3, 0, 0] = 0.0

    def sparse(shape):
        init = rng.uniform(-0.5, 0.5, size=shape).astype(np.float32)
        grads = []
        for step in range(STEPS):
            k = rng.randint(1, 4)
            rows = rng.choice(shape[0], size=k, replace=False)
            if step % 5 == 2:  # a duplicated row: keras sums the two before the update
                rows = np.concatenate([rows, rows[:1]])
            values = rng.normal(size=(len(rows),) + tuple(shape[1:])).astype(np.float32)
            grads.append({"indices": [int(r) for r in rows], "values": f32(values)})
        return {"initial": f32(init), "grads": grads}

    return {
        "dense": {"initial": f32(dense_init), "grads": f32(dense_grads)},
        "sparse": sparse(SHAPE),
        "sparse_1d": sparse((6,)),
    }


def f64(x):
    """Nested lists of float64 values rounded to 13 significant digits (plenty for 1e-10)."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0:
        return float(f"{float(arr):.13g}")
    return [f64(a) for a in arr]


def run_case(optimizer, kwargs, inputs, dtype):
    """Runs one case with a variable of ``dtype``; returns {'var': [...], <slot>: [...]}."""
    opt = {"Ftrl": Ftrl, "Adagrad": Adagrad}[optimizer](**kwargs)
    np_dtype = np.dtype(dtype.as_numpy_dtype)
    fmt = f32 if np_dtype == np.float32 else f64
    init = np.asarray(inputs["initial"], np.float32).astype(np_dtype)
    var = tf.Variable(init, name="w", dtype=dtype)
    trajectory = {"var": []}
    for grad in inputs["grads"]:
        if isinstance(grad, dict):
            g = tf.IndexedSlices(
                tf.constant(np.asarray(grad["values"], np.float32).astype(np_dtype)),
                tf.constant(grad["indices"], tf.int64),
                tf.constant(init.shape, tf.int64),
            )
        else:
            g = tf.constant(np.asarray(grad, np.float32).astype(np_dtype))
        opt.apply_gradients([(g, var)])
        trajectory["var"].append(fmt(var.numpy()))
        for slot in opt.get_slot_names():
            trajectory.setdefault(slot, []).append(fmt(opt.get_slot(var, slot).numpy()))
    # keras keeps hyper-parameters in float32 variables and casts them to the variable's
    # dtype, so even the float64 run uses float32-rounded learning rates etc.
    hyper = {k: f32(tf.keras.backend.get_value(opt._get_hyper(k))) for k in sorted(opt._hyper)}
    return trajectory, hyper


def checkpoint_names(optimizer, kwargs, tmpdir):
    opt = {"Ftrl": Ftrl, "Adagrad": Adagrad}[optimizer](**kwargs)
    var = tf.Variable(np.ones(SHAPE, np.float32), name="w")
    opt.apply_gradients([(tf.ones(SHAPE), var)])
    path = tf.train.Checkpoint(optimizer=opt, w=var).save(os.path.join(tmpdir, optimizer))
    names = [n for n, _ in tf.train.list_variables(path)]
    prefix, slot_prefix = "optimizer/", "w/.OPTIMIZER_SLOT/optimizer/"
    suffix = "/.ATTRIBUTES/VARIABLE_VALUE"
    return {
        "non_slot": sorted(n[len(prefix) : -len(suffix)] for n in names if n.startswith(prefix)),
        "slots": sorted(n[len(slot_prefix) : -len(suffix)] for n in names if n.startswith(slot_prefix)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "tests", "golden", "optimizers.json"))
    args = parser.parse_args()

    inputs = make_inputs()
    cases = []
    for name, optimizer, kwargs, which in CASES:
        trajectory32, hyper = run_case(optimizer, kwargs, inputs[which], tf.float32)
        trajectory64, _ = run_case(optimizer, kwargs, inputs[which], tf.float64)
        cases.append(
            {
                "name": name,
                "optimizer": optimizer,
                "kwargs": kwargs,
                "inputs": which,
                "hyper_parameters": hyper,
                "trajectory": {"float32": trajectory32, "float64": trajectory64},
            }
        )

    with tempfile.TemporaryDirectory() as tmp:
        names = {
            "Ftrl": checkpoint_names("Ftrl", {"l2_shrinkage_regularization_strength": 0.1}, tmp),
            "Adagrad": checkpoint_names("Adagrad", {}, tmp),
        }

    errors = []
    for bad in BAD_ARGUMENTS:
        try:
            Ftrl(**bad)
        except ValueError as e:
            errors.append({"optimizer": "Ftrl", "kwargs": bad, "type": type(e).__name__, "message": str(e)})
        else:
            raise AssertionError(f"no error for {bad}")

    out = {
        "generator": {
            "tool": "tools/read_tf_optimizer_golden.py",
            "tensorflow": tf.__version__,
            "keras": importlib.metadata.version("keras"),
            "steps": STEPS,
            "seed": SEED,
        },
        "inputs": inputs,
        "cases": cases,
        "checkpoint_names": names,
        "errors": errors,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {args.out}: {len(cases)} cases, {os.path.getsize(args.out)} bytes")


if __name__ == "__main__":
    main()
