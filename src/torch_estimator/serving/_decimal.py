"""Decimal numbers as TF Serving writes them (``WriteDecimal`` in ``json_tensor.cc``): six significant
digits when that round-trips, else full precision (9 digits for float32, 17 for float64); '.0'
appended to whole numbers; NaN, Infinity and -Infinity for non-finite values. A float32 0.2 is
written 0.2, not 0.20000000298023224."""

from __future__ import annotations

import numpy as np

__all__ = ["decimal_strings", "decimal_string"]

_FLOAT32_MAX = float(np.finfo(np.float32).max)
#: Up to this many values are written one by one (a small response), more with array operations.
_FEW = 16


def _one(value: float, single: bool) -> str:
    if value != value:
        return "NaN"
    if value in (np.inf, -np.inf):
        return "Infinity" if value > 0 else "-Infinity"
    text = f"{value:g}"
    if (float(np.float32(text)) if single else float(text)) != value:
        text = f"{value:.9g}" if single else f"{value:.17g}"
    return text if "." in text or "e" in text else text + ".0"


def decimal_strings(values: np.ndarray) -> np.ndarray:
    """A string array of ``values``' shape; float64 arrays keep double precision, others are float32."""
    single = values.dtype != np.float64
    values = np.asarray(values, dtype=np.float32 if single else np.float64)
    flat = values.ravel()
    if flat.size <= _FEW:
        out = np.empty(flat.size, dtype=object)
        out[:] = [_one(v, single) for v in flat.tolist()]
        return out.reshape(values.shape)
    finite = np.isfinite(flat)
    text = np.char.mod("%g", flat)
    with np.errstate(invalid="ignore", over="ignore"):
        lossy = finite & (np.where(finite, text, "0").astype(flat.dtype) != flat)
    if lossy.any():
        text = text.astype(object)
        text[lossy] = np.char.mod("%.9g" if single else "%.17g", flat[lossy])
        text = text.astype(str)
    whole = finite & (np.char.find(text, ".") < 0) & (np.char.find(text, "e") < 0)
    out = np.where(whole, np.char.add(text, ".0"), text).astype(object)
    if not finite.all():
        out[np.isnan(flat)] = "NaN"
        out[flat == np.inf] = "Infinity"
        out[flat == -np.inf] = "-Infinity"
    return out.reshape(values.shape)


def decimal_string(value: float) -> str:
    """One number, written as float32 when it is exactly one (as rapidjson's ``IsFloat`` decides)."""
    single = not np.isfinite(value) or (abs(value) <= _FLOAT32_MAX and float(np.float32(value)) == value)
    return str(decimal_strings(np.array([value], dtype=np.float32 if single else np.float64))[0])
