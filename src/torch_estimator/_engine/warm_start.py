"""Warm starting: a new model's variables start from another model's checkpoint.

``Estimator(warm_start_from=...)`` takes a path (checkpoint directory or prefix, or an export
directory) or a ``WarmStartSettings``. When model_dir has no checkpoint yet, training starts
from the selected variables of that checkpoint instead of their initializers; rows (or columns)
of vocabulary-backed variables can be remapped to a changed vocabulary with ``VocabInfo``.
Variables are created lazily by the model_fn, so the settings act through the variable store:
each variable takes its warm-start value when it is created.
"""

from __future__ import annotations

import collections
import logging
import os
import re
from typing import Any

import torch

from torch_estimator._core import checkpoint as _checkpoint
from torch_estimator._core import initializers

__all__ = ["VocabInfo", "WarmStartSettings", "WarmStarter", "warm_start_settings"]

logger = logging.getLogger("torch_estimator")

#: Where an export directory keeps its variables (a checkpoint prefix), as TF's SavedModel does.
SAVED_MODEL_VARIABLES = os.path.join("variables", "variables")


class VocabInfo(
    collections.namedtuple(
        "VocabInfo",
        ["new_vocab", "new_vocab_size", "num_oov_buckets", "old_vocab", "old_vocab_size", "backup_initializer", "axis"],
    )
):
    """How to remap a vocabulary-backed variable when its vocabulary changed.

    Entry ``i`` (``i < new_vocab_size``) of the new vocabulary takes the old variable's row (or
    column, with ``axis=1``) of the same word if the word is among the first ``old_vocab_size``
    entries of the old vocabulary; other entries and the ``num_oov_buckets`` OOV rows get
    ``backup_initializer``. The other dimension must be the same in both models.

    Args:
        new_vocab: path of the new vocabulary file (one entry per line).
        new_vocab_size: how many entries of ``new_vocab`` the new model uses.
        num_oov_buckets: OOV buckets after the vocabulary entries in the new variable.
        old_vocab: path of the vocabulary file the checkpoint was trained with.
        old_vocab_size: how many entries of ``old_vocab`` the checkpoint used (-1: all lines).
        backup_initializer: initializer of new and OOV entries (None: zeros); anything
            ``te.initializers.get`` accepts. Called as TF does: once with shape
            ``[number of new values, 1]`` (filled in row-major order) and once per OOV block.
        axis: 0 when the vocabulary indexes rows (embeddings, linear weights), 1 for columns
            (e.g. an output layer over a class vocabulary).

    Example:
        >>> info = te.VocabInfo("new_vocab.txt", 100, 1, "old_vocab.txt")
    """

    def __new__(
        cls,
        new_vocab: str,
        new_vocab_size: int,
        num_oov_buckets: int,
        old_vocab: str,
        old_vocab_size: int = -1,
        backup_initializer: Any = None,
        axis: int = 0,
    ) -> VocabInfo:
        if axis != 0 and axis != 1:
            raise ValueError(f"The only supported values for the axis argument are 0 and 1.  Provided axis: {axis}")
        return super().__new__(
            cls, new_vocab, new_vocab_size, num_oov_buckets, old_vocab, old_vocab_size, backup_initializer, axis
        )


