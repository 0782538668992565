"""Feature columns with ``tf.feature_column``'s names, arguments, variable names and hashing."""

from __future__ import annotations

from torch_estimator._core.parse_spec import FixedLenFeature, VarLenFeature
from torch_estimator._core.values import CategoricalIds, RaggedValue
from torch_estimator.feature_column._base import (
    CategoricalColumn,
    DenseColumn,
    FeatureColumn,
    Transformer,
    make_parse_example_spec,
)
from torch_estimator.feature_column._categorical import (
    categorical_column_with_hash_bucket,
    categorical_column_with_identity,
    categorical_column_with_vocabulary_file,
    categorical_column_with_vocabulary_list,
    weighted_categorical_column,
)
from torch_estimator.feature_column._crossed import crossed_column
from torch_estimator.feature_column._embedding import embedding_column, indicator_column, shared_embeddings
from torch_estimator.feature_column._layers import (
    DenseFeatures,
    LinearModel,
    input_layer,
    linear_model,
    transform_features,
)
from torch_estimator.feature_column._numeric import bucketized_column, numeric_column
from torch_estimator.feature_column._sequence import (
    SequenceFeatures,
    concatenate_context_input,
    sequence_categorical_column_with_hash_bucket,
    sequence_categorical_column_with_identity,
    sequence_categorical_column_with_vocabulary_file,
    sequence_categorical_column_with_vocabulary_list,
    sequence_numeric_column,
)

shared_embedding_columns = shared_embeddings

__all__ = [
    "FeatureColumn",
    "DenseColumn",
    "CategoricalColumn",
    "Transformer",
    "numeric_column",
    "bucketized_column",
    "categorical_column_with_vocabulary_list",
    "categorical_column_with_vocabulary_file",
    "categorical_column_with_hash_bucket",
    "categorical_column_with_identity",
    "crossed_column",
    "weighted_categorical_column",
    "embedding_column",
    "shared_embeddings",
    "shared_embedding_columns",
    "indicator_column",
    "make_parse_example_spec",
    "DenseFeatures",
    "LinearModel",
    "input_layer",
    "linear_model",
    "transform_features",
    "sequence_categorical_column_with_identity",
    "sequence_categorical_column_with_hash_bucket",
    "sequence_categorical_column_with_vocabulary_list",
    "sequence_categorical_column_with_vocabulary_file",
    "sequence_numeric_column",
    "SequenceFeatures",
    "concatenate_context_input",
    "FixedLenFeature",
    "VarLenFeature",
    "RaggedValue",
    "CategoricalIds",
]
