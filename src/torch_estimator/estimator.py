"""``te.estimator``: the ``tf.estimator`` namespace (``te.estimator.export`` and
``te.estimator.experimental`` included)."""

from . import experimental, export
from ._estimator import Estimator
from ._exporters import BestExporter, Exporter, FinalExporter, LatestExporter
from ._mode_keys import ModeKeys
from ._run_config import RunConfig
from ._spec import EstimatorSpec
from ._training import EvalSpec, TrainSpec, train_and_evaluate
from ._warm_start import VocabInfo, WarmStartSettings

__all__ = [
    "Estimator", "EstimatorSpec", "ModeKeys", "RunConfig", "TrainSpec", "EvalSpec", "train_and_evaluate",
    "Exporter", "LatestExporter", "BestExporter", "FinalExporter", "WarmStartSettings", "VocabInfo", "experimental", "export",
]
