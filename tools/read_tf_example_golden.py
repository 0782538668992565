"""Read golden values for tf.train.Example and tf.io.parse_example off real TensorFlow.

This is a developer tool, NOT part of the package: TensorFlow is never a
dependency of torch_estimator.  Run it by hand with an interpreter that has
tensorflow 2.15 installed, e.g.

    /tmp/tf215/bin/python tools/read_tf_example_golden.py

It writes ``tests/golden/example_proto.json`` (path overridable with ``--out``).

Everything is deterministic (fixed seeds, fixed case tables).  Byte strings are
stored as hex everywhere (serialized protos, BytesList values, string outputs).

Recorded:
  * ``examples``: ``tf.train.Example`` protos built with the protobuf API, with
    their ``SerializeToString()`` and ``SerializeToString(deterministic=True)``
    bytes and the features read back (kind 'bytes' | 'float' | 'int64', or
    'none' for a Feature with no list set).
  * ``parse``: ``tf.io.parse_example`` over batches of those examples (and a
    seeded random batch) for a spec of FixedLenFeature (with and without
    defaults, shapes [], [1], [2], [2, 2]) and VarLenFeature (each dtype).
    FixedLen outputs are dense arrays; VarLen outputs are SparseTensor
    ``indices`` / ``values`` / ``dense_shape``.
  * ``wire``: hand-built serializations (unpacked repeated values, unknown
    fields, repeated map keys, ...) parsed both by ``tf.io.parse_example`` and
    by the protobuf ``tf.train.Example.FromString``; either may fail, and the
    error is recorded instead.
  * ``errors``: the exception type and text TF gives for bad specs and inputs.
    ``message`` drops the ``{{function_node ...}} `` prefix, the
    `` [Op:...]`` suffix and the ``NodeDef`` dump of eager op errors;
    ``raw_message`` is the full text.
"""

import argparse
import json
import os
import re
import struct

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")

SEED = 20240611
KINDS = {"bytes_list": "bytes", "float_list": "float", "int64_list": "int64"}


# --------------------------------------------------------------------------
# Building and reading protos
# --------------------------------------------------------------------------
def feature(kind, values=()):
    if kind == "bytes":
        values = [v.encode("utf-8") if isinstance(v, str) else v for v in values]
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
    if kind == "float":
        return tf.train.Feature(float_list=tf.train.FloatList(value=values))
    if kind == "int64":
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
    assert kind == "none"
    return tf.train.Feature()


def example(features):
    """``features``: name -> (kind, values); None for an Example with no features field."""
    if features is None:
        return tf.train.Example()
    return tf.train.Example(
        features=tf.train.Features(feature={k: feature(kind, v) for k, (kind, v) in features.items()})
    )


def values_json(kind, values):
    if kind == "bytes":
        return [bytes(v).hex() for v in values]
    if kind == "float":
        return [float(v) for v in values]
    return [int(v) for v in values]


def read_proto(ex):
    """name -> {'kind', 'values'} from a parsed tf.train.Example."""
    out = {}
    for name, f in ex.features.feature.items():
        which = f.WhichOneof("kind")
        if which is None:
            out[name] = {"kind": "none", "values": []}
        else:
            kind = KINDS[which]
            out[name] = {"kind": kind, "values": values_json(kind, getattr(f, which).value)}
    return dict(sorted(out.items()))


def error_record(ex):
    raw = str(ex)
    msg = re.sub(r"^\{\{function_node [^}]*\}\} ", "", raw)
    msg = re.sub(r" \[Op:[A-Za-z0-9]+\]$", "", msg)
    msg = msg.split("\n\t; NodeDef:")[0]
    return {"error_type": type(ex).__name__, "message": msg, "raw_message": raw}


def proto_decode(serialized):
    try:
        return {"features": read_proto(tf.train.Example.FromString(serialized))}
    except Exception as ex:  # pylint: disable=broad-except
        return error_record(ex)


# --------------------------------------------------------------------------
# Examples
# --------------------------------------------------------------------------
def census_like(rng):
    return {
        "age": ("int64", [int(rng.randint(17, 90))]),
        "workclass": ("bytes", [str(rng.choice(["Private", "Self-emp", "State-gov"]))]),
        "fnlwgt": ("float", [float(rng.uniform(1e4, 1e6))]),
        "education": ("bytes", ["Bachelors"]),
        "education_num": ("int64", [13]),
        "marital_status": ("bytes", ["Never-married"]),
        "occupation": ("bytes", ["Adm-clerical"]),
        "relationship": ("bytes", ["Not-in-family"]),
        "race": ("bytes", ["White"]),
        "gender": ("bytes", ["Male"]),
        "capital_gain": ("float", [2174.0]),
        "capital_loss": ("float", [0.0]),
        "hours_per_week": ("float", [40.0]),
        "native_country": ("bytes", ["United-States"]),
    }


