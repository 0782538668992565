"""tf.data's ``shuffle`` over streamed rows, vectorised over whole chunks: a buffer of ``size``
rows; each incoming row takes the place of a row leaving from a uniformly random position."""

from __future__ import annotations

import numpy as np

from torch_estimator._inputs.streaming.chunks import Chunk, concat, num_rows, take

__all__ = ["ShuffleBuffer"]


class ShuffleBuffer:
    """Rows in, the same rows out in random order; ``drain`` empties it (at the end of an epoch)."""

    def __init__(self, size: int, rng: np.random.Generator) -> None:
        self.size = size
        self.rng = rng
        self._full: Chunk | None = None  # the buffer, once it holds ``size`` rows
        self._filling: list[Chunk] = []  # rows gathered while it does not yet

    def add(self, chunk: Chunk) -> list[Chunk]:
        """Takes the rows of ``chunk`` in; returns the rows that leave, in the order they leave."""
        size = self.size
        if self._full is None:
            self._filling.append(chunk)
            if sum(num_rows(piece) for piece in self._filling) < size:
                return []
            rows = concat(self._filling)
            self._filling = []
            self._full = {name: values[:size].copy() for name, values in rows.items()}
            chunk = {name: values[size:] for name, values in rows.items()}
        leaving = []
        n = num_rows(chunk)
        for start in range(0, n, size):
            stop = min(start + size, n)
            positions = self.rng.choice(size, stop - start, replace=False)
            leaving.append(take(self._full, positions))
            for name, values in self._full.items():
                incoming = chunk[name]
                if isinstance(values, np.ndarray) and getattr(incoming, "dtype", values.dtype) != values.dtype:
                    # e.g. longer fixed-width strings: widen the buffer rather than truncate them
                    values = self._full[name] = values.astype(np.result_type(values, incoming))
                values[positions] = incoming[start:stop]
        return leaving

    def drain(self) -> Chunk | None:
        """All the rows held, in random order (None when there are none); the buffer is then empty."""
        rest = self._full if self._full is not None else (concat(self._filling) if self._filling else None)
        self._full, self._filling = None, []
        return None if rest is None else take(rest, self.rng.permutation(num_rows(rest)))

    def held(self) -> list[Chunk]:
        """The chunks holding the buffered rows (their columns may be replaced in place)."""
        return [*self._filling, *([self._full] if self._full is not None else [])]
