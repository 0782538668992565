"""The eval and predict key sets TensorFlow 2.15's canned heads report (sorted), shared by the head
and canned-estimator tests."""

BINARY_EVAL = [
    "accuracy",
    "accuracy_baseline",
    "auc",
    "auc_precision_recall",
    "average_loss",
    "global_step",
    "label/mean",
    "loss",
    "precision",
    "prediction/mean",
    "recall",
]
BINARY_PREDICT = ["all_class_ids", "all_classes", "class_ids", "classes", "logistic", "logits", "probabilities"]
MULTI_EVAL = ["accuracy", "average_loss", "global_step", "loss"]
MULTI_PREDICT = ["all_class_ids", "all_classes", "class_ids", "classes", "logits", "probabilities"]
REGRESSION_EVAL = ["average_loss", "global_step", "label/mean", "loss", "prediction/mean"]
