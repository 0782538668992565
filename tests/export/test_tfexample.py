"""The tf.train.Example codec and parse_examples against TensorFlow 2.15 (tests/golden/example_proto.json)."""

from __future__ import annotations

import json
import pathlib
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_estimator.export.tfexample import decode_example, encode_example, parse_examples
from torch_estimator.feature_column import FixedLenFeature, RaggedValue, VarLenFeature

GOLDEN = json.loads((pathlib.Path(__file__).parents[1] / "golden" / "example_proto.json").read_text(encoding="utf-8"))
NUMPY_DTYPES = {"bytes": object, "float": np.float32, "int64": np.int64}


def _cases(section: str) -> list[Any]:
    return [pytest.param(case, id=case["name"]) for case in GOLDEN[section]]


def _values(kind: str, values: list[Any]) -> np.ndarray:
    if kind == "bytes":
        array = np.empty(len(values), dtype=object)
        array[:] = [bytes.fromhex(v) for v in values]
        return array
    return np.asarray(values, dtype=NUMPY_DTYPES[kind])


def _expected_decode(features: dict[str, Any]) -> dict[str, tuple[str, np.ndarray]]:
    """What decode_example should give for a golden feature dict (no-list features are left out)."""
    return {name: (f["kind"], _values(f["kind"], f["values"])) for name, f in features.items() if f["kind"] != "none"}


def _assert_decoded(ours: dict[str, tuple[str, np.ndarray]], expected: dict[str, tuple[str, np.ndarray]]) -> None:
    assert sorted(ours) == sorted(expected)
    for name, (kind, values) in expected.items():
        assert ours[name][0] == kind, name
        assert ours[name][1].dtype == values.dtype, name
        np.testing.assert_array_equal(ours[name][1], values, err_msg=name)


def _encodable(kind: str, values: list[Any]) -> Any:
    """A Python value that encode_example turns into the golden feature (typed empties as numpy arrays)."""
    if kind == "none":
        return []
    if kind == "bytes":
        return [bytes.fromhex(v) for v in values] if values else np.array([], dtype="S1")
    return list(values) if values else np.array([], dtype=NUMPY_DTYPES[kind])


def _spec(spec: dict[str, Any]) -> dict[str, FixedLenFeature | VarLenFeature]:
    return {
        name: VarLenFeature(s["dtype"])
        if s["type"] == "var"
        else FixedLenFeature(s["shape"], s["dtype"], s.get("default"))
        for name, s in spec.items()
    }


def _batch(case: dict[str, Any]) -> list[bytes]:
    return [bytes.fromhex(h) for h in case["batch_hex"]]


def _assert_parsed(ours: dict[str, Any], tf_outputs: dict[str, Any]) -> None:
    assert sorted(ours) == sorted(tf_outputs)
    for name, tf_out in tf_outputs.items():
        value = ours[name]
        if "indices" in tf_out:  # a VarLenFeature: TensorFlow's SparseTensor as rows
            assert isinstance(value, RaggedValue), name
            rows = tf_out["dense_shape"][0]
            lengths = np.bincount(np.asarray(tf_out["indices"], dtype=np.int64).reshape(-1, 2)[:, 0], minlength=rows)
            np.testing.assert_array_equal(value.row_splits, np.concatenate([[0], np.cumsum(lengths)]), err_msg=name)
            expected = value.values
            kind = {np.dtype(object): "bytes", np.dtype(np.float32): "float", np.dtype(np.int64): "int64"}[
                expected.dtype
            ]
            np.testing.assert_array_equal(value.values, _values(kind, tf_out["values"]), err_msg=name)
        else:
            assert isinstance(value, np.ndarray), name
            assert list(value.shape) == tf_out["shape"], name
            kind = {"string": "bytes", "float32": "float", "int64": "int64"}[tf_out["dtype"]]
            assert value.dtype == NUMPY_DTYPES[kind], name
            flat = np.asarray(tf_out["values"], dtype=object).reshape(-1).tolist()
            np.testing.assert_array_equal(value.reshape(-1), _values(kind, flat), err_msg=name)


