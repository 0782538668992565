"""The versions of one model under its base path, served as TF Serving's default version policy
serves them: the newest numeric subdirectory (``base/1``, ``base/2``, ...; other names are ignored)
is loaded, the directory is polled for newer ones, and a newer version that loads replaces the
served one at once (requests in flight finish on the version they started with). A version that
fails to load (the default loader verifies checksums, variables and a sample batch) is reported in
the status and the served version stays; it is loaded again once any file in it changes (say a
copy that was still in progress completes)."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from torch_estimator._core.errors import DataLossError, NotFoundError
from torch_estimator.export import load
from torch_estimator.export._signature import Signature
from torch_estimator.serving._batching import BatchingParameters, SignatureBatcher
from torch_estimator.serving._errors import not_found

__all__ = ["ModelManager", "LoadedVersion", "VersionStatus", "Loader", "list_versions"]

logger = logging.getLogger(__name__)

Loader = Callable[[str], Any]
_INT64_MAX = 2**63 - 1
_VERSION_NAME = re.compile(r"[0-9]+")
# Python exception types -> the TensorFlow error code reported in a failed version's status.
_LOAD_ERROR_CODES = (
    ((FileNotFoundError, NotFoundError), "NOT_FOUND"),
    (DataLossError, "DATA_LOSS"),
    ((ValueError, TypeError, KeyError), "INVALID_ARGUMENT"),
    (PermissionError, "PERMISSION_DENIED"),
)
# What a version directory holds: (path, size, mtime) of every file in it.
_Fingerprint = tuple[tuple[str, int, int], ...]


def _fingerprint(path: str) -> _Fingerprint:
    """Every file under ``path`` with its size and modification time (ns): it changes when any
    file is written, added or removed."""
    entries = []
    for root, _, files in os.walk(path):
        for name in files:
            file = os.path.join(root, name)
            try:
                stat = os.stat(file)
            except FileNotFoundError:
                continue
            entries.append((os.path.relpath(file, path), stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(entries))


def list_versions(base_path: str) -> dict[int, str]:
    """Version number -> directory, for the subdirectories of ``base_path`` named by a number."""
    try:
        entries = list(os.scandir(base_path))
    except (FileNotFoundError, NotADirectoryError):
        return {}
    versions = {}
    for entry in entries:
        if _VERSION_NAME.fullmatch(entry.name) and int(entry.name) <= _INT64_MAX and entry.is_dir():
            versions[int(entry.name)] = entry.path
    return versions


@dataclasses.dataclass(frozen=True)
class VersionStatus:
    """One version's entry in a model status response: ``state`` is 'LOADING', 'AVAILABLE' or 'END'."""

    version: int
    state: str
    error_code: str = "OK"
    error_message: str = ""

    def to_json(self) -> dict[str, Any]:
        """TF Serving's JSON form of a ``ModelVersionStatus`` (the version as a string, as protobuf writes int64)."""
        return {
            "version": str(self.version),
            "state": self.state,
            "status": {"error_code": self.error_code, "error_message": self.error_message},
        }


