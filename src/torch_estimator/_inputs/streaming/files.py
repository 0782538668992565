"""The files of a ``file_pattern`` and how pipelines share them.

Sharding (``input_context.num_input_pipelines`` = n, ``input_pipeline_id`` = i): every row is
read by exactly one pipeline per epoch.

* at least n files: pipeline i reads files ``i, i + n, i + 2n, ...`` of the sorted list;
* fewer files, a format with row groups (Parquet) and at least n of them in all: pipeline i reads
  row groups ``i, i + n, ...`` of the sorted list of (file, row group);
* otherwise (row level): every pipeline reads every block and keeps its contiguous ``i``-th of
  ``n`` near-equal slices. Block boundaries are the same on every pipeline (same files, same
  block size), so the slices partition the rows.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Sequence
from typing import Any

from torch_estimator._core.checks import describe

__all__ = ["Unit", "Part", "expand_files", "shard_units", "part_slice"]

#: What a source reads as one piece: a file and its row groups to read (None: all of it).
Unit = tuple[str, "list[int] | None"]
#: ``(i, n)``: of every block read, keep the ``i``-th of ``n`` slices.
Part = tuple[int, int]


def expand_files(file_pattern: Any) -> list[str]:
    """The sorted, de-duplicated files matching ``file_pattern`` (a pattern or a list of them)."""
    patterns = [file_pattern] if isinstance(file_pattern, (str, os.PathLike)) else file_pattern
    if not isinstance(patterns, (list, tuple)) or not all(isinstance(p, (str, os.PathLike)) for p in patterns):
        raise TypeError(
            f"file_pattern must be a glob pattern (str or os.PathLike) or a list of them; got {describe(file_pattern)}."
        )
    if not patterns:
        raise ValueError("Argument `file_pattern` should not be empty.")
    files = sorted({path for pattern in patterns for path in glob.glob(os.fspath(pattern)) if os.path.isfile(path)})
    if not files:
        raise ValueError(f"No files match `file_pattern` {file_pattern}.")
    return files


def shard_units(
    files: Sequence[str], shards: int, shard: int, row_groups: Callable[[str], int] | None = None
) -> tuple[list[Unit], Part | None]:
    """The units pipeline ``shard`` of ``shards`` reads and the part of each block it keeps (see
    the module notes); ``row_groups(path)`` counts a file's row groups when the format has them."""
    if len(files) >= shards:
        return [(path, None) for path in files[shard::shards]], None
    if row_groups is not None:
        groups: list[Unit] = [(path, [group]) for path in files for group in range(row_groups(path))]
        if len(groups) >= shards:
            return groups[shard::shards], None
    return [(path, None) for path in files], (shard, shards) if shards > 1 else None


def part_slice(num_rows: int, part: Part | None) -> tuple[int, int]:
    """Rows ``[lo, hi)`` of a block of ``num_rows`` rows that ``part`` keeps."""
    if part is None:
        return 0, num_rows
    shard, shards = part
    return shard * num_rows // shards, (shard + 1) * num_rows // shards
