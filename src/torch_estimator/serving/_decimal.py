"""Decimal numbers as TF Serving writes them (``WriteDecimal`` in ``json_tensor.cc``): six significant
digits when that round-trips, else full precision (9 digits for float32, 17 for float64); '.0'
appended to whole numbers; NaN, Infinity and -Infinity for non-finite values. A float32 0.2 is
written 0.2, not 0.20000000298023224."""

from __future__ import annotations

import numpy as np

__all__ = ["decimal_strings", "decimal_string"]

_FLOAT32_MAX = float(np.finfo(np.float32).max)
_SPECIAL = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def decimal_strings(values: np.ndarray) -> np.ndarray:
    """A string array of ``values``' shape; float64 arrays keep double precision, others are float32."""
    single = values.dtype != np.float64
    values = np.asarray(values, dtype=np.float32 if single else np.float64)
    flat = values.ravel()
    numbers = flat.tolist()
    texts = [f"{x:g}" for x in numbers]
    with np.errstate(invalid="ignore", over="ignore"):
        lossy = np.flatnonzero(np.isfinite(flat) & (np.array(texts, dtype=flat.dtype) != flat))
    for i in lossy.tolist():
        texts[i] = f"{numbers[i]:.9g}" if single else f"{numbers[i]:.17g}"
    out = np.empty(len(texts), dtype=object)
    out[:] = [_SPECIAL.get(t) or (t if "." in t or "e" in t else t + ".0") for t in texts]
    return out.reshape(values.shape)


def decimal_string(value: float) -> str:
    """One number, written as float32 when it is exactly one (as rapidjson's ``IsFloat`` decides)."""
    single = not np.isfinite(value) or (abs(value) <= _FLOAT32_MAX and float(np.float32(value)) == value)
    return str(decimal_strings(np.array([value], dtype=np.float32 if single else np.float64))[0])
