"""Private implementation: what runs a model (layer 3, above ``_core``, ``feature_column`` and ``head``).

``run_loop`` (the one loop train, evaluate and predict share) with its ``steps``, the
``session`` hooks see, ``parallel`` (local or data-parallel runs), ``input_batches``, the built-in
``hooks`` and ``progress`` bar, ``run_config``, ``distribute``, ``events``, ``warm_start`` and
the ``model_dir_lock``.
"""