class WarmStartSettings(
    collections.namedtuple(
        "WarmStartSettings",
        ["ckpt_to_initialize_from", "vars_to_warm_start", "var_name_to_vocab_info", "var_name_to_prev_var_name"],
    )
):
    """Which checkpoint a new model starts from, and which of its variables.

    Args:
        ckpt_to_initialize_from: a checkpoint directory (its latest checkpoint), a checkpoint
            prefix, or an export directory's ``variables/variables``.
        vars_to_warm_start: a regular expression (default ``'.*'``) matched (``re.match``)
            against the names of trainable variables; a list of such expressions, any of which
            selects a variable, trainable or not (e.g. batch-norm moving statistics); or None:
            only the variables in ``var_name_to_vocab_info``. The global step and optimizer
            slots are never warm-started.
        var_name_to_vocab_info: ``{variable name: VocabInfo}`` for variables whose vocabulary
            changed.
        var_name_to_prev_var_name: ``{variable name: its name in the checkpoint}`` for renamed
            variables.

    Example:
        >>> ws = te.WarmStartSettings("/tmp/old_model", vars_to_warm_start=".*input_layer.*")
        >>> est = te.DNNClassifier(hidden_units=[8], feature_columns=columns, warm_start_from=ws)
    """

    def __new__(
        cls,
        ckpt_to_initialize_from: str | os.PathLike[str],
        vars_to_warm_start: str | list[str] | None = ".*",
        var_name_to_vocab_info: dict[str, VocabInfo] | None = None,
        var_name_to_prev_var_name: dict[str, str] | None = None,
    ) -> WarmStartSettings:
        if not ckpt_to_initialize_from:
            raise ValueError("`ckpt_to_initialize_from` MUST be set in WarmStartSettings")
        return super().__new__(
            cls,
            ckpt_to_initialize_from,
            vars_to_warm_start,
            var_name_to_vocab_info or {},
            var_name_to_prev_var_name or {},
        )


def warm_start_settings(warm_start_from: Any) -> WarmStartSettings | None:
    """The settings an Estimator's ``warm_start_from`` argument stands for.

    A path warm-starts all trainable variables from it; an export directory (one holding
    ``variables/variables.safetensors``) from its variables.
    """
    if warm_start_from is None:
        return None
    if isinstance(warm_start_from, (str, bytes, os.PathLike)):
        path = os.fsdecode(warm_start_from)
        variables = os.path.join(path, SAVED_MODEL_VARIABLES)
        if _checkpoint.exists(variables):
            logger.info("Warm-starting from a SavedModel")
            return WarmStartSettings(ckpt_to_initialize_from=variables)
        return WarmStartSettings(ckpt_to_initialize_from=path)
    if isinstance(warm_start_from, WarmStartSettings):
        return warm_start_from
    raise ValueError(f"warm_start_from must be a string or a WarmStartSettings, instead got {type(warm_start_from)}")


