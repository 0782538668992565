"""Capturing, restoring and seeding the random number generators training uses."""

from __future__ import annotations

import base64
import json
import random

import numpy as np
import torch

__all__ = ["seed_all", "get_state", "set_state"]


def seed_all(seed: int) -> None:
    """Seeds Python's ``random``, numpy's global generator and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _b64(t: torch.Tensor) -> str:
    return base64.b64encode(t.cpu().numpy().tobytes()).decode("ascii")


def _unb64(s: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.uint8)


def get_state() -> dict[str, str]:
    """All generator states as strings (stored in checkpoint metadata; no pickle)."""
    version, py_state, gauss = random.getstate()
    numpy_state = np.random.get_state()
    assert isinstance(numpy_state, tuple)  # the legacy form, get_state's default
    name, keys, pos, has_gauss, cached = numpy_state
    state = {
        "rng/python": json.dumps([version, list(py_state), gauss]),
        "rng/numpy": json.dumps([name, keys.tolist(), int(pos), int(has_gauss), float(cached)]),
        "rng/torch": _b64(torch.get_rng_state()),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["rng/cuda"] = json.dumps([_b64(s) for s in torch.cuda.get_rng_state_all()])
    return state


def set_state(state: dict[str, str]) -> bool:
    """Restores generator states written by ``get_state``; False if there were none."""
    if "rng/torch" not in state:
        return False
    version, py_state, gauss = json.loads(state["rng/python"])
    random.setstate((version, tuple(py_state), gauss))
    name, keys, pos, has_gauss, cached = json.loads(state["rng/numpy"])
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(_unb64(state["rng/torch"]))
    if "rng/cuda" in state and torch.cuda.is_available():
        states = [_unb64(s) for s in json.loads(state["rng/cuda"])]
        if len(states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(states)
    return True
