"""``te.data.Dataset``: tf.data's pipeline verbs over numpy, vectorised underneath.

A dataset is a recipe for a stream of *chunks*: runs of consecutive elements stored column-wise
(each leaf an array whose first dimension counts the chunk's elements). Slicing verbs (``take``,
``skip``, ``shard``, ``shuffle``, ``repeat``, ``batch``, ``unbatch``, ``filter``'s selection) work on
whole chunks with numpy; a batched dataset's chunks hold one batch each. ``map`` and ``filter``
call their function once per element, as tf.data does: after ``batch`` an element is a batch, so
they run once per batch (the fast form); before it, once per example (the slow form).

Elements keep the order tf.data gives for the same pipeline without shuffling. Rows of an
in-memory source (``from_tensor_slices``) are tracked through the slicing verbs, so batches of
``from_tensor_slices(...)[.shuffle][.repeat].batch`` carry them (``BatchFeatures``) and feature
columns transform the whole source once, as for ``numpy_input_fn``; ``map`` ends the tracking.
"""

from __future__ import annotations

import glob
import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from torch_estimator._core.in_memory import BatchFeatures, InMemorySource
from torch_estimator._inputs.data.structure import LEAF, Tree, describe, flatten, normalize, unflatten
from torch_estimator._inputs.streaming.shuffle import ShuffleBuffer

__all__ = ["AUTOTUNE", "CHUNK_ELEMENTS", "Chunk", "Dataset", "TensorSpec"]

#: ``tf.data.AUTOTUNE``: accepted wherever a parallelism or buffer size is.
AUTOTUNE = -1
#: Elements per chunk read from a source.
CHUNK_ELEMENTS = 8192
_MAP_PIECE = 256  # elements mapped at a time by a per-element map


class TensorSpec:
    """``tf.TensorSpec(shape, dtype)``: the shape and dtype of a generator's values."""

    def __init__(self, shape: Sequence[int | None] | None, dtype: Any = "float32", name: str | None = None) -> None:
        self.shape = None if shape is None else tuple(shape)
        self.dtype = np.dtype(_dtype_name(dtype))
        self.name = name

    def __repr__(self) -> str:
        return f"TensorSpec(shape={self.shape}, dtype={self.dtype.name})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TensorSpec) and (self.shape, self.dtype) == (other.shape, other.dtype)

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype))


def _dtype_name(dtype: Any) -> str:
    if isinstance(dtype, torch.dtype):
        return str(dtype).replace("torch.", "")
    name = getattr(dtype, "name", dtype)
    return "str" if name == "string" else str(name)


class Chunk:
    """Consecutive elements column-wise; ``rows`` their source rows (same leading shape), or None."""

    __slots__ = ("leaves", "rows")

    def __init__(self, leaves: list[np.ndarray], rows: np.ndarray | None) -> None:
        self.leaves = leaves
        self.rows = rows

    @property
    def count(self) -> int:
        return len(self.leaves[0])

    def slice(self, start: int, stop: int) -> Chunk:
        return Chunk([leaf[start:stop] for leaf in self.leaves], None if self.rows is None else self.rows[start:stop])

    def take(self, index: np.ndarray) -> Chunk:
        return Chunk([leaf[index] for leaf in self.leaves], None if self.rows is None else self.rows[index])


def _concat(chunks: list[Chunk]) -> Chunk:
    if len(chunks) == 1:
        return chunks[0]
    leaves = [np.concatenate([c.leaves[i] for c in chunks]) for i in range(len(chunks[0].leaves))]
    rows = None if any(c.rows is None for c in chunks) else np.concatenate([c.rows for c in chunks])
    return Chunk(leaves, rows)


def _element(tree: Tree, chunk: Chunk, i: int) -> Any:
    return unflatten(tree, [leaf[i] for leaf in chunk.leaves])