def example_table():
    rng = np.random.RandomState(SEED)
    return [
        ("no_features_field", None),
        ("empty_features", {}),
        ("scalars", {"age": ("int64", [39]), "name": ("bytes", ["Alice"]), "score": ("float", [0.5])}),
        (
            "multi_valued",
            {
                "tags": ("bytes", ["a", "bb", "ccc"]),
                "ids": ("int64", [1, 2, 3, 127, 128, 300, 70000, 2**35]),
                "weights": ("float", [0.1, -2.5, 3.25e10, 1e-30, 3.4e38]),
            },
        ),
        (
            "negatives",
            {
                "n": ("int64", [-1, -128, -(2**63), 2**63 - 1, 0, -300]),
                "f": ("float", [-0.0, -1.5, -3.4e38]),
            },
        ),
        (
            "unicode",
            {
                "s": ("bytes", ["héllo", "日本語", "", b"\xff\x00\x01"]),
                "naïve_名": ("bytes", ["ok"]),
                "": ("int64", [5]),
            },
        ),
        (
            "empty_lists",
            {
                "eb": ("bytes", []),
                "ef": ("float", []),
                "ei": ("int64", []),
                "none": ("none", []),
            },
        ),
        (
            "long",
            {
                "long_bytes": ("bytes", ["x" * 200, "y" * 3000]),
                "many_floats": ("float", [float(i) / 7 for i in range(40)]),
                "many_ints": ("int64", list(range(-50, 150))),
                **{"f%02d" % i: ("int64", [i]) for i in range(20)},
            },
        ),
        ("census_like", census_like(rng)),
    ]


def run_examples():
    out = []
    for name, features in example_table():
        ex = example(features)
        out.append(
            {
                "name": name,
                "serialized_hex": ex.SerializeToString().hex(),
                "deterministic_hex": ex.SerializeToString(deterministic=True).hex(),
                "features": read_proto(ex),
            }
        )
    return out


# --------------------------------------------------------------------------
# parse_example
# --------------------------------------------------------------------------
DTYPES = {"float32": tf.float32, "int64": tf.int64, "string": tf.string, "float64": tf.float64, "int32": tf.int32}


def tf_spec(spec):
    out = {}
    for name, s in spec.items():
        if s["type"] == "var":
            out[name] = tf.io.VarLenFeature(DTYPES[s["dtype"]])
        else:
            out[name] = tf.io.FixedLenFeature(s["shape"], DTYPES[s["dtype"]], default_value=s.get("default"))
    return out


def Fixed(shape, dtype, default=None):
    spec = {"type": "fixed", "shape": shape, "dtype": dtype}
    if default is not None:
        spec["default"] = default
    return spec


def Var(dtype):
    return {"type": "var", "dtype": dtype}


def output_json(value):
    if isinstance(value, tf.SparseTensor):
        return {
            "indices": value.indices.numpy().tolist(),
            "values": output_json(value.values)["values"],
            "dense_shape": value.dense_shape.numpy().tolist(),
        }
    array = value.numpy()
    if array.dtype == object:
        values = np.vectorize(lambda b: b.hex(), otypes=[object])(array)
        values = values.tolist() if array.size else []
    else:
        values = array.tolist()
    return {
        "dtype": "string" if array.dtype == object else array.dtype.name,
        "shape": list(array.shape),
        "values": values,
    }


def tf_parse(batch, spec):
    try:
        parsed = tf.io.parse_example(tf.constant(batch, dtype=tf.string), tf_spec(spec))
        return {"outputs": {k: output_json(v) for k, v in sorted(parsed.items())}}
    except Exception as ex:  # pylint: disable=broad-except
        return error_record(ex)


MIXED_SPEC = {
    "f1": Fixed([1], "float32"),
    "f2": Fixed([2], "float32", [9.0, 8.0]),
    "i2": Fixed([2], "int64", [0, -1]),
    "i0": Fixed([], "int64", 42),
    "m22": Fixed([2, 2], "int64", [[1, 2], [3, 4]]),
    "s0": Fixed([], "string", "missing"),
    "s1": Fixed([1], "string", ["dflt"]),
    "vf": Var("float32"),
    "vi": Var("int64"),
    "vs": Var("string"),
}

