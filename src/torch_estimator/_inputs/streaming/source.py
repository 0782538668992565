"""The interface of a file format to the pipeline: ``Source`` (CSV and Parquet implement it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from torch_estimator._inputs.streaming.chunks import RawChunk
from torch_estimator._inputs.streaming.files import Part, Unit

__all__ = ["Source"]


class Source(Protocol):
    """Files of one format, read as chunks of typed columns."""

    def plan(self, shards: int, shard: int) -> tuple[list[Unit], Part | None]:
        """The units pipeline ``shard`` of ``shards`` reads, and the part of each block it keeps."""
        ...

    def read(self, unit: Unit, part: Part | None) -> Iterator[RawChunk]:
        """The rows of ``unit`` (``part`` of each block), in bounded chunks."""
        ...