class Dataset:
    """A tf.data-style pipeline of elements (dicts / tuples of numpy arrays); iterate it, or return
    it from an input_fn. Build one with ``from_tensor_slices``, ``from_tensors``, ``from_generator``,
    ``range``, ``zip``, or a file source (``te.data.TextLineDataset``, ``TFRecordDataset``,
    ``te.data.experimental.make_csv_dataset``)."""

    def __init__(
        self,
        tree: Tree | Callable[[], Tree],
        make: Callable[[], Iterator[Chunk]],
        source: InMemorySource | None = None,
        source_path: tuple[int, ...] | None = None,
    ) -> None:
        self._tree_source = tree
        self._make = make
        self._source = source
        self._source_path = source_path

    @property
    def _tree(self) -> Tree:
        """The elements' structure (found lazily for ``map`` and ``interleave``: their function's result)."""
        if not isinstance(self._tree_source, Tree):
            self._tree_source = self._tree_source()
        return self._tree_source

    def _derived(self, make: Callable[[], Iterator[Chunk]], keep_rows: bool = True) -> Dataset:
        """A dataset of this one's elements, streamed by ``make``."""
        return Dataset(lambda: self._tree, make, *((self._source, self._source_path) if keep_rows else (None, None)))

    # -- sources ------------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors: Any, name: str | None = None) -> Dataset:
        """One element per row of ``tensors`` (arrays, dicts and tuples of them, pandas frames)."""
        value = normalize(tensors, "from_tensor_slices")
        leaves, tree = flatten(value)
        if any(leaf.ndim == 0 for leaf in leaves):
            raise ValueError("from_tensor_slices: every component needs a first dimension to slice; got a scalar.")
        lengths = {int(leaf.shape[0]) for leaf in leaves}
        if len(lengths) > 1:
            raise ValueError(
                f"from_tensor_slices: all components must have the same first dimension; got {sorted(lengths)} "
                f"for {describe(tree)}."
            )
        n = lengths.pop() if lengths else 0
        source, path = _in_memory_source(value, n)

        def make() -> Iterator[Chunk]:
            for start in range(0, n, CHUNK_ELEMENTS):
                stop = min(start + CHUNK_ELEMENTS, n)
                yield Chunk([leaf[start:stop] for leaf in leaves], np.arange(start, stop))

        return Dataset(tree, make, source, path)

    @staticmethod
    def from_tensors(tensors: Any, name: str | None = None) -> Dataset:
        """A dataset of one element: ``tensors``."""
        leaves, tree = flatten(normalize(tensors, "from_tensors"))
        return Dataset(tree, lambda: iter([Chunk([leaf[None] for leaf in leaves], None)]))

    @staticmethod
    def range(*args: int, output_type: Any = "int64", name: str | None = None) -> Dataset:
        """``range(stop)``, ``range(start, stop[, step])`` as int64 elements."""
        bounds = range(*args)
        dtype = np.dtype(_dtype_name(output_type))

        def make() -> Iterator[Chunk]:
            for i in range(0, len(bounds), CHUNK_ELEMENTS):
                part = bounds[i : i + CHUNK_ELEMENTS]
                yield Chunk([np.arange(part.start, part.stop, part.step, dtype=dtype)], None)

        return Dataset(LEAF, make)

    @staticmethod
    def from_generator(
        generator: Callable[..., Any],
        output_types: Any = None,
        output_shapes: Any = None,
        args: Sequence[Any] | None = None,
        output_signature: Any = None,
        name: str | None = None,
    ) -> Dataset:
        """The elements ``generator(*args)`` yields (one Python call per element), cast to
        ``output_signature``'s (or ``output_types``') dtypes."""
        if not callable(generator):
            raise TypeError("`generator` must be a Python callable.")
        dtypes = _signature_dtypes(output_signature, output_types)
        signature = output_signature if output_signature is not None else output_types
        first: Tree | Callable[[], Tree] = (
            flatten(signature)[1] if signature is not None else (lambda: _first_tree(generator, args))
        )

        def make() -> Iterator[Chunk]:
            for item in generator(*(args or ())):
                leaves, tree = flatten(normalize(item, "from_generator"))
                expected = dataset._tree
                if tree != expected:
                    raise TypeError(
                        f"from_generator: the generator yielded {describe(tree)} where {describe(expected)} was "
                        "expected; every element must have the structure of the first (or output_signature)."
                    )
                if dtypes is not None:
                    leaves = [leaf.astype(d, copy=False) for leaf, d in zip(leaves, dtypes, strict=True)]
                yield Chunk([leaf[None] for leaf in leaves], None)

        dataset = Dataset(first, make)
        return dataset

    @staticmethod
    def list_files(
        file_pattern: Any, shuffle: bool | None = None, seed: int | None = None, name: str | None = None
    ) -> Dataset:
        """The files matching ``file_pattern`` (a glob, or a list of them), sorted, then shuffled
        unless ``shuffle=False`` (TF's default is to shuffle); no match raises."""
        patterns = [file_pattern] if isinstance(file_pattern, (str, os.PathLike)) else list(file_pattern)
        names = sorted({path for pattern in patterns for path in glob.glob(os.fspath(pattern))})
        if not names:
            raise FileNotFoundError(f"list_files: no files match {file_pattern!r}.")
        files = Dataset.from_tensor_slices(np.array(names))
        return files.shuffle(len(names), seed) if shuffle is None or shuffle else files

    @staticmethod
    def zip(datasets: Any, name: str | None = None) -> Dataset:
        """Elements of ``datasets`` (a tuple or dict of datasets) side by side, as long as the shortest."""
        if isinstance(datasets, Dataset):
            raise TypeError("Dataset.zip takes a tuple or dict of datasets; got one dataset.")
        parts = list(datasets.values()) if isinstance(datasets, dict) else list(datasets)
        if not parts or not all(isinstance(d, Dataset) for d in parts):
            raise TypeError(f"Dataset.zip takes a non-empty tuple or dict of datasets; got {datasets!r:.80}.")

        def tree() -> Tree:
            children = tuple(d._tree for d in parts)
            return (
                Tree("dict", tuple(datasets), children) if isinstance(datasets, dict) else Tree("tuple", (), children)
            )

        def make() -> Iterator[Chunk]:
            streams = [_Rechunker(d._make()) for d in parts]
            while True:
                heads = [s.peek() for s in streams]
                if any(h is None for h in heads):
                    return
                n = min(h.count for h in heads)  # type: ignore[union-attr]
                pieces = [s.take(n) for s in streams]
                yield Chunk([leaf for p in pieces for leaf in p.leaves], None)

        return Dataset(tree, make)

    # -- element-wise functions ---------------------------------------------------------------
    def map(
        self,
        map_func: Callable[..., Any],
        num_parallel_calls: int | None = None,
        deterministic: bool | None = None,
        name: str | None = None,
    ) -> Dataset:
        """``map_func(element)`` (tuples unpacked into arguments) for every element, in order.
        Once per element: after ``batch``, once per batch."""
        out: dict[str, Tree] = {}

        def apply(element: Any) -> tuple[list[np.ndarray], Tree]:
            tree = self._tree
            result = map_func(*element) if tree.kind == "tuple" else map_func(element)
            leaves, result_tree = flatten(normalize(result, "map result"))
            if "tree" in out and out["tree"] != result_tree:
                raise TypeError(
                    f"map: map_func returned {describe(result_tree)} after {describe(out['tree'])}; "
                    "it must return one structure."
                )
            out["tree"] = result_tree
            return leaves, result_tree

        def make() -> Iterator[Chunk]:
            for chunk in self._make():
                tree = self._tree
                for start in range(0, chunk.count, _MAP_PIECE):  # no more ahead of the consumer than this
                    stop = min(start + _MAP_PIECE, chunk.count)
                    yield from _stacked([apply(_element(tree, chunk, i))[0] for i in range(start, stop)])

        return Dataset(lambda: out.get("tree") or self._output_tree(apply), make)

    def _output_tree(self, apply: Callable[[Any], tuple[list[np.ndarray], Tree]]) -> Tree:
        """The structure ``apply`` gives, found on this dataset's first element (a leaf if empty)."""
        for chunk in self._make():
            if chunk.count:
                return apply(_element(self._tree, chunk, 0))[1]
        return LEAF

    def filter(self, predicate: Callable[..., Any], name: str | None = None) -> Dataset:
        """The elements for which ``predicate(element)`` is true (a scalar boolean)."""

        def keep(element: Any) -> bool:
            tree = self._tree
            result = np.asarray(predicate(*element) if tree.kind == "tuple" else predicate(element))
            if result.shape != () or result.dtype != np.bool_:
                raise ValueError(
                    f"filter: predicate must return a scalar boolean; got dtype {result.dtype}, shape {result.shape}."
                )
            return bool(result)

        def make() -> Iterator[Chunk]:
            for chunk in self._make():
                tree = self._tree
                mask = np.fromiter((keep(_element(tree, chunk, i)) for i in range(chunk.count)), bool, chunk.count)
                if mask.any():
                    yield chunk if mask.all() else chunk.take(np.flatnonzero(mask))

        return self._derived(make)

    def apply(self, transformation_func: Callable[[Dataset], Dataset]) -> Dataset:
        """``transformation_func(self)``."""
        result = transformation_func(self)
        if not isinstance(result, Dataset):
            raise TypeError(f"apply: transformation_func must return a Dataset; got {type(result).__name__}.")
        return result

    # -- slicing ------------------------------------------------------------------------------
    def take(self, count: int, name: str | None = None) -> Dataset:
        """The first ``count`` elements (all of them for -1)."""
        count = int(count)
        if count < 0:
            return self._derived(self._make)

        def make() -> Iterator[Chunk]:
            left = count
            if left == 0:
                return
            for chunk in self._make():
                if chunk.count >= left:
                    yield chunk.slice(0, left)
                    return
                left -= chunk.count
                yield chunk

        return self._derived(make)

    def skip(self, count: int, name: str | None = None) -> Dataset:
        """All but the first ``count`` elements (none for -1)."""
        count = int(count)

        def make() -> Iterator[Chunk]:
            if count < 0:
                return
            left = count
            for chunk in self._make():
                if left >= chunk.count:
                    left -= chunk.count
                    continue
                yield chunk.slice(left, chunk.count) if left else chunk
                left = 0

        return self._derived(make)

    def shard(self, num_shards: int, index: int, name: str | None = None) -> Dataset:
        """Every ``num_shards``-th element, from the ``index``-th (``input_context`` sharding)."""
        num_shards, index = int(num_shards), int(index)
        if num_shards < 1 or not 0 <= index < num_shards:
            raise ValueError(f"shard: index must be in [0, num_shards={num_shards}); got index={index}.")

        def make() -> Iterator[Chunk]:
            seen = 0
            for chunk in self._make():
                first = (index - seen) % num_shards
                seen += chunk.count
                if first < chunk.count:
                    yield chunk.take(np.arange(first, chunk.count, num_shards))

        return self._derived(make)

    def repeat(self, count: int | None = None, name: str | None = None) -> Dataset:
        """The elements ``count`` times over (forever for None or -1)."""
        times = None if count is None or int(count) < 0 else int(count)

        def make() -> Iterator[Chunk]:
            for _ in itertools.count() if times is None else range(times):
                empty = True
                for chunk in self._make():
                    empty = empty and chunk.count == 0
                    yield chunk
                if empty:
                    return  # repeating nothing forever would never end

        return self._derived(make)

    def shuffle(
        self,
        buffer_size: int,
        seed: int | None = None,
        reshuffle_each_iteration: bool | None = None,
        name: str | None = None,
    ) -> Dataset:
        """tf.data's shuffle: a buffer of ``buffer_size`` elements; each element out is drawn from it at
        random and replaced by the next one in. Reshuffled on every iteration unless told not to;
        without ``seed``, seeded from torch's generator (so ``RunConfig(tf_random_seed=...)`` fixes it)."""
        size = int(buffer_size)
        if size < 1 and size != AUTOTUNE:
            raise ValueError(f"shuffle: buffer_size must be positive (or AUTOTUNE); got {buffer_size}.")
        size = CHUNK_ELEMENTS if size == AUTOTUNE else size
        reshuffle = True if reshuffle_each_iteration is None else bool(reshuffle_each_iteration)
        state = {"iteration": 0, "entropy": -1}

        def make() -> Iterator[Chunk]:
            if seed is not None:
                key = [int(seed), state["iteration"] if reshuffle else 0]
            else:
                if state["entropy"] < 0 or reshuffle:
                    state["entropy"] = int(torch.randint(0, 2**62, ()).item())
                key = [state["entropy"]]
            state["iteration"] += 1
            rng = np.random.default_rng(key)
            buffer = ShuffleBuffer(size, rng)
            for chunk in self._make():
                for out in buffer.add(_columns(chunk)):
                    yield _from_columns(out)
            rest = buffer.drain()
            if rest is not None:
                yield _from_columns(rest)

        return self._derived(make)

    # -- batching -----------------------------------------------------------------------------
    def batch(
        self,
        batch_size: int,
        drop_remainder: bool = False,
        num_parallel_calls: int | None = None,
        deterministic: bool | None = None,
        name: str | None = None,
    ) -> Dataset:
        """Consecutive ``batch_size`` elements stacked into one (a smaller last one unless
        ``drop_remainder``); elements must agree in shape (see ``padded_batch``)."""
        n = _positive(batch_size, "batch_size")

        def make() -> Iterator[Chunk]:
            pending: list[Chunk] = []
            held = 0
            for chunk in self._make():
                _check_shapes(pending[0] if pending else None, chunk)
                pending.append(chunk)
                held += chunk.count
                if held < n:
                    continue
                rows = _concat(pending)
                full = rows.count - rows.count % n
                for start in range(0, full, n):
                    yield _as_batch(rows.slice(start, start + n))
                pending = [rows.slice(full, rows.count)] if full < rows.count else []
                held = rows.count - full
            if held and not drop_remainder:
                yield _as_batch(_concat(pending))

        return Dataset(lambda: self._tree, make, self._source, self._source_path)

    def padded_batch(
        self,
        batch_size: int,
        padded_shapes: Any = None,
        padding_values: Any = None,
        drop_remainder: bool = False,
        name: str | None = None,
    ) -> Dataset:
        """Like ``batch``, padding each component to the longest in the batch (or ``padded_shapes``;
        ``None`` dimensions to the longest) with ``padding_values`` (0, or '' for strings)."""
        n = _positive(batch_size, "batch_size")
        leaves_count = self._tree.num_leaves
        shapes = _per_leaf(padded_shapes, self._tree, leaves_count, "padded_shapes")
        pads = _per_leaf(padding_values, self._tree, leaves_count, "padding_values")

        def pad(items: list[Chunk]) -> Chunk:
            out = []
            for i in range(leaves_count):
                values = [leaf for c in items for leaf in c.leaves[i]]
                target = [max(v.shape[d] for v in values) for d in range(values[0].ndim)]
                if shapes[i] is not None:
                    wanted = tuple(shapes[i]) if isinstance(shapes[i], (tuple, list)) else (shapes[i],)
                    for d, w in enumerate(wanted):
                        if w is not None and w != -1:
                            if w < target[d]:
                                raise ValueError(
                                    f"padded_batch: an element of shape {values[0].shape} is larger than padded_shapes "
                                    f"{wanted} in dimension {d}."
                                )
                            target[d] = int(w)
                fill = pads[i] if pads[i] is not None else ("" if values[0].dtype.kind in "US" else 0)
                dtype = values[0].dtype if values[0].dtype.kind not in "U" else np.dtype(object)
                batch = np.full((len(values), *target), fill, dtype=dtype)
                for j, v in enumerate(values):
                    batch[j][tuple(slice(0, s) for s in v.shape)] = v
                out.append(batch.astype(str) if values[0].dtype.kind == "U" else batch)
            return Chunk([leaf[None] for leaf in out], None)

        def make() -> Iterator[Chunk]:
            items: list[Chunk] = []
            count = 0
            for chunk in self._make():
                for i in range(chunk.count):
                    items.append(chunk.slice(i, i + 1))
                    count += 1
                    if count == n:
                        yield pad(items)
                        items, count = [], 0
            if items and not drop_remainder:
                yield pad(items)

        return Dataset(lambda: self._tree, make)

    def unbatch(self, name: str | None = None) -> Dataset:
        """The rows of every element (a batch) as elements."""

        def make() -> Iterator[Chunk]:
            for chunk in self._make():
                for i in range(chunk.count):
                    leaves = [leaf[i] for leaf in chunk.leaves]
                    if any(leaf.ndim == 0 for leaf in leaves):
                        raise ValueError("unbatch: every component of an element needs a first dimension.")
                    if len({len(leaf) for leaf in leaves}) > 1:
                        raise ValueError("unbatch: the components of an element differ in their first dimension.")
                    yield Chunk(leaves, None if chunk.rows is None else chunk.rows[i])

        return self._derived(make)

    # -- combining ----------------------------------------------------------------------------
    def concatenate(self, dataset: Dataset, name: str | None = None) -> Dataset:
        """This dataset's elements, then ``dataset``'s (same structure required)."""
        if not isinstance(dataset, Dataset):
            raise TypeError(f"concatenate takes a Dataset; got {type(dataset).__name__}.")

        def check() -> Tree:
            if dataset._tree != self._tree:
                raise TypeError(
                    f"Two datasets to concatenate have different structures: {describe(self._tree)} and "
                    f"{describe(dataset._tree)}."
                )
            return self._tree

        if isinstance(self._tree_source, Tree) and isinstance(dataset._tree_source, Tree):
            check()  # known now: say so now, as TF does

        def make() -> Iterator[Chunk]:
            check()
            yield from self._make()
            yield from dataset._make()

        return Dataset(check, make)

    def interleave(
        self,
        map_func: Callable[..., Dataset],
        cycle_length: int | None = None,
        block_length: int | None = None,
        num_parallel_calls: int | None = None,
        deterministic: bool | None = None,
        name: str | None = None,
    ) -> Dataset:
        """tf.data's interleave: ``cycle_length`` datasets from ``map_func(element)`` open at once,
        ``block_length`` elements taken from each in turn; an exhausted one is replaced by the next
        element's dataset."""
        cycle = 1 if cycle_length in (None, AUTOTUNE) else _positive(cycle_length, "cycle_length")
        block = 1 if block_length in (None, AUTOTUNE) else _positive(block_length, "block_length")
        state: dict[str, Tree] = {}

        def open_next(inputs: Iterator[Any]) -> Iterator[Any] | None:
            element = next(inputs, None)
            if element is None:
                return None
            made = map_func(*element) if self._tree.kind == "tuple" else map_func(element)
            if not isinstance(made, Dataset):
                raise TypeError(f"interleave: map_func must return a Dataset; got {type(made).__name__}.")
            state["tree"] = made._tree
            return made._elements()

        def make() -> Iterator[Chunk]:
            inputs = self._elements()
            slots: list[Iterator[Any] | None] = [None] * cycle
            k = taken = 0
            end_of_input = False
            while True:
                slot = slots[k]
                if slot is not None:
                    item = next(slot, None)
                    if item is not None:
                        yield Chunk([np.asarray(leaf)[None] for leaf in flatten(item)[0]], None)
                        taken += 1
                        if taken < block:
                            continue
                    else:
                        slots[k] = None
                elif not end_of_input:
                    slots[k] = open_next(inputs)
                    if slots[k] is not None:
                        continue
                    end_of_input = True
                elif all(s is None for s in slots):
                    return
                k, taken = (k + 1) % cycle, 0

        def tree() -> Tree:
            if "tree" not in state:
                for _ in make():
                    break
            return state.get("tree", LEAF)

        return Dataset(tree, make)

    def cache(self, filename: str = "", name: str | None = None) -> Dataset:
        """The elements of the first complete iteration, kept in memory and replayed after it."""
        if filename:
            raise ValueError(
                f"cache(filename={filename!r}): caching to files is not supported; cache() keeps the elements "
                "in memory."
            )
        stored: list[list[Chunk]] = []

        def make() -> Iterator[Chunk]:
            if stored:
                yield from stored[0]
                return
            seen = []
            for chunk in self._make():
                seen.append(chunk)
                yield chunk
            stored.append(seen)

        return self._derived(make)

    def prefetch(self, buffer_size: int, name: str | None = None) -> Dataset:
        """The same elements (the Estimator's loop reads an in-memory pipeline in its own thread; see
        the README's "Speed")."""
        return self._derived(self._make)

    def enumerate(self, start: int = 0, name: str | None = None) -> Dataset:
        """``(index, element)`` pairs, counting from ``start``."""

        def make() -> Iterator[Chunk]:
            seen = int(start)
            for chunk in self._make():
                yield Chunk([np.arange(seen, seen + chunk.count, dtype=np.int64), *chunk.leaves], None)
                seen += chunk.count

        return Dataset(lambda: Tree("tuple", (), (LEAF, self._tree)), make)

    # -- reading ------------------------------------------------------------------------------
    def _elements(self) -> Iterator[Any]:
        for chunk in self._make():
            for i in range(chunk.count):
                yield _element(self._tree, chunk, i)

    def as_numpy_iterator(self) -> Iterator[Any]:
        """The elements as numpy arrays (strings as str), in their dict / tuple structure."""
        return self._elements()

    def __iter__(self) -> Iterator[Any]:
        """The elements; a batch of an in-memory source's rows carries them (see the module doc)."""
        path = self._source_path
        for chunk in self._make():
            for i in range(chunk.count):
                element = _element(self._tree, chunk, i)
                if path is not None and chunk.rows is not None and self._source is not None:
                    element = _with_source(element, path, self._source, chunk.rows[i])
                yield element

    @property
    def element_spec(self) -> Any:
        """The structure of ``TensorSpec``s of the elements (shapes of the first element)."""
        for chunk in self._make():
            if chunk.count:
                return unflatten(self._tree, [TensorSpec(leaf.shape[1:], leaf.dtype) for leaf in chunk.leaves])
        return None

    def __repr__(self) -> str:
        return f"<Dataset element structure: {describe(self._tree)}>"