# ----------------------------------------------------------------------------------------------
# Against TensorFlow's serializations and parse_example
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", _cases("examples"))
def test_decode_reads_tensorflow_serializations(case: dict[str, Any]) -> None:
    expected = _expected_decode(case["features"])
    for key in ("serialized_hex", "deterministic_hex"):
        _assert_decoded(decode_example(bytes.fromhex(case[key])), expected)


def _varint_at(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        value |= (buf[pos] & 0x7F) << shift
        shift += 7
        pos += 1
        if buf[pos - 1] < 0x80:
            return value, pos


def _map_entries(serialized: bytes) -> list[bytes]:
    """The serialized map entries of a canonically encoded Example, in their order."""
    assert serialized[0] == 0x0A
    length, pos = _varint_at(serialized, 1)
    assert pos + length == len(serialized)
    entries = []
    while pos < len(serialized):
        assert serialized[pos] == 0x0A
        length, start = _varint_at(serialized, pos + 1)
        entries.append(serialized[pos : start + length])
        pos = start + length
    return entries


@pytest.mark.parametrize("case", [c for c in _cases("examples") if c.values[0]["name"] != "no_features_field"])
def test_encode_equals_tensorflow_deterministic_bytes(case: dict[str, Any]) -> None:
    """Byte for byte, up to the order of map entries: we sort keys by code point; the protobuf
    runtime TensorFlow 2.15 ships (upb) puts a key after the keys it is a prefix of ('' last)."""
    features = {name: _encodable(f["kind"], f["values"]) for name, f in case["features"].items()}
    serialized = encode_example(features)
    theirs = bytes.fromhex(case["deterministic_hex"])
    assert len(serialized) == len(theirs)
    assert sorted(_map_entries(serialized)) == sorted(_map_entries(theirs))
    if not any(a != b and b.startswith(a) for a in features for b in features):
        assert serialized == theirs
    _assert_decoded(decode_example(serialized), _expected_decode(case["features"]))


@pytest.mark.parametrize("case", _cases("parse"))
def test_parse_examples_matches_tensorflow(case: dict[str, Any]) -> None:
    _assert_parsed(parse_examples(_batch(case), _spec(case["spec"])), case["outputs"])


def test_parse_examples_of_our_encoding_matches_tensorflow() -> None:
    """Re-encoding TensorFlow's batch with encode_example parses to the same outputs."""
    case = next(c for c in GOLDEN["parse"] if c["name"] == "random")
    reencoded = []
    for serialized in _batch(case):
        decoded = decode_example(serialized)
        reencoded.append(encode_example({name: values for name, (_, values) in decoded.items()}))
    _assert_parsed(parse_examples(np.array(reencoded, dtype=object), _spec(case["spec"])), case["outputs"])


# Hand-built encodings where tf.io.parse_example (its fast parser) and protobuf disagree. We follow
# protobuf, except where noted: unknown fields are skipped everywhere, repeated fields merge.
OURS_DIFFER_FROM_TF_PARSE = {
    "unknown_field_in_map_entry",  # TF rejects; protobuf moves the entry to unknown fields; we keep it
    "unknown_field_in_features",
    "unknown_field_in_list",
    "two_packed_runs_int64",  # TF reads the first run only
    "map_entry_without_key",
    "both_oneof_members_set",  # TF reads the first list; protobuf the last
    "packed_and_unpacked_floats_mixed",
    "packed_float_length_not_multiple_of_4",  # TF silently reads no values; we reject
    "map_entry_without_value",
}
OURS_DIFFER_FROM_PROTOBUF = {"unknown_field_in_map_entry", "group_wire_type"}  # groups: rejected, as TF does


@pytest.mark.parametrize("case", _cases("wire"))
def test_wire_encodings(case: dict[str, Any]) -> None:
    serialized = bytes.fromhex(case["serialized_hex"])
    proto, tf_parse = case["proto_decode"], case["tf_parse"]
    if case["name"] not in OURS_DIFFER_FROM_PROTOBUF:
        if "features" in proto:
            _assert_decoded(decode_example(serialized), _expected_decode(proto["features"]))
        else:
            with pytest.raises(ValueError, match="Could not parse example input"):
                decode_example(serialized)
    if case["name"] in OURS_DIFFER_FROM_TF_PARSE:
        return
    if "outputs" in tf_parse:
        _assert_parsed(parse_examples([serialized], _spec(case["spec"])), tf_parse["outputs"])
    else:
        with pytest.raises(ValueError, match="parse"):
            parse_examples([serialized], _spec(case["spec"]))


def test_wire_encodings_where_we_differ_from_tensorflow() -> None:
    wire = {case["name"]: bytes.fromhex(case["serialized_hex"]) for case in GOLDEN["wire"]}
    ints, floats = {"a": VarLenFeature("int64")}, {"a": VarLenFeature("float32")}
    assert parse_examples([wire["two_packed_runs_int64"]], ints)["a"].to_lists() == [[1, 2, 3]]
    assert parse_examples([wire["both_oneof_members_set"]], floats)["a"].to_lists() == [[3.0]]
    assert parse_examples([wire["packed_and_unpacked_floats_mixed"]], floats)["a"].to_lists() == [[1.5, -2.0]]
    assert parse_examples([wire["unknown_field_in_list"]], floats)["a"].to_lists() == [[4.0]]
    assert parse_examples([wire["map_entry_without_value"]], floats)["a"].to_lists() == [[]]
    assert parse_examples([wire["map_entry_without_key"]], {"": FixedLenFeature([1], "int64")})[""].tolist() == [[1]]
    for name in ("unknown_field_in_features", "unknown_field_in_map_entry"):
        assert parse_examples([wire[name]], {"a": FixedLenFeature([1], "int64")})["a"].tolist() == [[1]]
    assert decode_example(wire["unknown_field_in_map_entry"])["a"][1].tolist() == [1]
    with pytest.raises(ValueError, match=r"Key: a, Index: 0\.  Can't parse serialized Example\. \(packed float"):
        parse_examples([wire["packed_float_length_not_multiple_of_4"]], floats)
    with pytest.raises(ValueError, match="wire type 3"):
        decode_example(wire["group_wire_type"])


TF_ERROR_TYPES = {"InvalidArgumentError": ValueError, "TypeError": TypeError, "ValueError": ValueError}
MALFORMED_PREFIX = "Could not parse example input, value: '"
# Where our text words a spec error differently, the part of TensorFlow's we keep.
TF_FRAGMENTS = {
    "float64_fixed": "is not in the list of allowed values: float, int64, string",
    "float64_var": "is not in the list of allowed values: float, int64, string",
    "int32_fixed": "is not in the list of allowed values: float, int64, string",
    "shape_none": "First dimension of shape for feature a unknown",
}


@pytest.mark.parametrize("case", _cases("errors"))
def test_errors_carry_tensorflow_text(case: dict[str, Any]) -> None:
    with pytest.raises(TF_ERROR_TYPES[case["error_type"]]) as info:
        parse_examples(_batch(case), _spec(case["spec"]))
    ours, theirs = str(info.value), case["message"]
    if theirs.startswith(MALFORMED_PREFIX):
        # TensorFlow prints the raw bytes; we print them escaped.
        raw = theirs[len(MALFORMED_PREFIX) : -1].encode("utf-8")
        assert raw in _batch(case)
        assert ours.startswith(MALFORMED_PREFIX + repr(raw)[2:-1] + "'")
        assert f"Index: {_batch(case).index(raw)}" in ours
    else:
        assert TF_FRAGMENTS.get(case["name"], theirs) in ours
        assert next(iter(case["spec"])) in ours


def test_error_messages_name_received_and_expected_values() -> None:
    with pytest.raises(ValueError) as info:
        parse_examples([encode_example({"x": 1}), encode_example({})], {"x": FixedLenFeature([1], "int64")})
    assert "Feature: x (data type: int64) is required but could not be found. Index: 1" in str(info.value)
    with pytest.raises(
        ValueError, match=r"Number of string values != expected\.  Values size: 2 but output shape: \[1\]"
    ):
        parse_examples([encode_example({"s": ["a", "b"]})], {"s": FixedLenFeature([1], "string")})
    with pytest.raises(ValueError, match=r"Index: 0: length-delimited field of 5 bytes at byte 2 runs past the end"):
        parse_examples([b"\x0a\x05abc"], {"s": VarLenFeature("string")})


# ----------------------------------------------------------------------------------------------
# Encoding rules
# ----------------------------------------------------------------------------------------------
def test_encode_value_kinds() -> None:
    decoded = decode_example(
        encode_example(
            {
                "str": "héllo",
                "bytes_scalar": b"\x00\xff",
                "strs": np.array(["a", "bc"]),
                "objs": np.array([b"x", "y"], dtype=object),
                "float": 0.1,
                "float64_array": np.array([1e-3, 1e39]),
                "mixed_numbers": [1, 2.5, True],
                "int": 7,
                "bools": [True, False],
                "uint8": np.array([255], dtype=np.uint8),
                "zero_d": np.array(3),
                "tuple": (1, 2),
                "np_scalar": np.float32(1.5),
            }
        )
    )
    kinds = {name: kind for name, (kind, _) in decoded.items()}
    assert kinds == {
        "str": "bytes", "bytes_scalar": "bytes", "strs": "bytes", "objs": "bytes",
        "float": "float", "float64_array": "float", "mixed_numbers": "float", "np_scalar": "float",
        "int": "int64", "bools": "int64", "uint8": "int64", "zero_d": "int64", "tuple": "int64",
    }  # fmt: skip
    assert decoded["str"][1].tolist() == ["héllo".encode()]
    assert decoded["objs"][1].tolist() == [b"x", b"y"]
    assert decoded["float"][1].tolist() == [np.float32(0.1)]
    assert decoded["float64_array"][1].tolist() == [np.float32(1e-3), np.inf]
    assert decoded["mixed_numbers"][1].tolist() == [1.0, 2.5, 1.0]
    assert decoded["bools"][1].tolist() == [1, 0]
    assert decoded["uint8"][1].tolist() == [255]


def test_encode_empty_values() -> None:
    """An empty list has no kind: a Feature with no list, read as missing; empty arrays keep their kind."""
    serialized = encode_example(
        {"untyped": [], "floats": np.zeros(0, np.float32), "strings": np.array([], dtype=object)}
    )
    _assert_decoded(decode_example(serialized), {"floats": ("float", np.zeros(0, np.float32))})
    parsed = parse_examples(
        [serialized],
        {
            "untyped": VarLenFeature("int64"),
            "strings": VarLenFeature("float32"),
            "d": FixedLenFeature([1], "string", "z"),
        },
    )
    assert parsed["untyped"].to_lists() == [[]] and parsed["strings"].to_lists() == [[]]
    assert parsed["d"].tolist() == [[b"z"]]
    assert encode_example({}) == b"\x0a\x00"


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (["a", 1], ValueError, "Feature 'f' mixes strings and numbers"),
        ([1, None], TypeError, "Feature 'f': value 1 is NoneType"),
        (None, TypeError, "Feature 'f' is NoneType"),
        ({"a": 1}, TypeError, "Feature 'f' is dict"),
        (np.zeros((2, 2)), ValueError, r"Feature 'f' is an array of shape \(2, 2\)"),
        ([2**63], ValueError, "Feature 'f': value 9223372036854775808 is out of the int64 range"),
        (np.array([2**64 - 1], dtype=np.uint64), ValueError, "out of the int64 range"),
        (np.array([1j]), TypeError, "Feature 'f' has dtype complex128"),
    ],
)
def test_encode_rejects_bad_values(value: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        encode_example({"f": value})


def test_encode_rejects_non_string_names() -> None:
    with pytest.raises(TypeError, match="Feature names must be str; got 1"):
        encode_example({1: [1]})
    with pytest.raises(TypeError, match="features must be a mapping"):
        encode_example([("a", 1)])  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------
# Decoding rules
# ----------------------------------------------------------------------------------------------
def _entry(key: bytes, feature: bytes) -> bytes:
    body = b"\x0a" + bytes([len(key)]) + key + b"\x12" + bytes([len(feature)]) + feature
    return b"\x0a" + bytes([len(body)]) + body


def _example(*entries: bytes) -> bytes:
    body = b"".join(entries)
    return b"\x0a" + bytes([len(body)]) + body


@pytest.mark.parametrize(
    ("serialized", "reason"),
    [
        (b"\x0a", "truncated varint"),
        (b"\x0a\x05abc", "runs past the end"),
        (b"garbage", "wire type 7"),
        (b"\x0e", "wire type 6"),
        (b"\x00\x00", "field number 0"),
        (b"\x15\x00\x00", "truncated fixed-width"),
        (b"\x08" + b"\xff" * 10 + b"\x01", "longer than 10 bytes"),
        (_example(_entry(b"a", b"\x12\x05\x0a\x03\x00\x00\x00")), "not a multiple of 4"),
        (_example(_entry(b"a", b"\x1a\x03\x0a\x01\x80")), "truncated or over-long varint"),
        (_example(_entry(b"a", b"\x1a\x0e\x0a\x0c" + b"\xff" * 11 + b"\x01")), "truncated or over-long varint"),
        (_example(_entry(b"a", b"\x1a\x02\x08\x80")), "truncated varint"),
        (_example(_entry(b"a", b"\x12\x03\x0d\x00\x00")), "truncated fixed-width"),
        (_example(_entry(b"\xff", b"")), "not valid UTF-8"),
    ],
)
def test_decode_rejects_malformed_input(serialized: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match="Could not parse example input") as info:
        decode_example(serialized)
    assert reason in str(info.value)


def test_decode_accepts_unpacked_negative_and_merged_values() -> None:
    unpacked_ints = b"\x1a\x10" + b"\x08\x05" + b"\x08" + b"\xff" * 9 + b"\x01" + b"\x08\x96\x01"
    unpacked_floats = b"\x12\x0a" + b"\x0d" + struct.pack("<f", 1.5) + b"\x0d" + struct.pack("<f", -2.0)
    merged_bytes = b"\x0a\x03\x0a\x01a" + b"\x0a\x03\x0a\x01b"  # BytesList twice: merged
    decoded = decode_example(
        _example(_entry(b"i", unpacked_ints), _entry(b"f", unpacked_floats), _entry(b"b", merged_bytes))
    )
    assert decoded["i"][1].tolist() == [5, -1, 150]
    assert decoded["f"][1].tolist() == [1.5, -2.0]
    assert decoded["b"][1].tolist() == [b"a", b"b"]


def test_decode_takes_bytes_like_only() -> None:
    _assert_decoded(decode_example(bytearray(encode_example({"a": 1}))), {"a": ("int64", np.array([1]))})
    with pytest.raises(TypeError, match="serialized must be bytes"):
        decode_example("abc")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------
# parse_examples rules
# ----------------------------------------------------------------------------------------------
def test_parse_examples_inputs_and_outputs() -> None:
    batch = [encode_example({"x": [1.0, 2.0], "s": "a"}), encode_example({"x": [3.0, 4.0]})]
    spec = {"x": FixedLenFeature([2], "float32"), "s": FixedLenFeature([], "string", default_value="-")}
    for serialized in (batch, tuple(batch), np.array(batch, dtype=object)):
        parsed = parse_examples(serialized, spec)
        assert parsed["x"].tolist() == [[1.0, 2.0], [3.0, 4.0]] and parsed["x"].flags.writeable
        assert parsed["s"].tolist() == [b"a", b"-"]
    assert parse_examples([encode_example({"x": "é"})], {"x": VarLenFeature("string")})["x"].values.tolist() == [
        "é".encode()
    ]
    assert parse_examples(["\n\x00"], {"x": VarLenFeature("string")})["x"].row_splits.tolist() == [0, 0]


@pytest.mark.parametrize(
    ("serialized", "error", "match"),
    [
        (b"\n\x00", TypeError, "got a single value: wrap it in a list"),
        (np.array([[b"\n\x00"]], dtype=object), ValueError, r"got an array of shape \(1, 1\)"),
        ([b"\n\x00", 3], TypeError, r"serialized\[1\] is int"),
    ],
)
def test_parse_examples_rejects_bad_batches(serialized: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        parse_examples(serialized, {"x": VarLenFeature("int64")})


def test_parse_examples_rejects_bad_specs() -> None:
    with pytest.raises(TypeError, match=r"feature_spec\['x'\] must be a FixedLenFeature or VarLenFeature"):
        parse_examples([], {"x": "float32"})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="All dimensions of shape for feature x need to be known"):
        parse_examples([], {"x": FixedLenFeature([2, -1], "float32")})
    with pytest.raises(ValueError, match="Feature 'x': dtype bool is not in the list of allowed values"):
        parse_examples([], {"x": VarLenFeature("bool")})
    with pytest.raises(TypeError, match="Cannot convert 'x' to EagerTensor of dtype string|Cannot convert 3"):
        parse_examples([], {"x": FixedLenFeature([], "string", default_value=3)})


def test_parse_examples_defaults_follow_reshape_rules() -> None:
    spec = {
        "m": FixedLenFeature([2, 2], "int64", default_value=[[1, 2], [3, 4]]),
        "f": FixedLenFeature([2], "float32", default_value=np.array([[True, 2]])),
        "s": FixedLenFeature([1], "string", default_value=[b"\xff"]),
    }
    parsed = parse_examples([encode_example({"m": [5, 6, 7, 8]}), b""], spec)
    assert parsed["m"].tolist() == [[[5, 6], [7, 8]], [[1, 2], [3, 4]]]
    assert parsed["f"].dtype == np.float32 and parsed["f"].tolist() == [[1.0, 2.0], [1.0, 2.0]]
    assert parsed["s"].tolist() == [[b"\xff"], [b"\xff"]]


# ----------------------------------------------------------------------------------------------
# Round trips
# ----------------------------------------------------------------------------------------------
_INT64 = st.integers(-(2**63), 2**63 - 1)
_VALUES = st.one_of(
    st.lists(_INT64, min_size=1, max_size=12).map(lambda v: ("int64", v)),
    st.lists(st.floats(width=32), min_size=1, max_size=12).map(lambda v: ("float", v)),
    st.lists(st.binary(max_size=300) | st.text(max_size=12), min_size=1, max_size=6).map(lambda v: ("bytes", v)),
)
_FEATURES = st.dictionaries(st.text(max_size=8), _VALUES, max_size=8)


def _expected_array(kind: str, values: list[Any]) -> np.ndarray:
    if kind == "bytes":
        return _values("bytes", [(v.encode() if isinstance(v, str) else v).hex() for v in values])
    return np.asarray(values, dtype=NUMPY_DTYPES[kind])


@settings(max_examples=200, deadline=None)
@given(_FEATURES)
def test_round_trip(features: dict[str, tuple[str, list[Any]]]) -> None:
    serialized = encode_example({name: values for name, (_, values) in features.items()})
    expected = {name: (kind, _expected_array(kind, values)) for name, (kind, values) in features.items()}
    _assert_decoded(decode_example(serialized), expected)
    assert encode_example({name: values for name, (_, values) in decode_example(serialized).items()}) == serialized


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(_INT64, max_size=5), st.lists(st.floats(width=32), min_size=2, max_size=2) | st.none()),
        max_size=20,
    )
)
def test_parse_round_trip(rows: list[tuple[list[int], list[float] | None]]) -> None:
    batch = [
        encode_example({"ids": np.array(ids, dtype=np.int64), **({} if xy is None else {"xy": xy})}) for ids, xy in rows
    ]
    parsed = parse_examples(batch, {"ids": VarLenFeature("int64"), "xy": FixedLenFeature([2], "float32", [-1.0, -2.0])})
    assert parsed["ids"].to_lists() == [ids for ids, _ in rows]
    expected = np.array([[-1.0, -2.0] if xy is None else xy for _, xy in rows], dtype=np.float32).reshape(len(rows), 2)
    np.testing.assert_array_equal(parsed["xy"], expected)


@settings(max_examples=150, deadline=None)
@given(_FEATURES, st.data())
def test_corrupted_input_raises_value_error_or_decodes(
    features: dict[str, tuple[str, list[Any]]], data: st.DataObject
) -> None:
    serialized = bytearray(encode_example({name: values for name, (_, values) in features.items()}))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(serialized) - 1))
        serialized[position] = data.draw(st.integers(0, 255))
    serialized = serialized[: data.draw(st.integers(0, len(serialized)))]
    spec = {
        name: VarLenFeature({"bytes": "string", "float": "float32", "int64": "int64"}[kind])
        for name, (kind, _) in features.items()
    }
    for parse in (lambda: decode_example(bytes(serialized)), lambda: parse_examples([bytes(serialized)], spec)):
        try:
            parse()
        except ValueError:
            pass
