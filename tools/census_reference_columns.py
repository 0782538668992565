"""The census wide & deep columns of the TensorFlow reference (``tf_census_reference.py``) and of
``benchmarks/census_auc_parity.py``, built with either library's ``feature_column`` module (the
same names and arguments). Standard library only: TensorFlow's Python imports it too."""

from __future__ import annotations

from typing import Any

NUMERIC = ("age", "education-num", "capital-gain", "capital-loss", "hours-per-week")
VOCAB_KEYS = ("education", "marital-status", "relationship", "workclass")
AGE_BOUNDARIES = [18, 25, 30, 35, 40, 45, 50, 55, 60, 65]


def reference_columns(fc: Any, train: dict[str, Any]) -> tuple[list, list, dict[str, list[str]]]:
    """``(wide, deep, vocabularies)``; each vocabulary is the sorted distinct training values."""
    vocabs = {k: sorted(set(train[k].tolist())) for k in VOCAB_KEYS}
    cat = {k: fc.categorical_column_with_vocabulary_list(k, vocabs[k]) for k in VOCAB_KEYS}
    occupation = fc.categorical_column_with_hash_bucket("occupation", hash_bucket_size=1000)
    age_buckets = fc.bucketized_column(fc.numeric_column("age"), boundaries=AGE_BOUNDARIES)
    wide = [
        cat["education"],
        cat["marital-status"],
        cat["relationship"],
        cat["workclass"],
        occupation,
        age_buckets,
        fc.crossed_column(["education", "occupation"], hash_bucket_size=1000),
        fc.crossed_column([age_buckets, "education", "occupation"], hash_bucket_size=1000),
    ]
    deep = [fc.numeric_column(k) for k in NUMERIC] + [
        fc.indicator_column(cat["workclass"]),
        fc.indicator_column(cat["education"]),
        fc.indicator_column(cat["marital-status"]),
        fc.indicator_column(cat["relationship"]),
        fc.embedding_column(occupation, dimension=8),
    ]
    return wide, deep, vocabs
