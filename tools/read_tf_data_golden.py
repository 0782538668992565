"""Reads the elements of the pipelines in tests/data_pipelines.py off TensorFlow 2.15's tf.data into
tests/golden/data_pipelines.json, and TextLineDataset / decode_csv / make_csv_dataset / TFRecord
behaviour into tests/golden/data_files.json.

Run with an interpreter that has tensorflow 2.15: /tmp/tf215/bin/python tools/read_tf_data_golden.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import data_pipelines  # noqa: E402

OUT = os.path.join(HERE, "..", "tests", "golden")


def _plain(value: Any) -> Any:
    """An element as JSON: dicts and tuples kept apart (``{"tuple": [...]}``), arrays as lists."""
    if isinstance(value, dict):
        return {"dict": {k: _plain(v) for k, v in value.items()}}
    if isinstance(value, tuple):
        return {"tuple": [_plain(v) for v in value]}
    array = np.asarray(value)
    if array.dtype.kind in "SO":
        array = np.vectorize(lambda b: b.decode())(array) if array.size else array.astype(str)
    return {"array": array.tolist(), "dtype": str(array.dtype) if array.dtype.kind != "U" else "str"}


def _spec(shape: Any, dtype: str) -> tf.TensorSpec:
    return tf.TensorSpec(shape=shape, dtype=getattr(tf, dtype))


def pipelines() -> dict:
    out = {}
    for name in data_pipelines.PIPELINES:
        ds = data_pipelines.build(tf.data, _spec, name)
        out[name] = [_plain(e) for e in ds.as_numpy_iterator()]
    return out


CSV = 'age,name,score,flag\n39,ann,1.5,1\n,bob,,0\n25,"c,d",3.25,1\n41,,0.5,\n'
FULL_CSV = 'age,name,score,flag\n39,ann,1.5,1\n7,bob,2,0\n25,"c,d",3.25,1\n41,eve,0.5,1\n30,x y,-1e3,0\n'


def files() -> dict:
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "data.csv")
    with open(path, "w") as f:
        f.write(CSV)
    out: dict = {"csv": CSV}
    lines = tf.data.TextLineDataset(path).skip(1)
    out["text_lines"] = [line.decode() for line in lines.as_numpy_iterator()]
    defaults = [[0], ["?"], [0.0], [0]]
    decoded = lines.map(lambda line: tf.io.decode_csv(line, record_defaults=defaults)).batch(10)
    out["decode_csv"] = [_plain(tuple(e)) for e in decoded.as_numpy_iterator()]
    errors = {}
    for name, defaults_case, line in (
        ("too_many", [[0], [""]], "1,2,3"),
        ("too_few", [[0], [""], [0.0]], "1,a"),
        ("bad_int", [[0], [""]], "x,a"),
        ("missing_required", [tf.constant([], tf.int32), [""]], ",a"),
    ):
        try:
            tf.io.decode_csv(tf.constant(line), record_defaults=defaults_case)
            errors[name] = None
        except Exception as e:  # noqa: BLE001 - recording what TF raises
            errors[name] = {"type": type(e).__name__, "message": str(e).split("[Op:")[0].strip()}
    out["decode_csv_errors"] = errors
    full = os.path.join(tmp, "full.csv")
    with open(full, "w") as f:
        f.write(FULL_CSV)
    out["full_csv"] = FULL_CSV
    made = tf.data.experimental.make_csv_dataset(full, batch_size=2, label_name="score", shuffle=False, num_epochs=1)
    out["make_csv_dataset"] = [_plain(e) for e in made.as_numpy_iterator()]
    try:  # inferred column types make every field required
        list(tf.data.experimental.make_csv_dataset(path, batch_size=2, shuffle=False, num_epochs=1))
        out["make_csv_dataset_missing"] = None
    except Exception as e:  # noqa: BLE001 - recording what TF raises
        out["make_csv_dataset_missing"] = {"type": type(e).__name__, "message": str(e).split("[Op:")[0].strip()}
    selected = tf.data.experimental.make_csv_dataset(
        full, batch_size=3, select_columns=["age", "flag"], column_defaults=[-1, 9], shuffle=False, num_epochs=2
    )
    out["make_csv_dataset_select"] = [_plain(e) for e in selected.as_numpy_iterator()]
    # TFRecord of tf.train.Example
    record = os.path.join(tmp, "data.tfrecord")
    with tf.io.TFRecordWriter(record) as writer:
        for i in range(3):
            example = tf.train.Example(
                features=tf.train.Features(
                    feature={
                        "x": tf.train.Feature(float_list=tf.train.FloatList(value=[i * 0.5, 1.0])),
                        "id": tf.train.Feature(int64_list=tf.train.Int64List(value=[i])),
                        "w": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"a" * (i + 1)])),
                    }
                )
            )
            writer.write(example.SerializeToString())
    with open(record, "rb") as f:
        out["tfrecord_bytes"] = f.read().hex()
    spec = {
        "x": tf.io.FixedLenFeature([2], tf.float32),
        "id": tf.io.FixedLenFeature([], tf.int64),
        "w": tf.io.FixedLenFeature([], tf.string),
    }
    parsed = tf.data.TFRecordDataset(record).batch(2).map(lambda s: tf.io.parse_example(s, spec))
    out["tfrecord_parsed"] = [_plain(e) for e in parsed.as_numpy_iterator()]
    single = tf.data.TFRecordDataset(record).map(lambda s: tf.io.parse_single_example(s, spec))
    out["tfrecord_single"] = [_plain(e) for e in single.as_numpy_iterator()]
    return out


def main() -> None:
    with open(os.path.join(OUT, "data_pipelines.json"), "w") as f:
        json.dump({"tensorflow": tf.__version__, "pipelines": pipelines()}, f, indent=None)
    with open(os.path.join(OUT, "data_files.json"), "w") as f:
        json.dump({"tensorflow": tf.__version__, **files()}, f, indent=1)
    print("wrote data_pipelines.json and data_files.json")


if __name__ == "__main__":
    main()
