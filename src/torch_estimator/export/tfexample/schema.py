"""The layout of ``tf.train.Example`` (``tensorflow/core/example/{example,feature}.proto``)::

    Example   { Features features = 1; }
    Features  { map<string, Feature> feature = 1; }     # entries: key = 1, value = 2
    Feature   { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
    BytesList { repeated bytes value = 1; }
    FloatList { repeated float value = 1 [packed = true]; }
    Int64List { repeated int64 value = 1 [packed = true]; }

A feature's values are of one kind: 'bytes', 'float' or 'int64'.
"""

from __future__ import annotations

import numpy as np

__all__ = ["KINDS", "LIST_TAG", "KIND_OF_TAG", "NUMPY_DTYPE"]

#: The ``Feature`` oneof, in field-number order (1, 2, 3).
KINDS = ("bytes", "float", "int64")
#: The tag (length-delimited) of each kind's list in a ``Feature``.
LIST_TAG = {kind: (number << 3) | 2 for number, kind in enumerate(KINDS, start=1)}
KIND_OF_TAG = {tag: kind for kind, tag in LIST_TAG.items()}
#: The numpy dtype of each kind's values (``bytes`` in object arrays).
NUMPY_DTYPE = {"bytes": np.dtype(object), "float": np.dtype(np.float32), "int64": np.dtype(np.int64)}
