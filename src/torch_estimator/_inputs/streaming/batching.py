"""Rows in (chunks from a ``Source``), batches out: through a shuffle buffer when shuffling, then
cut from one continuous stream of rows, so batches run across epoch boundaries and only the last
batch of a finite stream may be smaller.

String columns travel as codes into a ``Vocabulary`` each, kept bounded: when it outgrows the rows
in flight, the strings no row uses any more are dropped. A batch's string features are
``EncodedStrings``: while a column has at most 4096 distinct strings its batches share one
dictionary, so feature columns look up or hash each string once for many batches; beyond that
each batch has a dictionary of its own.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import numpy as np
import pyarrow as pa

from torch_estimator._core.values import encode_strings
from torch_estimator._inputs.streaming.chunks import Chunk, RawChunk, concat, num_rows
from torch_estimator._inputs.streaming.files import Part, Unit
from torch_estimator._inputs.streaming.shuffle import ShuffleBuffer
from torch_estimator._inputs.streaming.source import Source
from torch_estimator._inputs.streaming.vocabulary import Vocabulary

__all__ = ["Features", "Batch", "Batcher", "stream"]

Features = dict[str, np.ndarray]
#: ``(features, labels)``, or features alone when there is no label column.
Batch = Features | tuple[Features, np.ndarray]

_SHARED_DICTIONARY_MAX = 4096  # larger vocabularies give each batch a dictionary of its own


class Batcher:
    """Cuts batches of ``batch_size`` rows from the chunks it is given, shuffled through ``shuffle``
    (None: in order); ``label_key`` names the labels column (None: features only)."""

    def __init__(self, batch_size: int, label_key: str | None, shuffle: ShuffleBuffer | None) -> None:
        self.batch_size = batch_size
        self.label_key = label_key
        self.shuffle = shuffle
        self.vocabularies: dict[str, Vocabulary] = {}
        self.pending: list[Chunk] = []  # rows out of the shuffle buffer, waiting for a full batch

    def add(self, raw: RawChunk) -> Iterator[Batch]:
        """The batches that the rows of ``raw`` complete."""
        chunk = self._encode(raw)
        if self.shuffle is None:
            self.pending.append(chunk)
        else:
            self.pending += self.shuffle.add(chunk)
        yield from self._batches(final=False)

    def end_epoch(self) -> Iterator[Batch]:
        """Empties the shuffle buffer (in random order), so epochs do not mix."""
        rest = self.shuffle.drain() if self.shuffle is not None else None
        if rest is not None:
            self.pending.append(rest)
        yield from self._batches(final=False)

    def end(self) -> Iterator[Batch]:
        """The last, possibly smaller, batch."""
        yield from self._batches(final=True)

    def _batches(self, final: bool) -> Iterator[Batch]:
        count = sum(num_rows(piece) for piece in self.pending)
        if count < self.batch_size and not (final and count):
            return
        rows = concat(self.pending)
        full = count - count % self.batch_size
        self.pending = [{name: values[full:].copy() for name, values in rows.items()}] if count > full else []
        for start in range(0, full, self.batch_size):
            yield self._batch({name: values[start : start + self.batch_size] for name, values in rows.items()})
        if final and count > full:
            yield self._batch(self.pending.pop())

    def _held(self) -> list[Chunk]:
        return [*self.pending, *(self.shuffle.held() if self.shuffle is not None else [])]

    def _encode(self, raw: RawChunk) -> Chunk:
        chunk: Chunk = {}
        for name, values in raw.items():
            if isinstance(values, pa.DictionaryArray):
                chunk[name] = self.vocabularies.setdefault(name, Vocabulary()).codes(values)
            else:
                chunk[name] = values
        held = self._held()
        live_rows = num_rows(chunk) + sum(num_rows(piece) for piece in held)
        for name, vocabulary in self.vocabularies.items():
            if len(vocabulary.values) > 2 * live_rows + _SHARED_DICTIONARY_MAX:
                # Renumbers the column's codes everywhere they live, dropping the unused strings.
                holders = [chunk, *held]
                for holder, codes in zip(holders, vocabulary.compact([holder[name] for holder in holders])):
                    holder[name] = codes
        return chunk

    def _batch(self, rows: Chunk) -> Batch:
        features = {name: self._feature(name, values) for name, values in rows.items() if name != self.label_key}
        if self.label_key is None:
            return features
        labels = rows[self.label_key]
        vocabulary = self.vocabularies.get(self.label_key)
        return features, labels if vocabulary is None else np.take(vocabulary.values, labels)

    def _feature(self, name: str, values: np.ndarray) -> np.ndarray:
        vocabulary = self.vocabularies.get(name)
        if vocabulary is None:
            return values
        if len(vocabulary.values) <= _SHARED_DICTIONARY_MAX:
            return encode_strings(values, vocabulary.values)
        used, codes = np.unique(values, return_inverse=True)  # the batch gets a dictionary of its own strings
        return encode_strings(codes.astype(np.int64, copy=False), vocabulary.values[used])


def stream(
    source: Source,
    units: list[Unit],
    part: Part | None,
    num_epochs: int | None,
    batcher: Batcher,
    rng: np.random.Generator | None,
) -> Generator[Batch, None, None]:
    """Batches, epoch after epoch: units in a fresh random order by ``rng`` (None: in order).

    An input that yields no rows in an epoch ends (rather than repeating nothing forever), as
    tf.data's ``repeat`` does."""
    epoch = 0
    while num_epochs is None or epoch < num_epochs:
        produced = False
        for i in rng.permutation(len(units)) if rng is not None else range(len(units)):
            for raw in source.read(units[i], part):
                produced = produced or num_rows(raw) > 0
                yield from batcher.add(raw)
        yield from batcher.end_epoch()
        if not produced:
            break
        epoch += 1
    yield from batcher.end()
