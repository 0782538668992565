"""TensorFlow-compatible hashing, vectorised: Fingerprint64 of strings and the cross-hash chain.

``Fingerprint64`` (FarmHash, as ``tf.strings.to_hash_bucket_fast`` and ``tf.fingerprint``
use it) comes from pyfarmhash and is computed once per *distinct* value of a batch; the
``FingerprintCat64`` chain of crossed columns is numpy uint64 arithmetic over whole arrays.
"""

from __future__ import annotations

import farmhash
import numpy as np
import pandas as pd

from torch_estimator._core.values import DictionaryCache, encoding_of

_FINGERPRINTS = DictionaryCache(capacity=64)

__all__ = ["factorize", "fingerprint64", "fingerprint_cat64", "hash_bucket", "CROSS_HASH_KEY"]

CROSS_HASH_KEY = 0xDECAFCAFFE
_K_MUL = np.uint64(0xC6A4A7935BD1E995)
_SHIFT = np.uint64(47)


def _as_text(value: object) -> str | bytes:
    return value if isinstance(value, (str, bytes)) else str(value)


def factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(uniques, codes)`` of a 1-D array by hashing (no sort): each distinct value once.

    An ``EncodedStrings`` array brings its own encoding, so nothing is hashed.
    """
    codes = getattr(values, "codes", None)
    if codes is not None and getattr(values, "dictionary", None) is not None:
        return values.dictionary, codes  # type: ignore[attr-defined]
    codes, uniques = pd.factorize(np.asarray(values), use_na_sentinel=False)
    return np.asarray(uniques, dtype=object if values.dtype.kind in "USO" else values.dtype), codes


def fingerprint64(values: np.ndarray) -> np.ndarray:
    """uint64 Fingerprint64 of each string (ints are hashed as their decimal string, as TF does)."""
    encoding = encoding_of(values)
    if encoding is not None:
        return np.take(_FINGERPRINTS.get(encoding[1], _fingerprint_unique), encoding[0]).reshape(np.shape(values))
    else:
        flat = np.asarray(values).reshape(-1)
        if flat.size == 0:
            return np.zeros(np.shape(values), dtype=np.uint64)
        uniques, inverse = factorize(flat)
    hashed = np.fromiter(
        (
            farmhash.fingerprint64(_as_text(u)) if not isinstance(u, bytes) else farmhash.fingerprint64(u)
            for u in uniques
        ),
        dtype=np.uint64,
        count=len(uniques),
    )
    return hashed[inverse].reshape(np.shape(values))


def _fingerprint_unique(uniques: np.ndarray) -> np.ndarray:
    return np.fromiter(
        (farmhash.fingerprint64(u) if isinstance(u, bytes) else farmhash.fingerprint64(_as_text(u)) for u in uniques),
        dtype=np.uint64,
        count=len(uniques),
    )


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
