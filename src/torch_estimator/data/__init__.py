"""``te.data``: tf.data's ``Dataset``, its file sources (``TextLineDataset``, ``TFRecordDataset``)
and ``te.data.experimental.make_csv_dataset``, vectorised over numpy.

The implementation is in ``torch_estimator._inputs.data``.
"""

from torch_estimator._inputs.data.dataset import AUTOTUNE, Dataset, TensorSpec
from torch_estimator._inputs.data.files import TextLineDataset, TFRecordDataset
from torch_estimator.data import experimental

__all__ = ["AUTOTUNE", "Dataset", "TFRecordDataset", "TensorSpec", "TextLineDataset", "experimental"]
