"""tf.data's ``shuffle`` over streamed rows: a buffer of ``size`` rows; once it is full, each row
out is drawn uniformly from the buffer and its place taken by the next row in, so a row can stay
in the buffer for any number of draws (as in tf.data) and moves at most ``size`` places earlier.

The draws are one Python step per row over row numbers only; the rows themselves move a chunk at
a time (the buffer's rows and an incoming chunk are concatenated, the leaving rows gathered).
"""

from __future__ import annotations

import numpy as np

from torch_estimator._inputs.streaming.chunks import Chunk, concat, num_rows, take

__all__ = ["ShuffleBuffer"]


class ShuffleBuffer:
    """Rows in, the same rows out in random order; ``drain`` empties it (at the end of an epoch)."""

    def __init__(self, size: int, rng: np.random.Generator) -> None:
        self.size = size
        self.rng = rng
        self._rows: Chunk | None = None  # the buffered rows, at most ``size``

    def add(self, chunk: Chunk) -> list[Chunk]:
        """Takes the rows of ``chunk`` in; returns the rows that leave, in the order they leave."""
        incoming = num_rows(chunk)
        if incoming == 0:
            return []
        held = num_rows(self._rows) if self._rows is not None else 0
        pool = chunk if self._rows is None else concat([self._rows, chunk])  # concatenating widens strings
        fill = min(self.size - held, incoming)
        slots = list(range(held + fill))  # pool rows in the buffer, by buffer position
        leaving: list[int] = []
        if len(slots) == self.size:
            draws = self.rng.integers(0, self.size, incoming - fill).tolist()
            for t, position in enumerate(draws, start=held + fill):
                leaving.append(slots[position])
                slots[position] = t
        self._rows = take(pool, np.asarray(slots, dtype=np.int64))
        return [take(pool, np.asarray(leaving, dtype=np.int64))] if leaving else []

    def drain(self) -> Chunk | None:
        """All the rows held, in random order (None when there are none); the buffer is then empty."""
        rest, self._rows = self._rows, None
        return None if rest is None else take(rest, self.rng.permutation(num_rows(rest)))

    def held(self) -> list[Chunk]:
        """The chunks holding the buffered rows (their columns may be replaced in place)."""
        return [self._rows] if self._rows is not None else []
