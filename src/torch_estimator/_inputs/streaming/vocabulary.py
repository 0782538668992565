"""The distinct strings of a streamed column: rows carry int64 codes into them through the pipeline."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Vocabulary"]


class Vocabulary:
    """The distinct strings of one column; rows carry int64 codes into ``values`` through the
    shuffle buffer. ``values`` is replaced, never modified, so batches may share it as their
    dictionary (feature columns then transform each distinct string once, not once per batch)."""

    def __init__(self) -> None:
        self.values = np.empty(0, dtype=object)
        self._arrow: pa.Array | None = None  # ``values`` as an arrow array, for hashed look-ups

    def codes(self, array: pa.DictionaryArray) -> np.ndarray:
        """The codes of the strings of ``array``; strings not seen before are added."""
        distinct = array.dictionary
        if self._arrow is None:
            self._arrow = pa.array([], type=distinct.type)
        distinct = distinct.cast(self._arrow.type)
        positions = pc.index_in(distinct, value_set=self._arrow)
        if positions.null_count:
            new = distinct.filter(positions.is_null())
            positions = positions.fill_null(-1).to_numpy(zero_copy_only=False, writable=True)
            positions[positions < 0] = np.arange(len(self.values), len(self.values) + len(new))
            self._arrow = pa.concat_arrays([self._arrow, new])
            self.values = np.concatenate([self.values, new.to_numpy(zero_copy_only=False).astype(object, copy=False)])
        else:
            positions = positions.to_numpy(zero_copy_only=False)
        return positions.astype(np.int64)[array.indices.to_numpy(zero_copy_only=False)]

    def compact(self, live: list[np.ndarray]) -> list[np.ndarray]:
        """Keeps only the strings ``live`` codes use; returns those codes renumbered."""
        used = np.unique(np.concatenate(live))
        self.values = self.values[used]
        self._arrow = self._arrow.take(pa.array(used)) if self._arrow is not None else None
        return [np.searchsorted(used, codes) for codes in live]
