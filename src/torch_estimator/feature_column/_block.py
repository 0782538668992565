"""The static block: the dense outputs of host-only columns (numeric, bucketized, indicator) side by
side in one ``[B, width]`` array, built on the host with a single ``bincount`` for every one-hot and
multi-hot part, so a batch costs a few array operations instead of several per column."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["HostBlock"]


class HostBlock:
    """A ``[batch, width]`` float32 block that columns write their parts into.

    Example:
      block = HostBlock(batch=2, width=3)
      block.put(0, np.array([[0.5], [1.5]], np.float32))    # a numeric column in column 0
      block.add(np.array([0, 1]), np.array([1, 2]))         # one-hot ids in columns 1-2
      block.tensor()  # [[0.5, 1, 0], [1.5, 0, 1]]
    """

    def __init__(self, batch: int, width: int) -> None:
        self._out = np.zeros((batch, width), dtype=np.float32)
        self._index: list[np.ndarray] = []
        self._weights: list[np.ndarray | None] = []

    def put(self, start: int, values: np.ndarray) -> None:
        """Copies ``values`` ``[batch, w]`` into columns ``start .. start + w``."""
        self._out[:, start : start + values.shape[1]] = values

    def add(self, rows: np.ndarray, columns: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Adds ``weights`` (1 when None) at ``(rows[i], columns[i])``; repeated positions sum."""
        self._index.append(rows * self._out.shape[1] + columns)
        self._weights.append(weights)

    def tensor(self) -> torch.Tensor:
        """The block, the added entries summed in with one ``bincount``."""
        out = self._out
        if self._index:
            index = np.concatenate(self._index)
            weights = None
            if any(w is not None for w in self._weights):
                weights = np.concatenate(
                    [w if w is not None else np.ones(len(i), np.float32) for w, i in zip(self._weights, self._index)]
                )
            out += np.bincount(index, weights=weights, minlength=out.size).reshape(out.shape).astype(np.float32)
        return torch.from_numpy(out)