MIXED_BATCH = [
    {
        "f1": ("float", [1.5]),
        "f2": ("float", [1.0, 2.0]),
        "i2": ("int64", [3, -4]),
        "s0": ("bytes", ["x"]),
        "s1": ("bytes", ["y"]),
        "vf": ("float", [1, 2, 3]),
        "vi": ("int64", []),
        "vs": ("bytes", ["a", "b"]),
        "m22": ("int64", [5, 6, 7, 8]),
        "unused": ("bytes", ["ignored"]),
    },
    {"f1": ("float", [2.5]), "vi": ("int64", [-7])},
    {
        "f1": ("float", [-0.5]),
        "f2": ("float", [3, 4]),
        "i2": ("int64", [5, 6]),
        "s0": ("bytes", ["日本"]),
        "vf": ("float", []),
        "vi": ("int64", [1, 2, 3]),
        "vs": ("bytes", [""]),
    },
    {"f1": ("float", [0.0]), "f2": ("none", []), "vf": ("none", []), "vs": ("none", []), "s0": ("none", [])},
]


def random_batch(rng, n):
    """Census-shaped examples with optional and variable-length features."""
    words = ["a", "bb", "Private", "Self-emp", "é", ""]
    batch = []
    for _ in range(n):
        ex = {"age": ("int64", [int(rng.randint(-5, 100000))]), "hours": ("float", [float(rng.normal(40, 10))])}
        if rng.rand() < 0.7:
            ex["workclass"] = ("bytes", [str(rng.choice(words))])
        if rng.rand() < 0.7:
            ex["gain"] = ("float", [float(v) for v in rng.normal(0, 1e4, size=2)])
        ex["tags"] = ("bytes", [str(rng.choice(words)) for _ in range(rng.randint(0, 4))])
        ex["ids"] = ("int64", [int(v) for v in rng.randint(-(2**40), 2**40, size=rng.randint(0, 5))])
        ex["ws"] = ("float", [float(v) for v in rng.uniform(-1, 1, size=rng.randint(0, 3))])
        batch.append(ex)
    return batch


RANDOM_SPEC = {
    "age": Fixed([1], "int64"),
    "hours": Fixed([], "float32"),
    "workclass": Fixed([1], "string", ["?"]),
    "gain": Fixed([2], "float32", [0.0, -1.0]),
    "tags": Var("string"),
    "ids": Var("int64"),
    "ws": Var("float32"),
}


def serialize_batch(batch):
    return [example(ex).SerializeToString() for ex in batch]


def run_parse():
    rng = np.random.RandomState(SEED + 1)
    cases = [
        ("mixed", MIXED_SPEC, serialize_batch(MIXED_BATCH)),
        ("random", RANDOM_SPEC, serialize_batch(random_batch(rng, 64))),
        ("empty_batch", MIXED_SPEC, []),
        (
            "census_like_varlen",
            {
                k: Var({"int64": "int64", "float": "float32", "bytes": "string"}[kind])
                for k, (kind, _) in census_like(rng).items()
            },
            serialize_batch([census_like(rng) for _ in range(5)]),
        ),
    ]
    out = []
    for name, spec, batch in cases:
        result = tf_parse(batch, spec)
        assert "outputs" in result, (name, result)
        out.append({"name": name, "spec": spec, "batch_hex": [b.hex() for b in batch], **result})
    return out


# --------------------------------------------------------------------------
# Hand-built wire encodings
# --------------------------------------------------------------------------
def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def ld(tag, payload):
    return bytes([tag]) + varint(len(payload)) + payload


def entry(key, feature_bytes=None):
    body = ld(0x0A, key)
    if feature_bytes is not None:
        body += ld(0x12, feature_bytes)
    return ld(0x0A, body)


def features_msg(*entries):
    return ld(0x0A, b"".join(entries))


def f32(*values):
    return b"".join(struct.pack("<f", v) for v in values)


INT1 = feature("int64", [1]).SerializeToString()
INT2 = feature("int64", [2]).SerializeToString()

