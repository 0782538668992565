"""``te.io``: ``tf.io``'s ``decode_csv``, ``parse_example`` / ``parse_single_example`` (with
``FixedLenFeature`` / ``VarLenFeature``) and ``TFRecordWriter``.

The implementations are in ``torch_estimator._inputs.data``.
"""

from torch_estimator._core.parse_spec import FixedLenFeature, VarLenFeature
from torch_estimator._inputs.data.csv_decode import decode_csv
from torch_estimator._inputs.data.example import parse_example, parse_single_example
from torch_estimator._inputs.data.files import TFRecordWriter

__all__ = [
    "FixedLenFeature",
    "TFRecordWriter",
    "VarLenFeature",
    "decode_csv",
    "parse_example",
    "parse_single_example",
]
