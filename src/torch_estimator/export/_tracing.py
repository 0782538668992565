"""The two ``ExportTrace`` implementations (see ``_core.trace``): the recorder, which runs a
model_fn eagerly on a sample batch and keeps what export writes as data, and the replayer, which
feeds the same layer calls from an exported program's inputs under ``torch.export``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from torch_estimator._core.trace import (
    HostInputs,
    NotExportableError,
    StringLookup,
    TracedLayer,
    string_array,
)

__all__ = ["Recorder", "Replayer"]


class Recorder:
    """Records each layer call (its configuration and host inputs) and each string output."""

    def __init__(self) -> None:
        self.configs: list[dict[str, Any]] = []
        self.inputs: list[HostInputs] = []
        #: id(string array) -> (the array, so the id stays its own; the ids; the table).
        self._strings: dict[int, tuple[np.ndarray, torch.Tensor, tuple[bytes, ...]]] = {}

    def layer_inputs(self, layer: TracedLayer, compute: Callable[[], HostInputs]) -> HostInputs:
        host = compute()
        self.configs.append(layer.export_config())
        self.inputs.append(host)
        return host

    def lookup_strings(self, ids: torch.Tensor, table: tuple[bytes, ...]) -> Any:
        array = string_array(ids, table)
        self._strings[id(array)] = (array, ids, table)
        return array

    def string_source(self, value: Any) -> tuple[torch.Tensor, tuple[bytes, ...]] | None:
        """``(ids, table)`` of a string output this trace produced, else None."""
        entry = self._strings.get(id(value)) if isinstance(value, np.ndarray) else None
        return None if entry is None else (entry[1], entry[2])


class Replayer:
    """Hands layer call ``i`` the program's host inputs ``inputs[i]``, in the structure recorded."""

    def __init__(self, recorded: Sequence[HostInputs], inputs: Sequence[Mapping[str, torch.Tensor]]) -> None:
        self._calls = [template.with_tensors(tensors) for template, tensors in zip(recorded, inputs)]
        self._next = 0

    def layer_inputs(self, layer: TracedLayer, compute: Callable[[], HostInputs]) -> HostInputs:
        if self._next >= len(self._calls):
            raise NotExportableError("The model_fn calls more feature-column layers when traced than when recorded.")
        self._next += 1
        return self._calls[self._next - 1]

    def lookup_strings(self, ids: torch.Tensor, table: tuple[bytes, ...]) -> Any:
        return StringLookup(ids, table)

    def string_source(self, value: Any) -> tuple[torch.Tensor, tuple[bytes, ...]] | None:
        """``(ids, table)`` of a string output this trace produced, else None."""
        return (value.ids, value.table) if isinstance(value, StringLookup) else None
