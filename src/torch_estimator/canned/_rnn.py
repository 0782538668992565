"""Recurrent estimators over sequence feature columns: ``RNNEstimator`` and ``RNNClassifier``
(``tf.estimator.experimental``), with TF 2.15's arguments, defaults and variable names.

The model: ``SequenceFeatures`` of the sequence columns (context columns, through
``DenseFeatures``, repeated at every step after them), a recurrent layer of keras-style cells
(``'simple_rnn'``, ``'lstm'``, ``'gru'``: keras' gate orders, activations, initializers and
``reset_after`` GRU), masked by the sequence lengths (a step past an example's length keeps its
state and output), then a dense ``rnn_model/logits`` layer on the last output. An optimizer given
by name gets learning rate 0.05 and clips each gradient to norm 5, as TF does.

Variables, as TF names them: ``sequence_features/<column>/...``, ``dense_features/...``;
``rnn_model/<lstm|gru|simple_rnn>/<type>_cell/{kernel,recurrent_kernel,bias}`` when ``units`` is
an int and ``cell_type`` names a cell, else ``rnn_model/rnn/<type>_cell/...`` for one cell and
``rnn_model/rnn/stacked_rnn_cells/<type>_cell[_i]/...`` for several; ``rnn_model/logits/...``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from torch_estimator._core import summary
from torch_estimator._core.initializers import orthogonal
from torch_estimator._core.layers import dense
from torch_estimator._core.losses import Reduction
from torch_estimator._core.mode_keys import ModeKeys
from torch_estimator._core.spec import EstimatorSpec
from torch_estimator._core.variables import get_variable, module, variable_scope
from torch_estimator._engine.run_config import RunConfig
from torch_estimator.canned._common import check_features, check_head, classifier_head, get_optimizer_instance
from torch_estimator.canned._estimators import _CannedEstimator
from torch_estimator.feature_column import DenseFeatures, FeatureColumn
from torch_estimator.feature_column._sequence import SequenceFeatures, concatenate_context_input
from torch_estimator.head import Head

__all__ = ["RNNEstimator", "RNNClassifier", "USE_DEFAULT"]

_DEFAULT_LEARNING_RATE = 0.05
_DEFAULT_CLIP_NORM = 5.0
_CELL_TYPES = ("simple_rnn", "lstm", "gru")
_GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


class _UseDefault:
    def __repr__(self) -> str:
        return "USE_DEFAULT"


#: The default of ``cell_type`` (TF's marker for "not given": 'simple_rnn' unless ``rnn_cell_fn``).
USE_DEFAULT: Any = _UseDefault()

State = tuple[torch.Tensor, ...]
Step = Callable[[torch.Tensor, State], tuple[torch.Tensor, State]]


class _KerasCell:
    """A keras-style cell (its variables made on the first call in the current scope)."""

    def __init__(self, kind: str, units: int, scope: str) -> None:
        self.kind, self.units, self.scope = kind, units, scope

    def zero_state(self, batch: int, like: torch.Tensor) -> State:
        h = like.new_zeros(batch, self.units)
        return (h, h.clone()) if self.kind == "lstm" else (h,)

    def bind(self, input_dim: int, dtype: torch.dtype) -> Step:
        """The step function with this call's variables looked up once (not at every step)."""
        u, gates = self.units, _GATES[self.kind]
        with variable_scope(self.scope):
            kernel = get_variable("kernel", [input_dim, gates * u], dtype, "glorot_uniform")
            recurrent = get_variable("recurrent_kernel", [u, gates * u], dtype, orthogonal())
            bias = get_variable("bias", [2, gates * u] if self.kind == "gru" else [gates * u], dtype, self._bias)
        return functools.partial(self._step, kernel, recurrent, bias)

    def _step(
        self, kernel: torch.Tensor, recurrent: torch.Tensor, bias: torch.Tensor, x: torch.Tensor, state: State
    ) -> tuple[torch.Tensor, State]:
        u = self.units
        h = state[0]
        if self.kind == "simple_rnn":
            h = torch.tanh(x @ kernel + bias + h @ recurrent)
            return h, (h,)
        if self.kind == "lstm":
            i, f, g, o = torch.split(x @ kernel + h @ recurrent + bias, u, dim=-1)
            c = torch.sigmoid(f) * state[1] + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            return h, (h, c)
        x_z, x_r, x_h = torch.split(x @ kernel + bias[0], u, dim=-1)
        h_z, h_r, h_h = torch.split(h @ recurrent + bias[1], u, dim=-1)
        z = torch.sigmoid(x_z + h_z)
        r = torch.sigmoid(x_r + h_r)
        h = z * h + (1 - z) * torch.tanh(x_h + r * h_h)
        return h, (h,)

    def _bias(self, shape: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
        bias = torch.zeros(tuple(shape), dtype=dtype)
        if self.kind == "lstm":  # keras' unit_forget_bias
            bias[self.units : 2 * self.units] = 1.0
        return bias


class _TorchCell:
    """A ``torch.nn.RNNCell`` / ``GRUCell`` / ``LSTMCell`` from ``rnn_cell_fn`` (its parameters are
    variables ``rnn_model/rnn/cell_<i>/...``)."""

    def __init__(self, cell: torch.nn.Module, name: str) -> None:
        self.cell, self.name = cell, name
        self.lstm = isinstance(cell, torch.nn.LSTMCell)
        self.units = int(cell.hidden_size)  # type: ignore[arg-type]

    def zero_state(self, batch: int, like: torch.Tensor) -> State:
        h = like.new_zeros(batch, self.units)
        return (h, h.clone()) if self.lstm else (h,)

    def bind(self, input_dim: int, dtype: torch.dtype) -> Step:
        """The step function of this call's module."""
        cell = module(self.name, lambda: self.cell)

        def step(x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
            if self.lstm:
                h, c = cell(x, (state[0], state[1]))
                return h, (h, c)
            h = cell(x, state[0])
            return h, (h,)

        return step


def _keras_cells(units: Any, cell_type: Any) -> tuple[str, list[_KerasCell]]:
    """The layer's scope and its cells, named as TF's ``_make_rnn_layer`` makes them."""
    kind = "simple_rnn" if cell_type is USE_DEFAULT else cell_type
    if kind not in _CELL_TYPES:
        raise ValueError(
            f"`cell_type` should be a class producing a RNN cell, or a string specifying the cell type. "
            f"Supported strings are: {list(_CELL_TYPES)}. Given: {cell_type!r}"
        )
    if isinstance(units, int) and not isinstance(units, bool) and cell_type is not USE_DEFAULT:
        return kind, [_KerasCell(kind, _positive(units), f"{kind}_cell")]
    if units is None or isinstance(units, (int, str)) or not list(units):
        raise ValueError(f"units must be an int or a non-empty list of ints (one per stacked cell); got {units!r}.")
    sizes = [_positive(u) for u in units]
    if len(sizes) == 1:
        return "rnn", [_KerasCell(kind, sizes[0], f"{kind}_cell")]
    names = [f"stacked_rnn_cells/{kind}_cell" + (f"_{i}" if i else "") for i in range(len(sizes))]
    return "rnn", [_KerasCell(kind, n, name) for n, name in zip(sizes, names, strict=True)]


def _positive(units: Any) -> int:
    if not isinstance(units, int) or isinstance(units, bool) or units < 1:
        raise ValueError(f"units must be positive integers; got {units!r}.")
    return units


def _torch_cells(rnn_cell_fn: Callable[[], Any]) -> list[_TorchCell]:
    made = rnn_cell_fn()
    cells = list(made) if isinstance(made, (list, tuple)) else [made]
    for cell in cells:
        if not isinstance(cell, (torch.nn.RNNCell, torch.nn.GRUCell, torch.nn.LSTMCell)):
            raise ValueError(
                "rnn_cell_fn must return a torch.nn.RNNCell, GRUCell or LSTMCell, or a list of them; "
                f"got {type(cell).__name__}."
            )
    return [_TorchCell(cell, f"cell_{i}") for i, cell in enumerate(cells)]


def run_cells(cells: Sequence[_KerasCell | _TorchCell], inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The last output of the stacked ``cells`` over ``inputs`` ``[B, T, d]``; steps at or past an
    example's length keep its state and output (keras' masking)."""
    batch, steps = inputs.shape[0], inputs.shape[1]
    dims = [inputs.shape[-1], *(cell.units for cell in cells[:-1])]
    step_fns = [cell.bind(dim, inputs.dtype) for cell, dim in zip(cells, dims, strict=True)]
    states = [cell.zero_state(batch, inputs) for cell in cells]
    output = inputs.new_zeros(batch, cells[-1].units)
    mask = torch.arange(steps, device=inputs.device)[None, :] < lengths.to(inputs.device)[:, None]
    for t in range(steps):
        x = inputs[:, t]
        new_states = []
        for step, state in zip(step_fns, states, strict=True):
            x, new_state = step(x, state)
            new_states.append(new_state)
        keep = mask[:, t : t + 1]
        states = [
            tuple(torch.where(keep, n, o) for n, o in zip(new, old, strict=True))
            for new, old in zip(new_states, states, strict=True)
        ]
        output = torch.where(keep, x, output)
    return output


class RNNEstimator(_CannedEstimator):
    """A recurrent network over sequence columns with a given head (see the module docstring)."""

    def __init__(
        self,
        head: Head,
        sequence_feature_columns: Sequence[FeatureColumn],
        context_feature_columns: Sequence[FeatureColumn] | None = None,
        units: int | Sequence[int] | None = None,
        cell_type: Any = USE_DEFAULT,
        rnn_cell_fn: Callable[[], Any] | None = None,
        return_sequences: bool = False,
        model_dir: str | None = None,
        optimizer: Any = "Adagrad",
        config: RunConfig | None = None,
    ) -> None:
        self._setup_canned(check_head(head), locals())

    def _canned_model_fn(self, head: Head, arguments: Mapping[str, Any]) -> Callable[..., EstimatorSpec]:
        if arguments["return_sequences"]:
            raise ValueError(
                "return_sequences=True needs TF's sequential heads (SequentialHeadWrapper), which are not provided; "
                "predict from the last step (return_sequences=False)."
            )
        rnn_cell_fn, units, cell_type = arguments["rnn_cell_fn"], arguments["units"], arguments["cell_type"]
        if rnn_cell_fn is not None and (units or cell_type is not USE_DEFAULT):
            raise ValueError("units and cell_type must not be specified when using rnn_cell_fn")
        cells: Sequence[_KerasCell | _TorchCell]
        if rnn_cell_fn is not None:
            layer_scope, cells = "rnn", _torch_cells(rnn_cell_fn)
        else:
            layer_scope, cells = _keras_cells(units, cell_type)
        sequence_layer = SequenceFeatures(arguments["sequence_feature_columns"])
        context = arguments["context_feature_columns"]
        context_layer = DenseFeatures(context) if context else None
        optimizer = arguments["optimizer"]

        def model_fn(features: Any, labels: Any, mode: str) -> EstimatorSpec:
            check_features(features)
            sequence_input, sequence_length = sequence_layer(features)
            summary.histogram("sequence_length", sequence_length)
            if context_layer is not None:
                sequence_input = concatenate_context_input(context_layer(features), sequence_input)
            with variable_scope("rnn_model"):
                with variable_scope(layer_scope):
                    last = run_cells(cells, sequence_input, sequence_length)
                logits = dense(last, head.logits_dimension, name="logits")
            opt = None
            if mode == ModeKeys.TRAIN:
                if isinstance(optimizer, str):
                    opt = get_optimizer_instance(optimizer, _DEFAULT_LEARNING_RATE)
                    opt.clipnorm = _DEFAULT_CLIP_NORM
                else:
                    opt = get_optimizer_instance(optimizer)
            return head.create_estimator_spec(features=features, mode=mode, labels=labels, logits=logits, optimizer=opt)

        return model_fn


class RNNClassifier(RNNEstimator):
    """A recurrent classifier over sequence columns (binary head for 2 classes, multi-class above)."""

    def __init__(
        self,
        sequence_feature_columns: Sequence[FeatureColumn],
        context_feature_columns: Sequence[FeatureColumn] | None = None,
        units: int | Sequence[int] | None = None,
        cell_type: Any = USE_DEFAULT,
        rnn_cell_fn: Callable[[], Any] | None = None,
        return_sequences: bool = False,
        model_dir: str | None = None,
        n_classes: int = 2,
        weight_column: Any = None,
        label_vocabulary: Sequence[str] | None = None,
        optimizer: Any = "Adagrad",
        loss_reduction: str = Reduction.SUM_OVER_BATCH_SIZE,
        sequence_mask: str = "sequence_mask",
        config: RunConfig | None = None,
    ) -> None:
        del sequence_mask  # the mask feature of sequential heads (return_sequences=True), not provided
        head = classifier_head(n_classes, weight_column, label_vocabulary, loss_reduction)
        super().__init__(
            head, sequence_feature_columns, context_feature_columns, units, cell_type, rnn_cell_fn,
            return_sequences, model_dir, optimizer, config,
        )  # fmt: skip
