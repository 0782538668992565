"""Input functions over in-memory data: ``numpy_input_fn`` and ``pandas_input_fn``.

Batches are cut with vectorised index slicing (no per-row Python); each epoch is shuffled with a
permutation drawn from numpy's global generator, which ``RunConfig.tf_random_seed`` seeds.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

__all__ = ["numpy_input_fn", "pandas_input_fn"]

_SHUFFLE_ERR = "shuffle must be provided and explicitly set as boolean (it is recommended to set it as True for training); got {}"


def _check_common(batch_size: Any, num_epochs: Any, shuffle: Any) -> None:
    if not isinstance(shuffle, bool):
        raise ValueError(_SHUFFLE_ERR.format(shuffle))
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    if num_epochs is not None and (isinstance(num_epochs, bool) or not isinstance(num_epochs, (int, np.integer)) or num_epochs <= 0):
        raise ValueError(f"num_epochs must be None (repeat forever) or a positive integer; got {num_epochs!r}.")


def _batches(
    columns: dict[str, np.ndarray], n: int, batch_size: int, num_epochs: int | None, shuffle: bool
) -> Iterator[dict[str, np.ndarray]]:
    if n == 0:
        return
    seed = int(np.random.randint(0, 2**31 - 1)) if shuffle else 0
    rng = np.random.default_rng(seed)
    epoch = 0
    while num_epochs is None or epoch < num_epochs:
        order = rng.permutation(n) if shuffle else None
        for start in range(0, n, batch_size):
            if order is None:
                yield {k: v[start : start + batch_size] for k, v in columns.items()}
            else:
                idx = order[start : start + batch_size]
                yield {k: np.take(v, idx, axis=0) for k, v in columns.items()}
        epoch += 1


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
) -> Callable[[], Iterator[Any]]:
    """An input_fn yielding ``(features, labels)`` batches of numpy arrays.

    Args:
        x: a dict of arrays (features by name) or one array (features given as one value).
        y: labels: an array, a dict of arrays, or None (features only, for predict).
        batch_size: examples per batch (the last batch of the data may be smaller).
        num_epochs: passes over the data; None repeats forever.
        shuffle: required: whether to shuffle each epoch.
        queue_capacity, num_threads: accepted for compatibility; batching needs no queue.

    Example:
        >>> input_fn = te.inputs.numpy_input_fn({"x": xs}, ys, batch_size=32, num_epochs=None, shuffle=True)
    """
    del queue_capacity, num_threads
    _check_common(batch_size, num_epochs, shuffle)
    direct_x = not isinstance(x, dict)
    if direct_x and not isinstance(x, (np.ndarray, list)):
        raise TypeError(f"x must be a dict or array; got {type(x).__name__}")
    x_dict = {"__x__": _as_array(x, "x")} if direct_x else {k: _as_array(v, f"x[{k!r}]") for k, v in x.items()}  # type: ignore[union-attr]
    if not x_dict:
        raise ValueError("x cannot be empty")
    direct_y = y is not None and not isinstance(y, dict)
    y_dict: dict[str, np.ndarray] = {}
    if y is not None:
        y_dict = {"__y__": _as_array(y, "y")} if direct_y else {k: _as_array(v, f"y[{k!r}]") for k, v in y.items()}  # type: ignore[union-attr]
        shared = sorted(set(x_dict) & set(y_dict))
        if shared:
            raise ValueError(f"{len(shared)} duplicate keys are found in both x and y: {shared}")
    lengths = {k: len(v) for k, v in {**x_dict, **y_dict}.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(
            "Length of tensors in x and y is mismatched. All elements in x and y must have the same length.\n"
            + "\n".join(f"{k.strip('_') if k.startswith('__') else k}: {n}" for k, n in lengths.items())
        )
    n = next(iter(lengths.values()))
    columns = {**{("x", k): v for k, v in x_dict.items()}, **{("y", k): v for k, v in y_dict.items()}}

    def input_fn() -> Iterator[Any]:
        for batch in _batches(columns, n, int(batch_size), num_epochs, shuffle):  # type: ignore[arg-type]
            features = {k: v for (side, k), v in batch.items() if side == "x"}
            labels = {k: v for (side, k), v in batch.items() if side == "y"}
            f = features["__x__"] if direct_x else features
            if y is None:
                yield f
            else:
                yield f, (labels["__y__"] if direct_y else labels)

    return input_fn


def pandas_input_fn(
    x: Any,
    y: Any = None,
    batch_size: int = 128,
    num_epochs: int | None = 1,
    shuffle: bool | None = None,
    queue_capacity: int = 1000,
    num_threads: int = 1,
    target_column: str = "target",
) -> Callable[[], Iterator[Any]]:
    """An input_fn yielding batches of a pandas DataFrame: features ``{column: array}``, labels ``y``.

    Args:
        x: a DataFrame of features.
        y: a Series (or DataFrame) of labels with the same index as ``x``, or None.
        batch_size, num_epochs, shuffle: as in ``numpy_input_fn`` (shuffle is required).
        target_column: the name ``y`` may not collide with (as in TensorFlow).
    """
    import pandas as pd

    del queue_capacity, num_threads
    _check_common(batch_size, num_epochs, shuffle)
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
    return numpy_input_fn(features, labels, batch_size=int(batch_size), num_epochs=num_epochs, shuffle=shuffle)
