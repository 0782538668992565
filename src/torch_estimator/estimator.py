"""``te.estimator``: the ``tf.estimator`` namespace (``te.estimator.export`` and
``te.estimator.experimental`` included)."""

from torch_estimator import experimental, export
from torch_estimator._core.mode_keys import ModeKeys
from torch_estimator._core.spec import EstimatorSpec
from torch_estimator._engine.run_config import RunConfig
from torch_estimator._engine.warm_start import VocabInfo, WarmStartSettings
from torch_estimator._estimator.estimator import Estimator
from torch_estimator._estimator.exporters import BestExporter, Exporter, FinalExporter, LatestExporter
from torch_estimator._estimator.training import EvalSpec, TrainSpec, train_and_evaluate

__all__ = [
    "Estimator",
    "EstimatorSpec",
    "ModeKeys",
    "RunConfig",
    "TrainSpec",
    "EvalSpec",
    "train_and_evaluate",
    "Exporter",
    "LatestExporter",
    "BestExporter",
    "FinalExporter",
    "WarmStartSettings",
    "VocabInfo",
    "experimental",
    "export",
]
