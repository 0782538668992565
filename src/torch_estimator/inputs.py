"""Input functions: ``numpy_input_fn`` and ``pandas_input_fn`` over in-memory data,
``make_csv_input_fn`` and ``make_parquet_input_fn`` streaming files larger than memory.

The public ``te.inputs`` namespace; the implementation is in ``torch_estimator._inputs``.
"""

from torch_estimator._inputs.numpy_pandas import numpy_input_fn, pandas_input_fn
from torch_estimator._inputs.streaming import make_csv_input_fn, make_parquet_input_fn

__all__ = [
    "numpy_input_fn",
    "pandas_input_fn",
    "make_csv_input_fn",
    "make_parquet_input_fn",
]
