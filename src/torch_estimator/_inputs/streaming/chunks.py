"""Rows in flight as columns: what a source reads (``RawChunk``) and what the pipeline holds (``Chunk``)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa

__all__ = ["Chunk", "RawChunk", "num_rows", "concat", "take"]

#: Rows as numpy columns; string columns as int64 codes into a vocabulary.
Chunk = dict[str, np.ndarray]
#: Rows as a source reads them: numpy columns, string columns dictionary-encoded.
RawChunk = dict[str, "np.ndarray | pa.DictionaryArray"]


def num_rows(chunk: Mapping[str, np.ndarray | pa.Array]) -> int:
    """The number of rows of ``chunk`` (the length of its columns)."""
    return len(next(iter(chunk.values())))


def concat(pieces: list[Chunk]) -> Chunk:
    """The rows of ``pieces``, one after the other."""
    if len(pieces) == 1:
        return pieces[0]
    return {name: np.concatenate([piece[name] for piece in pieces]) for name in pieces[0]}


def take(chunk: Chunk, index: np.ndarray) -> Chunk:
    """The rows of ``chunk`` at ``index``."""
    return {name: values[index] for name, values in chunk.items()}
