"""Input functions over in-memory data: ``numpy_input_fn`` and ``pandas_input_fn``.

Batches are cut with vectorised index slicing (no per-row Python) from a continuous stream of
rows, as TensorFlow's queues feed them: a batch may span two epochs and only the last batch of a
finite stream is smaller. Each epoch is shuffled with a permutation drawn from a generator seeded
from numpy's global one, which ``RunConfig.tf_random_seed`` seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import Any

import numpy as np
import pandas as pd

from torch_estimator._core.batches import Batches
from torch_estimator._core.in_memory import BatchFeatures, InMemorySource
from torch_estimator._core.values import encode_strings
from torch_estimator._inputs.arguments import check_count, check_flag

__all__ = ["numpy_input_fn", "pandas_input_fn"]

_SHUFFLE_ERR = (
    "shuffle must be provided and explicitly set as boolean (it is recommended to set it as True for training); got {}"
)


def _check_common(batch_size: Any, num_epochs: Any, shuffle: Any) -> tuple[int, int | None, bool]:
    """``(batch_size, num_epochs, shuffle)``, checked."""
    flag = check_flag("shuffle", shuffle, _SHUFFLE_ERR.format(shuffle))
    size = check_count("batch_size", batch_size, 1, expected="a positive integer")
    epochs = check_count(
        "num_epochs", num_epochs, 1, allow_none=True, expected="None (repeat forever) or a positive integer"
    )
    return size, epochs, flag


def _batches(
    columns: dict[Any, _Column], n: int, batch_size: int, num_epochs: int | None, shuffle: bool
) -> Iterator[tuple[np.ndarray, dict[Any, np.ndarray]]]:
    """``(rows, batch)`` cut from one continuous stream of rows, epoch after epoch (as TF's queue feeds).

    Batches run across epoch boundaries; only the very last batch of a finite stream may be
    smaller. Each epoch is a fresh permutation when ``shuffle``.
    """
    if n == 0:
        return
    rng = np.random.default_rng(int(np.random.randint(0, 2**31 - 1))) if shuffle else None
    pending = np.empty(0, dtype=np.int64)
    epoch = 0
    while True:
        while len(pending) < batch_size and (num_epochs is None or epoch < num_epochs):
            order = rng.permutation(n) if rng is not None else np.arange(n)
            pending = np.concatenate([pending, order])
            epoch += 1
        if len(pending) == 0:
            return
        idx, pending = pending[:batch_size], pending[batch_size:]
        if rng is None and idx[-1] - idx[0] == len(idx) - 1:
            start = int(idx[0])
            yield idx, {k: v.take(slice(start, start + len(idx))) for k, v in columns.items()}
        else:
            yield idx, {k: v.take(idx) for k, v in columns.items()}


class _Column:
    """One column of an in-memory data set; string columns are dictionary-encoded once, so
    every batch carries its encoding (``EncodedStrings``) and feature columns look each distinct
    string up once."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.dictionary: np.ndarray | None = None
        if array.dtype.kind in "OUS" and array.size:
            codes, uniques = pd.factorize(array.reshape(-1), use_na_sentinel=False)
            self.codes = codes.astype(np.int64).reshape(array.shape)
            self.dictionary = np.asarray(uniques, dtype=object)

    def take(self, index: slice | np.ndarray) -> np.ndarray:
        if self.dictionary is None:
            return self.array[index] if isinstance(index, slice) else self.array.take(index, axis=0)
        codes = self.codes[index] if isinstance(index, slice) else self.codes.take(index, axis=0)
        return encode_strings(codes, self.dictionary)


def _as_array(value: Any, what: str) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim == 0:
        raise ValueError(f"{what} must have a batch dimension; got a scalar {value!r}.")
    return array


def numpy_input_fn(
    x: dict[str, Any] | np.ndarray,
    y: dict[str, Any] | np.ndarray | None = None,
    batch_size: int = 128,
    num_epochs: int | None = 1,
    shuffle: bool | None = None,
    queue_capacity: int = 1000,
    num_threads: int = 1,
) -> Callable[..., Batches]:
    """An input_fn yielding ``(features, labels)`` batches of numpy arrays.

    Args:
        x: a dict of arrays (features by name) or one array (features given as one value).
        y: labels: an array, a dict of arrays, or None (features only, for predict).
        batch_size: examples per batch (only the last batch of a finite stream may be smaller).
        num_epochs: passes over the data; None repeats forever.
        shuffle: required: whether to shuffle each epoch.
        queue_capacity, num_threads: accepted for compatibility; batching needs no queue.

    Example:
        >>> input_fn = te.inputs.numpy_input_fn({"x": xs}, ys, batch_size=32, num_epochs=None, shuffle=True)
    """
    del queue_capacity, num_threads
    batch_size, num_epochs, shuffle = _check_common(batch_size, num_epochs, shuffle)
    direct_x = not isinstance(x, dict)
    if direct_x and not isinstance(x, (np.ndarray, list)):
        raise TypeError(f"x must be a dict or array; got {type(x).__name__}")
    if direct_x and np.asarray(x).size == 0:
        raise ValueError("x cannot be an empty array")
    if not direct_x and not x:
        raise ValueError("x cannot be an empty dict")
    x_dict = (
        {k: _as_array(v, f"x[{k!r}]") for k, v in x.items()} if isinstance(x, dict) else {"__x__": _as_array(x, "x")}
    )
    direct_y = y is not None and not isinstance(y, dict)
    y_dict: dict[str, np.ndarray] = {}
    if isinstance(y, dict) and not y:
        raise ValueError("y cannot be empty dict, use None instead.")
    if y is not None:
        y_dict = (
            {k: _as_array(v, f"y[{k!r}]") for k, v in y.items()}
            if isinstance(y, dict)
            else {"__y__": _as_array(y, "y")}
        )
        shared = sorted(set(x_dict) & set(y_dict))
        if shared:
            raise ValueError(f"{len(shared)} duplicate keys are found in both x and y: {shared}")
    lengths = {k: len(v) for k, v in {**x_dict, **y_dict}.items()}
    if len(set(lengths.values())) > 1:
        shapes_x = {k: x_dict[k].shape for k in x_dict} if not direct_x else x_dict["__x__"].shape
        shapes_y = (
            None if y is None else (y_dict["__y__"].shape if direct_y else {k: v.shape for k, v in y_dict.items()})
        )
        raise ValueError(
            "Length of tensors in x and y is mismatched. All elements in x and y must have the same length.\n"
            f"Shapes in x: {shapes_x}\nShapes in y: {shapes_y}\n"
        )
    n = next(iter(lengths.values()))
    columns = {**{("x", k): _Column(v) for k, v in x_dict.items()}, **{("y", k): _Column(v) for k, v in y_dict.items()}}
    source = None if direct_x else InMemorySource({k: columns[("x", k)].take(slice(None)) for k in x_dict}, n)

    def batches() -> Generator[Any, None, None]:
        for rows, batch in _batches(columns, n, batch_size, num_epochs, shuffle):
            features = {k: v for (side, k), v in batch.items() if side == "x"}
            labels = {k: v for (side, k), v in batch.items() if side == "y"}
            f = features["__x__"] if direct_x else BatchFeatures(features, source, rows)
            if y is None:
                yield f
            else:
                yield f, (labels["__y__"] if direct_y else labels)

    length = None if num_epochs is None else -(-n * num_epochs // batch_size)

    def input_fn(input_context: Any = None) -> Batches:
        if input_context is None or input_context.num_input_pipelines == 1:
            return Batches(batches, length)
        shards, shard = input_context.num_input_pipelines, input_context.input_pipeline_id
        if batch_size % shards:
            raise ValueError(
                f"batch_size {batch_size} must be divisible by the {shards} input pipelines "
                "(each reads its slice of every global batch)."
            )

        def sharded() -> Generator[Any, None, None]:
            for batch in batches():
                yield _slice_batch(batch, shard, shards)

        return Batches(sharded, length)

    return input_fn


def _slice_batch(batch: Any, shard: int, shards: int) -> Any:
    """Slice ``shard`` of ``shards`` (equal parts, the last batch as even as it can be) of a batch."""
    if isinstance(batch, tuple):
        return tuple(_slice_batch(b, shard, shards) for b in batch)
    if isinstance(batch, dict):
        sliced = {k: _slice_batch(v, shard, shards) for k, v in batch.items()}
        if isinstance(batch, BatchFeatures):
            return BatchFeatures(sliced, batch.source, _slice_batch(batch.rows, shard, shards))
        return sliced
    n = len(batch)
    start, stop = shard * n // shards, (shard + 1) * n // shards
    return batch[start:stop]


def pandas_input_fn(
    x: Any,
    y: Any = None,
    batch_size: int = 128,
    num_epochs: int | None = 1,
    shuffle: bool | None = None,
    queue_capacity: int = 1000,
    num_threads: int = 1,
    target_column: str = "target",
) -> Callable[..., Batches]:
    """An input_fn yielding batches of a pandas DataFrame: features ``{column: array}``, labels ``y``.

    Args:
        x: a DataFrame of features.
        y: a Series (or DataFrame) of labels with the same index as ``x``, or None.
        batch_size, num_epochs, shuffle: as in ``numpy_input_fn`` (shuffle is required).
        target_column: the name ``y`` may not collide with (as in TensorFlow).
    """
    del queue_capacity, num_threads
    batch_size, num_epochs, shuffle = _check_common(batch_size, num_epochs, shuffle)
    if not isinstance(x, pd.DataFrame):
        raise TypeError(f"x must be a pandas DataFrame; got {type(x).__name__}.")
    if y is not None:
        if target_column in x.columns:
            raise ValueError(
                f"Cannot use name {target_column} for target column: DataFrame already has a column "
                f"with that name: {list(x.columns)}"
            )
        if not isinstance(y, (pd.Series, pd.DataFrame)):
            raise TypeError(f"y must be a pandas Series or DataFrame; got {type(y).__name__}.")
        if not np.array_equal(x.index, y.index):
            raise ValueError(f"Index for x and y are mismatched.\nIndex for x: {x.index}\nIndex for y: {y.index}\n")
    features = {str(c): x[c].to_numpy() for c in x.columns}
    labels: Any = None
    if isinstance(y, pd.DataFrame):
        labels = {str(c): y[c].to_numpy() for c in y.columns}
    elif y is not None:
        labels = y.to_numpy()
    return numpy_input_fn(features, labels, batch_size=batch_size, num_epochs=num_epochs, shuffle=shuffle)
