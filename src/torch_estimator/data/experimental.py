"""``te.data.experimental``: ``tf.data.experimental``'s ``make_csv_dataset`` and ``AUTOTUNE``."""

from torch_estimator._inputs.data.dataset import AUTOTUNE
from torch_estimator._inputs.data.files import make_csv_dataset

__all__ = ["AUTOTUNE", "make_csv_dataset"]
