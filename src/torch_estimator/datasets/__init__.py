"""Small data sets shipped with the package."""

from __future__ import annotations

from torch_estimator.datasets.census import CENSUS_COLUMNS, load_census

__all__ = ["CENSUS_COLUMNS", "load_census"]