class LoadedVersion:
    """A loaded version: its model and, with batching, one batcher per signature."""

    def __init__(self, version: int, model: Any, batching: BatchingParameters | None = None) -> None:
        signatures = getattr(model, "signatures", None)
        if not isinstance(signatures, Mapping):
            raise TypeError(
                f"the loader must return an object with a 'signatures' mapping; got {type(model).__name__}."
            )
        self.version = version
        self.model = model
        self.signatures: Mapping[str, Signature] = signatures
        self.batching = batching
        self._batchers: dict[str, SignatureBatcher] = {}
        self._lock = threading.Lock()

    def run(self, signature: Signature, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Runs ``signature`` on ``inputs``, merged with concurrent calls when batching is on."""
        if self.batching is None:
            return signature.run(inputs)
        with self._lock:
            batcher = self._batchers.get(signature.name)
            if batcher is None:
                batcher = self._batchers[signature.name] = SignatureBatcher(
                    signature.run, self.batching, f"{signature.name}@{self.version}"
                )
        return batcher(inputs)

    def close(self) -> None:
        with self._lock:
            for batcher in self._batchers.values():
                batcher.close()


class ModelManager:
    """Loads, polls and swaps the versions of the model ``model_name`` under ``model_base_path``.

    Args:
      model_name: the name requests use (``/v1/models/<model_name>``).
      model_base_path: the directory holding one numeric subdirectory per version.
      loader: ``loader(version_dir) -> model`` with a ``signatures`` mapping; default
        ``torch_estimator.export.load``.
      file_system_poll_wait_seconds: seconds between polls of ``model_base_path``; 0 loads once.
      batching: merge concurrent calls of a signature (None: each call runs on its own).

    Example:
      manager = ModelManager("census", "/models/census", loader=my_load)
      manager.start()          # loads the newest version, then polls in the background
      served = manager.get(None)
      manager.stop()
    """

    def __init__(
        self,
        model_name: str,
        model_base_path: str,
        loader: Loader | None = None,
        *,
        file_system_poll_wait_seconds: float = 1.0,
        batching: BatchingParameters | None = None,
    ) -> None:
        if not model_name:
            raise ValueError("model_name must be a non-empty string; got ''.")
        if file_system_poll_wait_seconds < 0:
            raise ValueError(f"file_system_poll_wait_seconds must be >= 0; got {file_system_poll_wait_seconds}.")
        self.model_name = model_name
        self.model_base_path = os.fspath(model_base_path)
        self.loader: Loader = loader if loader is not None else load
        self.file_system_poll_wait_seconds = file_system_poll_wait_seconds
        self.batching = batching
        self._served: LoadedVersion | None = None
        self._states: dict[int, VersionStatus] = {}
        self._failed: dict[int, _Fingerprint] = {}  # version -> its files when its load failed
        self._lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned_empty = False

    def start(self) -> None:
        """Loads the newest version now, then keeps polling in a background thread."""
        self.poll()
        if self.file_system_poll_wait_seconds > 0 and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._poll_loop, name=f"poll-{self.model_name}", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stops polling and the batch threads."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._served is not None:
            self._served.close()

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.file_system_poll_wait_seconds):
            try:
                self.poll()
            except Exception:  # keep polling whatever one scan hit
                logger.exception("polling %s failed", self.model_base_path)

    def poll(self) -> None:
        """Scans ``model_base_path`` once and loads the newest version if it is not the served one."""
        with self._poll_lock:
            versions = list_versions(self.model_base_path)
            if not versions:
                if not self._warned_empty:
                    logger.warning(
                        "No versions of servable %s found under base path %s "
                        "(version directories are named by a number, e.g. %s)",
                        self.model_name,
                        self.model_base_path,
                        os.path.join(self.model_base_path, "1"),
                    )
                    self._warned_empty = True
                return
            self._warned_empty = False
            version = max(versions)
            if self._served is not None and self._served.version == version:
                return
            path = versions[version]
            if not os.path.isdir(path):  # removed since the scan
                return
            files = _fingerprint(path)
            if self._failed.get(version) == files:
                return
            self._load(version, path, files)

    def _load(self, version: int, path: str, files: _Fingerprint) -> None:
        self._set_state(VersionStatus(version, "LOADING"))
        logger.info("Loading servable version {name: %s version: %d} from %s", self.model_name, version, path)
        try:
            loaded = LoadedVersion(version, self.loader(path), self.batching)
        except Exception as e:  # a bad version must not stop the server
            code = next((c for types, c in _LOAD_ERROR_CODES if isinstance(e, types)), "UNKNOWN")
            self._failed[version] = files
            self._set_state(VersionStatus(version, "END", code, f"{type(e).__name__}: {e}"))
            served = f"; still serving version {self._served.version}" if self._served is not None else ""
            logger.error(
                "Loading servable version {name: %s version: %d} failed: %s%s", self.model_name, version, e, served
            )
            return
        previous, self._served = self._served, loaded
        self._set_state(VersionStatus(version, "AVAILABLE"))
        if previous is not None:
            previous.close()
            self._set_state(VersionStatus(previous.version, "END"))
        logger.info("Successfully loaded servable version {name: %s version: %d}", self.model_name, version)

    def _set_state(self, status: VersionStatus) -> None:
        with self._lock:
            self._states[status.version] = status

    @property
    def served_version(self) -> int | None:
        """The version requests without a version go to (None before one has loaded)."""
        served = self._served
        return None if served is None else served.version

    def get(self, version: int | None) -> LoadedVersion:
        """The served version (``version`` None or equal to it), else NOT_FOUND as TF Serving words it."""
        served = self._served
        if version is None:
            if served is None:
                raise not_found(f"Servable not found for request: Latest({self.model_name})")
        elif served is None or served.version != version:
            raise not_found(f"Servable not found for request: Specific({self.model_name}, {version})")
        return served

    def status(self, version: int | None) -> list[VersionStatus]:
        """The status of ``version`` or of every version seen, newest first."""
        with self._lock:
            states = dict(self._states)
        if version is None:
            if not states:
                raise not_found(f"Could not find any versions of model {self.model_name}")
            return [states[v] for v in sorted(states, reverse=True)]
        if version not in states:
            raise not_found(f"Could not find version {version} of model {self.model_name}")
        return [states[version]]
