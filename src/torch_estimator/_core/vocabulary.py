"""Ids of values in a vocabulary, vectorised: what vocabulary feature columns and heads with a
``label_vocabulary`` share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from torch_estimator._core.checks import text_key
from torch_estimator._core.values import DictionaryCache, per_distinct

__all__ = ["VocabularyIndex"]


class VocabularyIndex:
    """Positions of values in ``vocabulary``; bytes match the words their UTF-8 text spells.

    A value not in the vocabulary gets -1, or what ``unknown`` gives for the array of such values
    (e.g. out-of-vocabulary hash buckets).

    Example:
      >>> VocabularyIndex(["a", "b"]).ids(np.array(["b", "z", "b"], dtype=object))
      array([ 1, -1,  1])
    """

    def __init__(self, vocabulary: Sequence[Any], unknown: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        self._index = {word: i for i, word in enumerate(vocabulary)}
        self._unknown = unknown
        self._dictionaries = DictionaryCache()

    def distinct_ids(self, uniques: np.ndarray) -> np.ndarray:
        """The int64 ids of an array of distinct values, one dictionary look-up each."""
        index = self._index
        ids = np.fromiter((index.get(text_key(u), -1) for u in uniques.tolist()), dtype=np.int64, count=len(uniques))
        if self._unknown is not None:
            unknown = ids < 0
            if unknown.any():
                ids[unknown] = self._unknown(uniques[unknown])
        return ids

    def ids(self, values: np.ndarray) -> np.ndarray:
        """The int64 ids of ``values`` (any shape), each distinct value looked up once (a
        dictionary-encoded array's dictionary once per dictionary)."""
        return per_distinct(values, self.distinct_ids, self._dictionaries)
