"""Streaming input functions over CSV and Parquet files larger than memory.

``make_csv_input_fn`` (after ``tf.data.experimental.make_csv_dataset``) and
``make_parquet_input_fn`` return an ``input_fn(input_context=None)`` whose batches are read with
pyarrow in bounded chunks: at most a few chunks, the shuffle buffer and ``prefetch_buffer_size``
batches are in memory at once, whatever the size of the files.

Pipeline, per input pipeline (worker), one module a stage:

* ``files``: the sorted expansion of ``file_pattern``, sharded across pipelines (files, else
  Parquet row groups, else rows), read in a fresh random order every epoch when ``shuffle``;
* ``csv_source`` / ``parquet_source`` (each a ``source.Source``): CSV blocks (``chunk_rows``
  rows, approximately) or Parquet record batches, converted to numpy columns: numbers float32 /
  int64, strings dictionary-encoded (``fields``; CSV column types in ``csv_types``);
* ``shuffle``: a buffer of ``shuffle_buffer_size`` rows (tf.data's ``shuffle``), drained at the
  end of every epoch, so each epoch is complete before the next starts (``shuffle_and_repeat``);
* ``batching``: ``(features, labels)`` batches, or ``features`` alone when ``label_key`` is
  None, cut across epoch boundaries (only the last batch of a finite stream may be smaller);
  strings travel as codes into a bounded ``vocabulary`` and leave as ``EncodedStrings``;
* ``prefetch``: a background thread prepares up to ``prefetch_buffer_size`` batches ahead.

``input_fns`` puts them together.
"""

from torch_estimator._inputs.streaming.input_fns import make_csv_input_fn, make_parquet_input_fn

__all__ = ["make_csv_input_fn", "make_parquet_input_fn"]