# -- helpers ------------------------------------------------------------------------------------
def _positive(value: Any, what: str) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < 1:
        raise ValueError(f"{what} must be a positive integer; got {value!r}.")
    return int(value)


def _as_batch(chunk: Chunk) -> Chunk:
    """One element: the ``chunk``'s elements stacked."""
    return Chunk([leaf[None] for leaf in chunk.leaves], None if chunk.rows is None else chunk.rows[None])


def _check_shapes(first: Chunk | None, chunk: Chunk) -> None:
    if first is None:
        return
    for i, (a, b) in enumerate(zip(first.leaves, chunk.leaves, strict=True)):
        if a.shape[1:] != b.shape[1:]:
            raise ValueError(
                f"Cannot batch tensors with different shapes in component {i}. First element had shape "
                f"{list(a.shape[1:])} and element had shape {list(b.shape[1:])}; use padded_batch."
            )


def _stacked(results: list[list[np.ndarray]]) -> Iterator[Chunk]:
    """Per-element results as chunks: one chunk when every component's shape agrees."""
    if not results:
        return
    shapes = [leaf.shape for leaf in results[0]]
    if all([leaf.shape for leaf in r] == shapes for r in results):
        yield Chunk([np.stack([r[i] for r in results]) for i in range(len(shapes))], None)
        return
    for r in results:
        yield Chunk([leaf[None] for leaf in r], None)