WIRE_CASES = [
    # (name, serialized, spec)
    ("unpacked_int64", features_msg(entry(b"a", ld(0x1A, b"\x08\x05\x08\x7f\x08\xac\x02"))), {"a": Var("int64")}),
    (
        "unpacked_negative_int64",
        features_msg(entry(b"a", ld(0x1A, b"\x08" + b"\xff" * 9 + b"\x01"))),
        {"a": Var("int64")},
    ),
    (
        "unpacked_float",
        features_msg(entry(b"a", ld(0x12, b"\x0d" + f32(1.5) + b"\x0d" + f32(-2.0)))),
        {"a": Var("float32")},
    ),
    (
        "unknown_fields_in_example_and_feature",
        b"\x10\x05"
        + b"\x1a\x02hi"
        + features_msg(entry(b"a", INT1 + b"\x20\x07"))
        + b"\x2d\x00\x00\x00\x00"
        + b"\x31"
        + b"\x00" * 8,
        {"a": Fixed([1], "int64")},
    ),
    (
        "unknown_field_in_map_entry",
        features_msg(ld(0x0A, b"\x18\x01" + ld(0x0A, b"a") + ld(0x12, INT1))),
        {"a": Fixed([1], "int64")},
    ),
    ("repeated_map_key_last_wins", features_msg(entry(b"a", INT1), entry(b"a", INT2)), {"a": Fixed([1], "int64")}),
    (
        "two_features_fields_merge",
        features_msg(entry(b"a", INT1)) + features_msg(entry(b"b", INT2)),
        {"a": Fixed([1], "int64"), "b": Fixed([1], "int64")},
    ),
    ("wrong_wire_type_for_features_skipped", b"\x08\x01", {"a": Var("float32")}),
    (
        "ten_byte_varint_overflow_bits_dropped",
        features_msg(entry(b"a", ld(0x1A, ld(0x0A, b"\xff" * 9 + b"\x7f")))),
        {"a": Var("int64")},
    ),
    ("empty_serialized", b"", {"a": Var("float32"), "b": Fixed([1], "int64", [3])}),
    # Cases where tf.io.parse_example and protobuf disagree.
    ("unknown_field_in_features", features_msg(entry(b"a", INT1) + b"\x15" + f32(1.0)), {"a": Fixed([1], "int64")}),
    (
        "unknown_field_in_list",
        features_msg(entry(b"a", ld(0x12, b"\x10\x01" + ld(0x0A, f32(4.0))))),
        {"a": Var("float32")},
    ),
    (
        "two_packed_runs_int64",
        features_msg(entry(b"a", ld(0x1A, ld(0x0A, b"\x01\x02") + ld(0x0A, b"\x03")))),
        {"a": Var("int64")},
    ),
    ("map_entry_without_key", features_msg(ld(0x0A, ld(0x12, INT1))), {"": Fixed([1], "int64")}),
    (
        "both_oneof_members_set",
        features_msg(entry(b"a", INT1 + feature("float", [3.0]).SerializeToString())),
        {"a": Var("float32")},
    ),
    (
        "packed_and_unpacked_floats_mixed",
        features_msg(entry(b"a", ld(0x12, b"\x0d" + f32(1.5) + ld(0x0A, f32(-2.0)) + b"\x0a\x00"))),
        {"a": Var("float32")},
    ),
    (
        "packed_float_length_not_multiple_of_4",
        features_msg(entry(b"a", ld(0x12, ld(0x0A, b"\x00\x00\x00")))),
        {"a": Var("float32")},
    ),
    (
        "packed_float_length_not_multiple_of_4_unrequested",
        features_msg(entry(b"a", ld(0x12, ld(0x0A, b"\x00\x00\x00"))), entry(b"b", INT1)),
        {"b": Var("int64")},
    ),
    ("map_entry_without_value", features_msg(entry(b"a")), {"a": Var("float32")}),
    ("feature_name_not_utf8", features_msg(entry(b"\xff", INT1), entry(b"b", INT2)), {"b": Var("int64")}),
    ("group_wire_type", b"\x0b\x0c", {"a": Var("float32")}),
    ("eleven_byte_varint", features_msg(entry(b"a", ld(0x1A, ld(0x0A, b"\xff" * 10 + b"\x01")))), {"a": Var("int64")}),
    ("truncated_non_utf8", b"\x0a\x80", {"a": Var("float32")}),
]


def run_wire():
    out = []
    for name, serialized, spec in WIRE_CASES:
        parsed = tf_parse([serialized], spec)
        out.append(
            {
                "name": name,
                "serialized_hex": serialized.hex(),
                "spec": spec,
                "tf_parse": parsed,
                "proto_decode": proto_decode(serialized),
            }
        )
    return out


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------
def ser(features):
    return example(features).SerializeToString()


