"""TensorFlow-compatible hashing, vectorised: Fingerprint64 of strings and the cross-hash chain.

``Fingerprint64`` (FarmHash, as ``tf.strings.to_hash_bucket_fast`` and ``tf.fingerprint``
use it) comes from pyfarmhash and is computed once per *distinct* value of a batch; the
``FingerprintCat64`` chain of crossed columns is numpy uint64 arithmetic over whole arrays.
"""

from __future__ import annotations

import farmhash
import numpy as np

from torch_estimator._core.values import DictionaryCache, per_distinct

__all__ = ["fingerprint64", "fingerprint_cat64", "hash_bucket", "CROSS_HASH_KEY"]

CROSS_HASH_KEY = 0xDECAFCAFFE
_K_MUL = np.uint64(0xC6A4A7935BD1E995)
_SHIFT = np.uint64(47)
_FINGERPRINTS = DictionaryCache(capacity=64)


def _as_text(value: object) -> str | bytes:
    return value if isinstance(value, (str, bytes)) else str(value)


def _fingerprint_distinct(uniques: np.ndarray) -> np.ndarray:
    return np.fromiter((farmhash.fingerprint64(_as_text(u)) for u in uniques), dtype=np.uint64, count=len(uniques))


def fingerprint64(values: np.ndarray) -> np.ndarray:
    """uint64 Fingerprint64 of each string (ints are hashed as their decimal string, as TF does)."""
    return per_distinct(values, _fingerprint_distinct, _FINGERPRINTS)


def hash_bucket(values: np.ndarray, num_buckets: int) -> np.ndarray:
    """``Fingerprint64(value) mod num_buckets`` as int64."""
    return (fingerprint64(values) % np.uint64(num_buckets)).astype(np.int64)


def _shift_mix(v: np.ndarray) -> np.ndarray:
    return v ^ (v >> _SHIFT)


def fingerprint_cat64(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """TensorFlow's ``FingerprintCat64(a, b)`` on uint64 arrays (arithmetic mod 2^64)."""
    with np.errstate(over="ignore"):
        result = a ^ _K_MUL
        result = result ^ (_shift_mix(b * _K_MUL) * _K_MUL)
        result = result * _K_MUL
        result = _shift_mix(result) * _K_MUL
        return _shift_mix(result)