def _columns(chunk: Chunk) -> dict[str, np.ndarray]:
    columns = {str(i): leaf for i, leaf in enumerate(chunk.leaves)}
    if chunk.rows is not None:
        columns["rows"] = chunk.rows
    return columns


def _from_columns(columns: dict[str, np.ndarray]) -> Chunk:
    leaves = [columns[str(i)] for i in range(len(columns) - ("rows" in columns))]
    return Chunk(leaves, columns.get("rows"))


class _Rechunker:
    """A chunk stream that can be cut at any element count."""

    def __init__(self, chunks: Iterator[Chunk]) -> None:
        self._chunks = chunks
        self._head: Chunk | None = None

    def peek(self) -> Chunk | None:
        while self._head is None or self._head.count == 0:
            self._head = next(self._chunks, None)
            if self._head is None:
                return None
        return self._head

    def take(self, n: int) -> Chunk:
        head = self.peek()
        assert head is not None
        piece = head.slice(0, n)
        self._head = head.slice(n, head.count) if n < head.count else None
        return piece


def _in_memory_source(value: Any, n: int) -> tuple[InMemorySource | None, tuple[int, ...] | None]:
    """The features dict an in-memory dataset's batches carry: the element itself, or the first
    component of a ``(features, labels)`` tuple."""
    if isinstance(value, dict) and value:
        return InMemorySource(value, n), ()
    if isinstance(value, tuple) and value and isinstance(value[0], dict) and value[0]:
        return InMemorySource(value[0], n), (0,)
    return None, None


