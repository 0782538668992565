"""Training-loop hooks with TensorFlow's ``SessionRunHook`` protocol, and the built-in hooks.

The public ``te.hooks`` namespace; the implementation is in ``torch_estimator._engine.hooks``.
"""

from torch_estimator._engine.hooks import (
    CheckpointSaverHook,
    CheckpointSaverListener,
    FinalOpsHook,
    LoggingTensorHook,
    NanLossDuringTrainingError,
    NanTensorHook,
    SecondOrStepTimer,
    SessionRunArgs,
    SessionRunContext,
    SessionRunHook,
    SessionRunValues,
    StepCounterHook,
    StopAtStepHook,
    SummarySaverHook,
)

__all__ = [
    "SessionRunHook",
    "SessionRunArgs",
    "SessionRunContext",
    "SessionRunValues",
    "CheckpointSaverListener",
    "SecondOrStepTimer",
    "LoggingTensorHook",
    "StopAtStepHook",
    "StepCounterHook",
    "NanTensorHook",
    "NanLossDuringTrainingError",
    "CheckpointSaverHook",
    "SummarySaverHook",
    "FinalOpsHook",
]
