"""Small data sets shipped with the package."""

from __future__ import annotations

from .census import CENSUS_COLUMNS, load_census

__all__ = ["CENSUS_COLUMNS", "load_census"]
