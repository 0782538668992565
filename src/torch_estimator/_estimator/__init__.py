"""Private implementation: the ``Estimator`` (layer 5) and what builds on it: ``training``
(``train_and_evaluate``), ``exporters``, ``early_stopping`` and ``add_metrics``."""
