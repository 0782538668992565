"""Reads the public names of ``tf.estimator`` (and its ``export`` and ``experimental`` modules)
off TensorFlow 2.15 into tests/golden/tf_estimator_names.json.

Run with an interpreter that has tensorflow 2.15: /tmp/tf215/bin/python tools/read_tf_names.py
"""

from __future__ import annotations

import json
import os

import tensorflow as tf


def _names(module: object) -> list[str]:
    return sorted(n for n in dir(module) if not n.startswith("_"))


def main() -> None:
    names = {
        "estimator": _names(tf.estimator),
        "estimator.export": _names(tf.estimator.export),
        "estimator.experimental": _names(tf.estimator.experimental),
    }
    out = os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "tf_estimator_names.json")
    with open(out, "w") as f:
        json.dump({"tensorflow": tf.__version__, "names": names}, f, indent=1)
    print(f"wrote {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