class WarmStarter:
    """Applies ``WarmStartSettings`` to variables as a ``VariableStore`` creates them.

    Installed with ``store.set_warm_starter(starter)``; called as
    ``starter(name, initial_value, trainable)``, it returns the value the variable starts from,
    or None to keep ``initial_value``. ``finish()``, once the model_fn has created its
    variables, logs what was warm-started and rejects settings naming no such variable.
    """

    def __init__(self, settings: WarmStartSettings) -> None:
        self.settings = settings
        self._source = os.fsdecode(settings.ckpt_to_initialize_from)
        self._prefix = _resolve(self._source)
        self._selection = settings.vars_to_warm_start
        if isinstance(self._selection, list):
            if not all(isinstance(p, str) for p in self._selection):
                raise ValueError(
                    "If `vars_to_warm_start` is a list, it must be all `Variable` or all `str`.  Given types are "
                    f"{[type(p) for p in self._selection]}"
                )
        elif not (isinstance(self._selection, str) or self._selection is None):
            raise ValueError(f"`vars_to_warm_start must be a `list` or `str`.  Given type is {type(self._selection)}")
        self._shapes = dict(_checkpoint.list_variables(self._prefix))
        self._candidates: list[str] = []
        self._prev_names_used: set[str] = set()
        self._vocab_infos_used: set[str] = set()
        self.count = 0

    def __call__(self, name: str, initial_value: torch.Tensor, trainable: bool) -> torch.Tensor | None:
        if not self._selects(name, trainable):
            return None
        self._candidates.append(name)
        prev_name = self.settings.var_name_to_prev_var_name.get(name)
        if prev_name:
            self._prev_names_used.add(name)
        vocab_info = self.settings.var_name_to_vocab_info.get(name)
        if vocab_info:
            self._vocab_infos_used.add(name)
            value = _remap(name, initial_value, prev_name or name, self._load(prev_name or name), vocab_info)
        elif self._selection:
            value = self._load(prev_name or name)
            if tuple(value.shape) != tuple(initial_value.shape):
                raise ValueError(
                    f"Shape of variable {name}:0 ({tuple(initial_value.shape)}) doesn't match with shape of tensor "
                    f"{prev_name or name} ({list(value.shape)}) from checkpoint reader."
                )
        else:
            return None
        self.count += 1
        return value.to(dtype=initial_value.dtype)

    def finish(self) -> None:
        """Logs what was warm-started (TF's lines) and rejects names in the settings that matched
        no variable; called once the model_fn has created its variables."""
        logger.info("Warm-starting from: %s", self._source)
        if isinstance(self._selection, str) or self._selection is None:
            logger.info("Warm-starting variables only in TRAINABLE_VARIABLES.")
        logger.info("Warm-started %d variables.", self.count)
        viable = dict.fromkeys(self._candidates).keys()
        prev_unused = set(self.settings.var_name_to_prev_var_name) - self._prev_names_used
        if prev_unused:
            raise ValueError(
                "You provided the following variables in var_name_to_prev_var_name that were not used: "
                f"{prev_unused}.  Perhaps you misspelled them?  Here is the list of viable variable names: {viable}"
            )
        vocab_unused = set(self.settings.var_name_to_vocab_info) - self._vocab_infos_used
        if vocab_unused:
            raise ValueError(
                "You provided the following variables in var_name_to_vocab_info that were not used: "
                f"{vocab_unused}.  Perhaps you misspelled them?  Here is the list of viable variable names: {viable}"
            )

    def _selects(self, name: str, trainable: bool) -> bool:
        if self._selection is None:
            return trainable
        if isinstance(self._selection, str):
            return trainable and _matches(self._selection, name)
        return any(_matches(pattern, name) for pattern in self._selection)

    def _load(self, name: str) -> torch.Tensor:
        if name not in self._shapes:
            raise ValueError(f"Tensor {name} is not found in {self._source} checkpoint {self._shapes}")
        return _checkpoint.load_variable(self._prefix, name)


def _matches(pattern: str, name: str) -> bool:
    """``re.match`` on the name, or on TF's tensor name ``name:0`` (so TF's patterns keep working)."""
    return re.match(pattern, name) is not None or re.match(pattern, name + ":0") is not None


def _resolve(path: str) -> str:
    prefix = _checkpoint.resolve(path) or _checkpoint.resolve(os.path.join(path, SAVED_MODEL_VARIABLES))
    if prefix is None:
        raise ValueError(
            f"Could not find a checkpoint to warm-start from at ckpt_to_initialize_from: {path} (expected a checkpoint "
            "prefix, a directory with a checkpoint, or an export directory)."
        )
    return prefix


