"""The ``tf.estimator`` names torch_estimator leaves out on purpose, each with why: reaching for one
raises an AttributeError that says so (and what to use instead) rather than a bare "no attribute"."""

from __future__ import annotations

__all__ = ["REASONS", "not_provided"]

REASONS: dict[str, str] = {
    "FeedFnHook": (
        "it feeds TF1 placeholders through feed_dict, and a torch model has no placeholders: "
        "give the data to the model through input_fn"
    ),
    "tpu": "TPUEstimator and its configuration are TPU-only; use Estimator with RunConfig",
    "EvalOutput": (
        "it is the output of EVAL-mode SavedModels, and exports here are PREDICT-mode "
        "(experimental_export_all_saved_models refuses TRAIN and EVAL); evaluate with Estimator.evaluate"
    ),
    "build_raw_supervised_input_receiver_fn": (
        "its receivers feed TRAIN- and EVAL-mode SavedModels, and exports here are PREDICT-mode; "
        "use build_raw_serving_input_receiver_fn"
    ),
    "LinearSDCA": (
        "TF's SDCA optimizer runs its own sharded dual-coordinate-ascent kernels; "
        "train LinearClassifier/LinearRegressor with Ftrl (the default) or SGD"
    ),
}


def not_provided(module: str, name: str) -> AttributeError:
    """The error for ``module.name``: why it is left out when it is, else the usual message."""
    reason = REASONS.get(name)
    if reason is None:
        return AttributeError(f"module {module!r} has no attribute {name!r}")
    return AttributeError(f"{module}.{name} is not provided: {reason}.")
