"""A data-parallel training script for the distributed tests (run under torchrun, or alone).

``python _distributed_worker.py OUT_DIR STEPS [--slow]`` trains a wide & deep census model with a
global batch of 64 (each of N workers reads its 64/N slice through ``input_context``), then writes
this process's variables to ``OUT_DIR/vars-<rank>.safetensors`` and its pid to ``OUT_DIR/pid-<rank>``.
``--slow`` sleeps 50 ms per step (so a test can kill a worker mid-run).
"""

from __future__ import annotations

import logging
import os
import sys
import time

from safetensors.torch import save_file

import torch_estimator as te
from torch_estimator._census import census_columns, census_features
from torch_estimator.datasets import load_census


class _Slow(te.SessionRunHook):
    def after_run(self, run_context, run_values):
        time.sleep(0.05)


def main() -> None:
    out_dir, steps = sys.argv[1], int(sys.argv[2])
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=f"rank{os.environ.get('RANK', '0')} %(message)s")
    rank = te.RunConfig().global_id_in_cluster
    with open(os.path.join(out_dir, f"pid-{rank}"), "w") as f:
        f.write(str(os.getpid()))
    features, labels = census_features(load_census("train").head(2000))
    wide, deep = census_columns()
    # a table large enough for sparse gradients (averaged densely across workers)
    deep = deep + [
        te.feature_column.embedding_column(
            te.feature_column.categorical_column_with_hash_bucket("native-country", 60000), 4
        )
    ]
    est = te.DNNLinearCombinedClassifier(
        model_dir=os.path.join(out_dir, "model"),
        linear_feature_columns=wide,
        dnn_feature_columns=deep,
        dnn_hidden_units=[16, 8],
        dnn_optimizer=te.optimizers.Adagrad(0.1),
        linear_optimizer=te.optimizers.Ftrl(0.1),
        config=te.RunConfig(tf_random_seed=7, save_checkpoints_steps=5, log_step_count_steps=5),
    )
    input_fn = te.inputs.numpy_input_fn(features, labels, batch_size=64, num_epochs=None, shuffle=True)
    est.train(input_fn, steps=steps, hooks=[_Slow()] if "--slow" in sys.argv else None)
    values = {k: v.detach().contiguous() for k, v in est._model.store.variables().items()}
    save_file(values, os.path.join(out_dir, f"vars-{rank}.safetensors"))
    result = est.evaluate(te.inputs.numpy_input_fn(features, labels, batch_size=500, num_epochs=1, shuffle=False))
    print(f"rank {rank} global_step {result['global_step']} loss {result['loss']:.6f}", flush=True)


if __name__ == "__main__":
    main()