ERROR_CASES = [
    # (name, spec, batch)
    ("missing_required_float", {"x": Fixed([1], "float32")}, [ser({"a": ("float", [1.0])})]),
    ("missing_required_int64", {"x": Fixed([1], "int64")}, [ser({"x": ("int64", [1])}), ser({})]),
    ("missing_required_string", {"x": Fixed([], "string")}, [ser({})]),
    ("empty_feature_is_missing", {"x": Fixed([1], "float32")}, [ser({"x": ("none", [])})]),
    ("wrong_count_float", {"a": Fixed([1], "float32")}, [ser({"a": ("float", [1.5, 2.0])})]),
    ("wrong_count_float_scalar_shape", {"a": Fixed([], "float32")}, [ser({"a": ("float", [1.5, 2.0])})]),
    (
        "wrong_count_int64_index_1",
        {"a": Fixed([1], "int64")},
        [ser({"a": ("int64", [1])}), ser({"a": ("int64", [1, 2])})],
    ),
    ("wrong_count_string", {"a": Fixed([1], "string")}, [ser({"a": ("bytes", ["1", "2"])})]),
    ("wrong_count_shape_2x2", {"a": Fixed([2, 2], "int64")}, [ser({"a": ("int64", [1, 2, 3])})]),
    ("empty_list_with_default", {"a": Fixed([1], "float32", [2.0])}, [ser({"a": ("float", [])})]),
    ("dtype_mismatch_int64_for_float", {"b": Fixed([1], "float32")}, [ser({"b": ("int64", [1])})]),
    ("dtype_mismatch_float_for_int64", {"a": Fixed([2], "int64")}, [ser({"a": ("float", [1.5, 2.0])})]),
    ("dtype_mismatch_bytes_for_int64", {"a": Fixed([1], "int64")}, [ser({"a": ("bytes", ["x"])})]),
    ("dtype_mismatch_float_for_string", {"a": Fixed([1], "string")}, [ser({"a": ("float", [1.0])})]),
    ("dtype_mismatch_empty_bytes_for_float", {"a": Fixed([1], "float32")}, [ser({"a": ("bytes", [])})]),
    ("varlen_dtype_mismatch_int64_for_float", {"b": Var("float32")}, [ser({"b": ("int64", [1])})]),
    ("varlen_dtype_mismatch_int64_for_string", {"a": Var("string")}, [ser({"a": ("int64", [1])})]),
    ("malformed_garbage", {"a": Fixed([2], "float32")}, [ser({"a": ("float", [1.0, 2.0])}), b"garbage"]),
    ("malformed_truncated", {"a": Var("float32")}, [b"\n\x05abc"]),
    (
        "malformed_feature_varint_too_long",
        {"a": Var("int64")},
        [features_msg(entry(b"a", ld(0x1A, ld(0x0A, b"\xff" * 10 + b"\x01"))))],
    ),
    ("float64_fixed", {"a": Fixed([1], "float64")}, [ser({})]),
    ("float64_var", {"a": Var("float64")}, [ser({})]),
    ("int32_fixed", {"a": Fixed([1], "int32", [1])}, [ser({})]),
    ("default_reshape", {"x": Fixed([2], "float32", 1.0)}, [ser({})]),
    ("default_reshape_empty_batch", {"x": Fixed([2], "string", "q")}, []),
    ("default_float_for_int64", {"a": Fixed([1], "int64", [1.5])}, [ser({})]),
    ("default_python_float_for_int64", {"a": Fixed([1], "int64", 2.0)}, [ser({})]),
    ("default_string_for_float", {"a": Fixed([1], "float32", ["x"])}, [ser({})]),
    ("default_int_for_string", {"a": Fixed([1], "string", 3)}, [ser({})]),
    ("shape_none", {"a": Fixed([None], "float32", [1.0])}, [ser({})]),
]


def run_errors():
    out = []
    for name, spec, batch in ERROR_CASES:
        rec = {"name": name, "spec": spec, "batch_hex": [b.hex() for b in batch]}
        result = tf_parse(batch, spec)
        assert "outputs" not in result, (name, result)
        rec.update(result)
        out.append(rec)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "tests", "golden", "example_proto.json"))
    args = parser.parse_args()

    doc = {
        "tf_version": tf.__version__,
        "generator": "tools/read_tf_example_golden.py",
        "notes": [
            "Byte strings (serialized protos, BytesList values, string outputs) are hex.",
            'Feature kind "none": a Feature with no list set (tf.train.Feature()).',
            "serialized_hex orders map entries as the protobuf runtime does; deterministic_hex sorts them by key.",
            "errors[].message: str(exception) without the eager "
            '"{{function_node ...}} " prefix, " [Op:...]" suffix and NodeDef dump.',
        ],
        "examples": run_examples(),
        "parse": run_parse(),
        "wire": run_wire(),
        "errors": run_errors(),
    }
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(
        "wrote %s: %d examples, %d parse cases, %d wire cases, %d errors, "
        "%.1f KiB"
        % (
            out,
            len(doc["examples"]),
            len(doc["parse"]),
            len(doc["wire"]),
            len(doc["errors"]),
            os.path.getsize(out) / 1024.0,
        )
    )


if __name__ == "__main__":
    main()
