"""Dataset elements as trees of numpy arrays: dicts and tuples are structure, everything else a
leaf (lists become arrays, as ``tf.constant`` makes them tensors); ``flatten`` and ``unflatten``
move between an element and its leaves."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

__all__ = ["Tree", "LEAF", "as_leaf", "normalize", "flatten", "unflatten", "describe"]


@dataclasses.dataclass(frozen=True)
class Tree:
    """The shape of an element's structure: ``kind`` 'leaf', 'dict' (``keys``) or 'tuple'."""

    kind: str
    keys: tuple[Any, ...] = ()
    children: tuple[Tree, ...] = ()

    @property
    def num_leaves(self) -> int:
        return 1 if self.kind == "leaf" else sum(child.num_leaves for child in self.children)


LEAF = Tree("leaf")


def as_leaf(value: Any, what: str) -> np.ndarray:
    """``value`` as a numpy array with TensorFlow's constant dtypes: Python ints int32 (int64 when
    they do not fit), Python floats float32, strings str; numpy and torch values keep theirs."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "to_numpy") and callable(value.to_numpy):  # a pandas Series or Index
        return np.asarray(value.to_numpy())  # object columns stay object arrays (missing values stay missing)
    if hasattr(value, "numpy") and callable(value.numpy):  # a TensorFlow eager tensor
        return np.asarray(value.numpy())
    if isinstance(value, np.generic):
        return np.asarray(value)
    array = np.asarray(value)
    if array.dtype.kind == "i" and not isinstance(value, np.ndarray):
        fits = array.size == 0 or (array.min() >= -(2**31) and array.max() < 2**31)
        return array.astype(np.int32) if fits else array
    if array.dtype.kind == "f":
        return array.astype(np.float32)
    if array.dtype.kind == "S":
        return array.astype(str)
    if array.dtype.kind == "O":
        raise ValueError(f"{what}: cannot make an array of {value!r:.80} (ragged or mixed values).")
    return array


def normalize(value: Any, what: str = "element") -> Any:
    """``value`` with dicts and tuples kept (pandas DataFrames become dicts of columns) and every
    other value a numpy leaf."""
    if isinstance(value, dict):
        return {k: normalize(v, f"{what}[{k!r}]") for k, v in value.items()}
    if hasattr(value, "columns") and hasattr(value, "to_numpy"):  # a pandas DataFrame
        return {str(c): as_leaf(value[c], f"{what}[{c!r}]") for c in value.columns}
    if isinstance(value, tuple):
        return tuple(normalize(v, f"{what}[{i}]") for i, v in enumerate(value))
    return as_leaf(value, what)


def flatten(value: Any) -> tuple[list[np.ndarray], Tree]:
    """The leaves of a normalized element, depth first, and its tree."""
    if isinstance(value, dict):
        leaves: list[np.ndarray] = []
        children = []
        for key in value:
            sub, tree = flatten(value[key])
            leaves += sub
            children.append(tree)
        return leaves, Tree("dict", tuple(value), tuple(children))
    if isinstance(value, tuple):
        leaves, children = [], []
        for item in value:
            sub, tree = flatten(item)
            leaves += sub
            children.append(tree)
        return leaves, Tree("tuple", (), tuple(children))
    return [value], LEAF


def unflatten(tree: Tree, leaves: list[Any]) -> Any:
    """The element of ``tree`` holding ``leaves``."""
    it = iter(leaves)

    def build(node: Tree) -> Any:
        if node.kind == "leaf":
            return next(it)
        items = [build(child) for child in node.children]
        return dict(zip(node.keys, items, strict=True)) if node.kind == "dict" else tuple(items)

    return build(tree)


def describe(tree: Tree) -> str:
    """A short description of a tree (for error messages)."""
    if tree.kind == "leaf":
        return "tensor"
    if tree.kind == "dict":
        return "{" + ", ".join(f"{k!r}: {describe(c)}" for k, c in zip(tree.keys, tree.children, strict=True)) + "}"
    return "(" + ", ".join(describe(c) for c in tree.children) + ")"
