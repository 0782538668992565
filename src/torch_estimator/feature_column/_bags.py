"""``EmbeddingBag`` kernels of the dense and linear layers: the host half (pruning ids as
``safe_embedding_lookup_sparse`` does, combiner weights, offsets, one fused bag for several
columns) and the tensor half (the bag lookup, with sparse gradients for large tables)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from torch_estimator._core.layers import clip_rows_to_norm
from torch_estimator._core.trace import Bag
from torch_estimator._core.values import CategoricalIds, RaggedValue

__all__ = ["SPARSE_GRADIENT_MIN_ROWS", "prune", "bag_inputs", "bag_host", "fused_bag_host", "bag_from_host"]

#: Tables with at least this many rows get sparse (row-wise) gradients.
SPARSE_GRADIENT_MIN_ROWS = 50_000


def prune(ids: CategoricalIds, drop_nonpositive_weights: bool) -> tuple[RaggedValue, np.ndarray | None]:
    """Drops ids < 0 (and weights <= 0 when asked), as safe_embedding_lookup_sparse does."""
    keep = ids.ids.values >= 0
    if drop_nonpositive_weights and ids.weights is not None:
        keep &= ids.weights > 0
    if keep.all():
        return ids.ids, ids.weights
    return ids.ids.mask(keep), None if ids.weights is None else ids.weights[keep]


def bag_inputs(
    ids: CategoricalIds, combiner: str, num_rows: int, column: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(ids, row of each id, per-id weight or None)`` of a column's ids after pruning, with the
    weights normalised per row for ``mean`` / ``sqrtn`` so that a weighted sum gives the combined
    embedding. Ids beyond the ``num_rows`` of the table raise a ValueError naming ``column``."""
    ragged, weights = prune(ids, drop_nonpositive_weights=combiner != "sum")
    values = ragged.values
    if len(values) and int(values.max()) >= num_rows:
        i = int(np.flatnonzero(values >= num_rows)[0])
        raise ValueError(
            f"Feature column {column!r}: indices[{i}] = {int(values[i])} is not in [0, {num_rows}) (its num_buckets); "
            "categorical_column_with_identity maps such ids to its default_value when given one."
        )
    rows = ragged.row_ids()
    if combiner == "sum" or not len(values):
        return values, rows, weights
    batch = ragged.batch_size
    w = np.ones(len(values), dtype=np.float64) if weights is None else weights.astype(np.float64)
    if combiner == "mean":
        denom = np.bincount(rows, weights=w, minlength=batch)
    else:
        denom = np.sqrt(np.bincount(rows, weights=w**2, minlength=batch))
    return values, rows, (w / denom[rows]).astype(np.float32)


def _bag(ids: np.ndarray, rows: np.ndarray, weights: np.ndarray | None, batch: int, with_rows: bool = False) -> Bag:
    """The ``Bag`` of ``ids`` sorted by their ``rows`` (bag of each id) in ``batch`` bags."""
    counts = np.bincount(rows, minlength=batch)
    offsets = np.zeros(batch, dtype=np.int64)
    np.cumsum(counts[:-1], out=offsets[1:])
    return Bag(
        torch.from_numpy(ids.astype(np.int64, copy=False)),
        torch.from_numpy(offsets),
        None if weights is None else torch.from_numpy(weights.astype(np.float32, copy=False)),
        torch.from_numpy(rows.astype(np.int64, copy=False)) if with_rows else None,
    )


def bag_host(ids: CategoricalIds, combiner: str, num_rows: int, column: str, with_rows: bool = False) -> Bag:
    """The host half of a bag lookup of a column's ids in a table of ``num_rows`` rows (``rows``
    of each id too ``with_rows``, as a lookup clipping to a max_norm needs, and for every table
    small enough for dense gradients: ``bag_from_host`` sums their rows by bag)."""
    values, rows, weights = bag_inputs(ids, combiner, num_rows, column)
    return _bag(values, rows, weights, ids.batch_size, with_rows or num_rows < SPARSE_GRADIENT_MIN_ROWS)


def fused_bag_host(columns: Sequence[tuple[CategoricalIds, int, str]], combiner: str, batch: int) -> Bag:
    """One bag per row holding the ids of several columns (``(ids, num_rows, name)`` each) in their
    joint table, each column's rows after the previous ones'. ``mean``/``sqrtn`` weights are
    normalised per column, so the bag's sum is the sum of the columns' combined rows."""
    values, rows, weights, base = [], [], [], 0
    one_per_row = np.arange(batch, dtype=np.int64)
    for ids, num_rows, name in columns:
        v, r, w = bag_inputs(ids, combiner, num_rows, name)
        values.append(v + base)
        rows.append(r)
        weights.append(w)
        base += num_rows
    joint_weights: np.ndarray | None = None
    if all(len(r) == batch and np.array_equal(r, one_per_row) for r in rows):  # one id per row: interleave
        joint_ids = np.stack(values, axis=1).reshape(-1)
        joint_rows = np.repeat(one_per_row, len(values))
        if any(w is not None for w in weights):
            joint_weights = np.stack(_filled(weights, values), axis=1).reshape(-1)
    else:
        all_rows = np.concatenate(rows)
        order = np.argsort(all_rows, kind="stable")
        joint_ids, joint_rows = np.concatenate(values)[order], all_rows[order]
        if any(w is not None for w in weights):
            joint_weights = np.concatenate(_filled(weights, values))[order]
    return _bag(joint_ids, joint_rows, joint_weights, batch, with_rows=True)


def _filled(weights: list[np.ndarray | None], values: list[np.ndarray]) -> list[np.ndarray]:
    return [w if w is not None else np.ones(len(v), np.float32) for w, v in zip(weights, values)]


def bag_from_host(table: torch.Tensor, bag: Bag, device: torch.device, max_norm: float | None = None) -> torch.Tensor:
    """``out[b] = Σ weight·table[id]`` over the ids of bag b (rows clipped to ``max_norm`` first).

    Small tables gather their rows and add them up by bag (``index_select`` + ``index_add``: its
    backward is a scatter-add, where ``embedding_bag``'s sorts the ids); large tables use
    ``embedding_bag`` with sparse gradients."""
    ids = bag.ids.to(device)
    weights = None if bag.weights is None else bag.weights.to(device)
    sparse = table.shape[0] >= SPARSE_GRADIENT_MIN_ROWS
    if bag.rows is None or (sparse and max_norm is None):
        assert max_norm is None, "a max_norm lookup needs the bag of each id (bag_host with_rows)"
        return F.embedding_bag(
            ids, table, bag.offsets.to(device), mode="sum", per_sample_weights=weights, sparse=sparse
        )
    looked_up = F.embedding(ids, table, sparse=True) if sparse else table.index_select(0, ids)
    if max_norm is not None:
        looked_up = clip_rows_to_norm(looked_up, max_norm)
    if weights is not None:
        looked_up = looked_up * weights[:, None]
    out = torch.zeros(bag.offsets.shape[0], table.shape[1], dtype=table.dtype, device=device)
    return out.index_add(0, bag.rows.to(device), looked_up)
