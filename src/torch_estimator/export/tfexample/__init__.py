"""``tf.train.Example`` protocol buffers in plain numpy: ``encode_example``, ``decode_example`` and
``parse_examples`` (``tf.io.parse_example``), over a small protobuf wire codec (``wire``)."""

from torch_estimator.export.tfexample.decode import decode_example
from torch_estimator.export.tfexample.encode import encode_example
from torch_estimator.export.tfexample.parse import parse_examples

__all__ = ["encode_example", "decode_example", "parse_examples"]
