"""``te.estimator``: the ``tf.estimator`` namespace (``te.estimator.export`` and
``te.estimator.experimental`` included)."""

from torch_estimator import experimental, export
from torch_estimator._core.mode_keys import ModeKeys
from torch_estimator._core.not_provided import not_provided as _not_provided
from torch_estimator._core.spec import EstimatorSpec
from torch_estimator._engine.hooks import (
    CheckpointSaverHook,
    CheckpointSaverListener,
    FinalOpsHook,
    GlobalStepWaiterHook,
    LoggingTensorHook,
    NanLossDuringTrainingError,
    NanTensorHook,
    ProfilerHook,
    SecondOrStepTimer,
    SessionRunArgs,
    SessionRunContext,
    SessionRunHook,
    SessionRunValues,
    StepCounterHook,
    StopAtStepHook,
    SummarySaverHook,
)
from torch_estimator._engine.run_config import RunConfig
from torch_estimator._engine.warm_start import VocabInfo, WarmStartSettings
from torch_estimator._estimator.add_metrics import add_metrics
from torch_estimator._estimator.estimator import Estimator
from torch_estimator._estimator.exporters import BestExporter, Exporter, FinalExporter, LatestExporter
from torch_estimator._estimator.parsing_utils import classifier_parse_example_spec, regressor_parse_example_spec
from torch_estimator._estimator.training import EvalSpec, TrainSpec, train_and_evaluate
from torch_estimator.canned import (
    BaselineClassifier,
    BaselineEstimator,
    BaselineRegressor,
    DNNClassifier,
    DNNEstimator,
    DNNLinearCombinedClassifier,
    DNNLinearCombinedEstimator,
    DNNLinearCombinedRegressor,
    DNNRegressor,
    LinearClassifier,
    LinearEstimator,
    LinearRegressor,
)
from torch_estimator.head import (
    BinaryClassHead,
    Head,
    LogisticRegressionHead,
    MultiClassHead,
    MultiHead,
    MultiLabelHead,
    PoissonRegressionHead,
    RegressionHead,
)

__all__ = [
    "BaselineClassifier",
    "BaselineEstimator",
    "BaselineRegressor",
    "BinaryClassHead",
    "CheckpointSaverHook",
    "CheckpointSaverListener",
    "DNNClassifier",
    "DNNEstimator",
    "DNNLinearCombinedClassifier",
    "DNNLinearCombinedEstimator",
    "DNNLinearCombinedRegressor",
    "DNNRegressor",
    "FinalOpsHook",
    "GlobalStepWaiterHook",
    "Head",
    "LinearClassifier",
    "LinearEstimator",
    "LinearRegressor",
    "LoggingTensorHook",
    "LogisticRegressionHead",
    "MultiClassHead",
    "MultiHead",
    "MultiLabelHead",
    "NanLossDuringTrainingError",
    "NanTensorHook",
    "ProfilerHook",
    "PoissonRegressionHead",
    "RegressionHead",
    "SecondOrStepTimer",
    "SessionRunArgs",
    "SessionRunContext",
    "SessionRunHook",
    "SessionRunValues",
    "StepCounterHook",
    "StopAtStepHook",
    "SummarySaverHook",
    "add_metrics",
    "classifier_parse_example_spec",
    "regressor_parse_example_spec",
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


def __getattr__(name: str) -> object:
    raise _not_provided(__name__, name)
