"""tf.data-style datasets (``te.data``): the pipeline, file sources and CSV decoding."""