def _read_vocab(path: str, size: int) -> list[str]:
    """The first ``size`` entries (-1: all) of a vocabulary file, one per line."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    if size == -1:
        size = len(lines)
    if size < 1 or size > len(lines):
        raise ValueError(f"Invalid vocab_size in {path}: expected {size} but got {len(lines)}")
    entries = lines[:size]
    if "" in entries:
        raise ValueError(f"Invalid content in {path}: empty line found at position {entries.index('')}.")
    return entries


def _old_ids(info: VocabInfo) -> torch.Tensor:
    """For each new vocabulary entry, the line of the same entry in the old vocabulary, or -1."""
    old_index: dict[str, int] = {}
    for i, word in enumerate(_read_vocab(os.fspath(info.old_vocab), int(info.old_vocab_size))):
        if word in old_index:
            raise ValueError(
                f"Vocabulary file {info.old_vocab} has entry {word!r} twice (lines {old_index[word]} and {i})."
            )
        old_index[word] = i
    ids = [old_index.get(word, -1) for word in _read_vocab(os.fspath(info.new_vocab), int(info.new_vocab_size))]
    first_new_id: dict[int, int] = {}
    for new_id, old_id in enumerate(ids):
        if old_id >= 0 and first_new_id.setdefault(old_id, new_id) != new_id:
            raise ValueError(
                f"Old ID {old_id} is mapped to both new ID {first_new_id[old_id]} and {new_id}, which is not supported."
            )
    return torch.tensor(ids, dtype=torch.int64)


def _remap(name: str, initial: torch.Tensor, old_name: str, old: torch.Tensor, info: VocabInfo) -> torch.Tensor:
    """Variable ``name`` (``initial``) from checkpoint tensor ``old_name`` (``old``), remapped per ``info``."""
    if not (info.new_vocab and info.new_vocab_size and info.old_vocab):
        raise ValueError(
            "Invalid args: Must provide all of [current_vocab_path, current_vocab_size, prev_ckpt, prev_vocab_path}."
        )
    if info.num_oov_buckets < 0:
        raise ValueError(f"num_oov_buckets must be >= 0, but received {info.num_oov_buckets}")
    shape = tuple(initial.shape)
    if len(shape) != 2 and not (len(shape) == 1 and info.axis == 0):
        raise ValueError(f"Expected 2-dim shape, but received: {list(shape)}")
    flat = len(shape) == 1
    new_shape: tuple[int, ...] = (shape[0], 1) if flat else shape
    old = old.reshape(-1, 1) if flat and old.dim() == 1 else old
    axis, other = info.axis, 1 - info.axis
    n, k = int(info.new_vocab_size), int(info.num_oov_buckets)
    if new_shape[axis] != n + k:
        raise ValueError(
            f"Variable {name} has {new_shape[axis]} {('rows', 'columns')[axis]} but VocabInfo gives "
            f"new_vocab_size ({n}) + num_oov_buckets ({k}) = {n + k}."
        )
    if old.dim() != 2:
        raise ValueError(
            f"Tensor {old_name} has shape {list(old.shape)} in the checkpoint; remapping by vocabulary needs a matrix."
        )
    if old.shape[other] != new_shape[other]:
        raise ValueError(
            f"Tensor {old_name} has shape [{','.join(str(d) for d in old.shape)}], where the size of its "
            f"{('1st', '2nd')[other]} dimension is {old.shape[other]} instead of being equal to "
            f"{('num_rows', 'num_cols')[other]}={new_shape[other]}"
        )
    ids = _old_ids(info)
    present = ids >= 0
    if present.any() and int(ids.max()) >= old.shape[axis]:
        raise ValueError(
            f"Vocabulary file {info.old_vocab} has entries beyond the {old.shape[axis]} {('rows', 'columns')[axis]} of "
            f"checkpoint tensor {old_name}."
        )
    init = initializers.zeros() if info.backup_initializer is None else initializers.get(info.backup_initializer)
    dtype = initial.dtype
    old = old.to(dtype)
    if axis == 0:
        value = torch.empty(n, new_shape[1], dtype=dtype)
        value[present] = old[ids[present]]
        missing = (~present)[:, None].expand(n, new_shape[1])
    else:
        value = torch.empty(new_shape[0], n, dtype=dtype)
        value[:, present] = old[:, ids[present]]
        missing = (~present)[None, :].expand(new_shape[0], n)
    count = int(missing.sum())
    if count:
        value[missing] = init((count, 1), dtype).reshape(-1).to(dtype)
    if k:
        oov_shape = (k, new_shape[1]) if axis == 0 else (new_shape[0], k)
        value = torch.cat([value, init(oov_shape, dtype).to(dtype).reshape(oov_shape)], dim=axis)
    return value.reshape(shape)