def _with_source(element: Any, path: tuple[int, ...], source: InMemorySource, rows: np.ndarray) -> Any:
    if rows.ndim != 1:
        return element  # not a batch of rows
    if path == ():
        return BatchFeatures(element, source, rows) if isinstance(element, dict) else element
    if isinstance(element, tuple) and isinstance(element[0], dict):
        return (BatchFeatures(element[0], source, rows), *element[1:])
    return element


def _signature_dtypes(output_signature: Any, output_types: Any) -> list[np.dtype] | None:
    spec = output_signature if output_signature is not None else output_types
    if spec is None:
        return None
    leaves, _ = flatten(spec if isinstance(spec, (dict, tuple)) else spec)
    return [leaf.dtype if isinstance(leaf, TensorSpec) else np.dtype(_dtype_name(leaf)) for leaf in leaves]


def _first_tree(generator: Callable[..., Any], args: Sequence[Any] | None) -> Tree:
    for item in generator(*(args or ())):
        return flatten(normalize(item, "from_generator"))[1]
    return LEAF


def _per_leaf(value: Any, tree: Tree, count: int, what: str) -> list[Any]:
    """``value`` (a structure like the element's, or None) as one entry per leaf."""
    if value is None:
        return [None] * count

    def entries(v: Any, node: Tree) -> list[Any]:
        if node.kind == "leaf":
            return [v]
        if node.kind == "dict":
            if not isinstance(v, dict) or set(v) != set(node.keys):
                raise ValueError(f"padded_batch: {what} must match the element structure {describe(tree)}.")
            return [e for k, child in zip(node.keys, node.children, strict=True) for e in entries(v[k], child)]
        if not isinstance(v, tuple) or len(v) != len(node.children):
            raise ValueError(f"padded_batch: {what} must match the element structure {describe(tree)}.")
        return [e for item, child in zip(v, node.children, strict=True) for e in entries(item, child)]

    return entries(value, tree)
