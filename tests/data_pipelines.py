"""tf.data pipelines written once for both ``tf.data`` (tools/read_tf_data_golden.py reads their
elements off TensorFlow 2.15) and ``te.data`` (tests/test_data.py checks ours against them).

``build(data, spec, name)`` builds pipeline ``name`` with ``data`` (``tf.data`` or ``te.data``) and
``spec(shape, dtype_name)`` (a ``TensorSpec`` maker) using only what both share.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

NUMBERS = np.arange(10, dtype=np.int64)
LETTERS = np.array(list("abcdefghij"))
FLOATS = np.linspace(0.0, 1.0, 10, dtype=np.float32)


def _ragged() -> Any:
    for n in (1, 3, 2, 4, 2):
        yield np.arange(n, dtype=np.int64) + n


PIPELINES: dict[str, Callable[[Any, Any], Any]] = {
    "batch": lambda d, s: d.Dataset.from_tensor_slices(NUMBERS).batch(3),
    "batch_drop_remainder": lambda d, s: d.Dataset.from_tensor_slices(NUMBERS).batch(3, drop_remainder=True),
    "repeat_then_batch": lambda d, s: d.Dataset.from_tensor_slices(NUMBERS).repeat(2).batch(4),
    "batch_then_repeat": lambda d, s: d.Dataset.from_tensor_slices(NUMBERS).batch(4).repeat(2),
    "repeat_zero": lambda d, s: d.Dataset.from_tensor_slices(NUMBERS).repeat(0).batch(4),
    "take_skip": lambda d, s: d.Dataset.from_tensor_slices(NUMBERS).take(7).skip(2).batch(2),
    "take_all": lambda d, s: d.Dataset.from_tensor_slices(NUMBERS).take(-1).skip(8),
    "filter": lambda d, s: d.Dataset.from_tensor_slices(NUMBERS).filter(lambda x: x % 2 == 0).batch(2),
    "map_then_batch": lambda d, s: d.Dataset.from_tensor_slices(NUMBERS).map(lambda x: x * 2 + 1).batch(3),
    "batch_then_map": lambda d, s: d.Dataset.from_tensor_slices(NUMBERS).batch(4).map(lambda x: x * 10),
    "unbatch": lambda d, s: d.Dataset.from_tensor_slices(NUMBERS).batch(4).unbatch().batch(3),
    "shard": lambda d, s: d.Dataset.from_tensor_slices(NUMBERS).shard(3, 1).batch(2),
    "concatenate": lambda d, s: d.Dataset.from_tensor_slices(NUMBERS).concatenate(d.Dataset.range(5)).batch(4),
    "zip": lambda d, s: d.Dataset.zip(
        (d.Dataset.from_tensor_slices(NUMBERS), d.Dataset.from_tensor_slices(LETTERS).skip(2))
    ).batch(3),
    "dict": lambda d, s: d.Dataset.from_tensor_slices({"n": NUMBERS, "s": LETTERS, "f": FLOATS}).batch(4),
    "features_labels": lambda d, s: (
        d.Dataset.from_tensor_slices(({"n": NUMBERS, "s": LETTERS}, FLOATS)).batch(3).repeat(2)
    ),
    "map_dict_to_tuple": lambda d, s: (
        d.Dataset.from_tensor_slices({"n": NUMBERS, "f": FLOATS}).map(lambda e: (e, e["n"] > 4)).batch(3)
    ),
    "map_tuple_args": lambda d, s: (
        d.Dataset.from_tensor_slices((NUMBERS, FLOATS)).map(lambda n, f: {"n": n, "f": f * 2}).batch(5)
    ),
    "range": lambda d, s: d.Dataset.range(3, 20, 4),
    "range_stop": lambda d, s: d.Dataset.range(5).batch(2),
    "from_tensors": lambda d, s: d.Dataset.from_tensors(np.array([1, 2], np.int64)).repeat(3).batch(2),
    "cache": lambda d, s: d.Dataset.from_tensor_slices(NUMBERS).map(lambda x: x + 1).cache().repeat(2).batch(5),
    "padded_batch": lambda d, s: d.Dataset.from_generator(_ragged, output_signature=s((None,), "int64")).padded_batch(
        2
    ),
    "padded_batch_shape": lambda d, s: d.Dataset.from_generator(
        _ragged, output_signature=s((None,), "int64")
    ).padded_batch(2, padded_shapes=(5,), padding_values=np.int64(-1)),
    "generator_batch": lambda d, s: d.Dataset.from_generator(
        lambda: iter(range(7)), output_signature=s((), "int64")
    ).batch(3),
    "interleave": lambda d, s: d.Dataset.range(4).interleave(
        lambda x: d.Dataset.from_tensors(x).repeat(3), cycle_length=2, block_length=2
    ),
    "interleave_default_block": lambda d, s: d.Dataset.range(3).interleave(
        lambda x: d.Dataset.range(x * 10, x * 10 + 3), cycle_length=3
    ),
    "batch_map_filter": lambda d, s: d.Dataset.from_tensor_slices(NUMBERS).batch(3).filter(lambda x: x[0] % 2 == 0),
    "skip_past_end": lambda d, s: d.Dataset.from_tensor_slices(NUMBERS).skip(20).batch(3),
    "prefetch": lambda d, s: d.Dataset.from_tensor_slices(NUMBERS).batch(4).prefetch(d.AUTOTUNE),
    "map_batch_repeat_take": lambda d, s: (
        d.Dataset.from_tensor_slices(FLOATS)
        .map(lambda x: x * 2, num_parallel_calls=d.AUTOTUNE)
        .batch(4)
        .repeat()
        .take(5)
    ),
}


def build(data: Any, spec: Any, name: str) -> Any:
    """Pipeline ``name`` built with ``data`` (``tf.data`` or ``te.data``)."""
    return PIPELINES[name](data, spec)
