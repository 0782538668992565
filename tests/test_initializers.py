"""te.initializers: TF's initializer names and defaults, and ``get``'s resolution."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

import torch_estimator as te

init = te.initializers


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_zeros_ones_and_a_scalar_constant(dtype):
    assert torch.equal(init.zeros()([2, 3], dtype), torch.zeros(2, 3, dtype=dtype))
    assert torch.equal(init.ones()([2], dtype), torch.ones(2, dtype=dtype))
    assert torch.equal(init.constant(2.5)((3,), dtype), torch.full((3,), 2.5, dtype=dtype))
    assert init.zeros()([2], dtype).dtype == dtype


def test_constant_array_must_have_the_variables_shape():
    value = np.arange(6.0).reshape(2, 3)
    out = init.constant(value)([2, 3], torch.float32)
    torch.testing.assert_close(out, torch.tensor(value, dtype=torch.float32))
    message = "constant initializer has shape (2, 3); the variable has shape (3, 2)."
    with pytest.raises(ValueError, match=re.escape(message)):
        init.constant(value)([3, 2], torch.float32)


def test_constant_copies_its_value():
    value = torch.ones(2)
    out = init.constant(value.numpy())([2], torch.float32)
    out += 1
    assert torch.equal(value, torch.ones(2))


def test_random_uniform_defaults_to_plus_minus_0_05():
    values = init.random_uniform()([10_000], torch.float32)
    assert float(values.min()) >= -0.05 and float(values.max()) < 0.05
    assert float(values.min()) < -0.049 and float(values.max()) > 0.049
    custom = init.random_uniform(2.0, 3.0)([1000], torch.float32)
    assert float(custom.min()) >= 2.0 and float(custom.max()) < 3.0


def test_random_normal_has_the_given_moments():
    values = init.random_normal(1.0, 2.0)([20_000], torch.float64)
    assert float(values.mean()) == pytest.approx(1.0, abs=0.05)
    assert float(values.std()) == pytest.approx(2.0, rel=0.03)


def test_truncated_normal_stays_within_two_standard_deviations():
    values = init.truncated_normal(0.5, 0.1)([20_000], torch.float32)
    assert float(values.min()) >= 0.5 - 0.2 - 1e-6 and float(values.max()) <= 0.5 + 0.2 + 1e-6
    assert float(values.mean()) == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize(
    "shape, fan_in, fan_out",
    [((300, 200), 300, 200), ((64,), 64, 64), ((3, 3, 16, 32), 9 * 16, 9 * 32), ((), 1, 1)],
    ids=["matrix", "vector", "conv", "scalar"],
)
def test_glorot_uniform_limit_uses_tfs_fans(shape, fan_in, fan_out):
    values = init.glorot_uniform()(shape, torch.float32)
    assert tuple(values.shape) == shape
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    assert float(values.abs().max()) <= limit
    if values.numel() > 1000:
        assert float(values.abs().max()) > 0.95 * limit


def test_glorot_normal_is_a_truncated_normal_with_tfs_corrected_stddev():
    values = init.glorot_normal()([400, 600], torch.float64)
    stddev = math.sqrt(2.0 / 1000) / 0.87962566103423978
    assert float(values.abs().max()) <= 2 * stddev + 1e-9
    # a normal truncated at two standard deviations keeps 0.8796 of its standard deviation
    assert float(values.std()) == pytest.approx(math.sqrt(2.0 / 1000), rel=0.02)


def test_get_resolves_none_names_constants_and_callables():
    assert torch.equal(init.get("zeros")([2], torch.float32), torch.zeros(2))
    assert torch.equal(init.get(3)([2], torch.float32), torch.full((2,), 3.0))
    assert torch.equal(init.get([1.0, 2.0])([2], torch.float32), torch.tensor([1.0, 2.0]))
    assert torch.equal(init.get(torch.tensor([4.0]))([1], torch.float32), torch.tensor([4.0]))

    def custom(shape, dtype):
        return torch.full(tuple(shape), 7.0, dtype=dtype)

    assert init.get(custom) is custom
    default = init.get(None)([300, 200], torch.float32)
    assert float(default.abs().max()) <= math.sqrt(6.0 / 500)


def test_get_names_every_initializer_it_knows():
    for name in ("zeros", "ones", "random_uniform", "random_normal", "truncated_normal", "glorot_uniform"):
        assert init.get(name)([3, 2], torch.float32).shape == (3, 2)
    with pytest.raises(ValueError, match=re.escape("Unknown initializer 'he_normal'; expected one of [")):
        init.get("he_normal")


def test_get_refuses_other_objects():
    message = "initializer must be None, a name, a constant or a callable (shape, dtype) -> tensor; got {}."
    with pytest.raises(TypeError, match=re.escape(message.format("{'a': 1}"))):
        init.get({"a": 1})


def test_orthogonal_gives_orthonormal_rows_or_columns():
    import torch_estimator as te

    tall = te.initializers.orthogonal()([6, 3], torch.float32)
    wide = te.initializers.orthogonal(gain=2.0)([3, 6], torch.float32)
    torch.testing.assert_close(tall.T @ tall, torch.eye(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(wide @ wide.T, 4 * torch.eye(3), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="at least two-dimensional"):
        te.initializers.orthogonal()([4], torch.float32)
