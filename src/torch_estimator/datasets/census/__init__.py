"""The census income ("Adult") data set (UCI, CC BY 4.0), shipped with the package."""

from __future__ import annotations

import os

import pandas as pd

__all__ = ["CENSUS_COLUMNS", "load_census"]

CENSUS_COLUMNS = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "class",
)
_NUMERIC = {"age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"}
_FILES = {"train": "adult.data.csv.gz", "test": "adult.test.csv.gz"}


def load_census(split: str = "train") -> pd.DataFrame:
    """The ``'train'`` (32,561 rows) or ``'test'`` (16,281 rows) split as a DataFrame.

    Numeric columns are int64, the others strings (missing values stay ``'?'``); the label
    column ``class`` is ``'>50K'`` or ``'<=50K'``.
    """
    if split not in _FILES:
        raise ValueError(f"split must be one of {sorted(_FILES)}; got {split!r}.")
    path = os.path.join(os.path.dirname(__file__), _FILES[split])
    dtypes = {c: ("int64" if c in _NUMERIC else object) for c in CENSUS_COLUMNS}
    return pd.read_csv(path, dtype=dtypes, keep_default_na=False)
