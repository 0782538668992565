"""Input functions over in-memory data: ``numpy_input_fn`` and ``pandas_input_fn``.

The public ``te.inputs`` namespace; the implementation is in ``torch_estimator._inputs.numpy_pandas``.
"""

from torch_estimator._inputs.numpy_pandas import (
    make_csv_input_fn,
    make_parquet_input_fn,
    numpy_input_fn,
    pandas_input_fn,
)

__all__ = [
    "numpy_input_fn",
    "pandas_input_fn",
    "make_csv_input_fn",
    "make_parquet_input_fn",
]
