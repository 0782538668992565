"""Numbers in responses are written as TF Serving writes them, whether a response holds a few
values (written one by one) or many (array operations)."""

from __future__ import annotations

import numpy as np
import pytest

from torch_estimator.serving._decimal import decimal_strings


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_few_and_many_values_are_written_alike(dtype: type) -> None:
    rng = np.random.default_rng(0)
    tiny = 5e-324 if dtype == np.float64 else 1e-45
    special = [
        0.2,
        1.0,
        -3.0,
        0.0,
        -0.0,
        1e20,
        123456.0,
        1234567.0,
        np.nan,
        np.inf,
        -np.inf,
        0.1 + 0.2,
        16777217.0,
        tiny,
    ]
    values = np.concatenate([rng.normal(size=300) * 10.0 ** rng.integers(-12, 12, 300), special]).astype(dtype)
    many = decimal_strings(values)
    few = np.concatenate([decimal_strings(values[i : i + 7]) for i in range(0, len(values), 7)])
    assert few.tolist() == many.tolist()
    assert decimal_strings(np.array([0.2, 3.0, np.nan], np.float32)).tolist() == ["0.2", "3.0", "NaN"]
    assert decimal_strings(np.array([[0.1 + 0.2]], np.float64)).tolist() == [["0.30000000000000004"]]
