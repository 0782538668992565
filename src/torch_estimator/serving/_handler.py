"""TF Serving's REST API over a ``ModelManager``: routing, the predict / classify / regress / status /
metadata requests, and their errors (``tensorflow_serving/model_servers/http_rest_api_handler.cc``).

``RestApiHandler.process(method, path, body)`` returns the HTTP status and the JSON body; it knows
nothing of the HTTP server, so it is what the tests and the ASGI app both call."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import numpy as np

from torch_estimator.export._signature import (
    CLASSIFY_METHOD_NAME,
    DEFAULT_SERVING_SIGNATURE_DEF_KEY,
    REGRESS_METHOD_NAME,
    Signature,
)
from torch_estimator.export.tfexample import encode_example
from torch_estimator.serving._errors import ServingError, failed_precondition, internal, invalid_argument, not_found
from torch_estimator.serving._json_input import (
    ROW,
    examples_from_json,
    parse_body,
    predict_inputs_from_json,
    signature_name_of,
)
from torch_estimator.serving._json_output import (
    classify_response,
    error_body,
    json_body,
    predict_response,
    regress_response,
)
from torch_estimator.serving._manager import LoadedVersion, ModelManager
from torch_estimator.serving._tf_text import shape_string

__all__ = ["RestApiHandler"]

logger = logging.getLogger(__name__)

_REST_PATH = re.compile(r"/v1/.*", re.IGNORECASE | re.DOTALL)
_PREDICTION_PATH = re.compile(
    r"/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?:(classify|regress|predict)", re.IGNORECASE
)
_STATUS_PATH = re.compile(
    r"/v1/models(?:/([^/:]+))?(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?(?:/(metadata))?", re.IGNORECASE
)
_INT64_MAX = 2**63 - 1
# Model errors that are the request's fault (bad values, shapes, types) answer 400; others 500.
_CLIENT_ERRORS = (ValueError, TypeError, KeyError, IndexError)


class RestApiHandler:
    """Answers TF Serving REST requests for the model of ``manager``.

    Example:
      handler = RestApiHandler(manager)
      status, body = handler.process("POST", "/v1/models/census:predict", b'{"instances": [...]}')
    """

    def __init__(self, manager: ModelManager) -> None:
        self.manager = manager

    @staticmethod
    def handles(path: str) -> bool:
        """Whether ``path`` belongs to the REST API (``/v1/...``); other paths are not found."""
        return _REST_PATH.fullmatch(path) is not None

    def process(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        """``(http_status, json_body)`` of one request; never raises."""
        try:
            return 200, self._dispatch(method, path, body)
        except ServingError as e:
            return e.http_status, error_body(e)
        except Exception as e:  # the server answers every request
            logger.exception("%s %s failed", method, path)
            error = internal(f"{type(e).__name__}: {e}")
            return error.http_status, error_body(error)

    # -- routing ------------------------------------------------------------------------------

    def _dispatch(self, method: str, path: str, body: bytes) -> bytes:
        malformed = invalid_argument(f"Malformed request: {method} {path}")
        pattern = _PREDICTION_PATH if method == "POST" else _STATUS_PATH if method == "GET" else None
        match = pattern.fullmatch(path) if pattern is not None else None
        if match is None:
            raise malformed
        name, version_text, label, action = match.groups()
        name = unquote(name) if name else ""
        label = unquote(label) if label else None
        version = None
        if version_text:
            version = int(version_text)
            if version > _INT64_MAX:
                raise invalid_argument(f"Failed to convert version: {version_text} to numeric.")
        if method == "POST":
            handlers = {"predict": self._predict, "classify": self._classify, "regress": self._regress}
            if action not in handlers:  # the route matches any case, the method names do not
                raise malformed
            return handlers[action](name, version, label, body)
        if not name:
            raise invalid_argument("Missing model name in request.")
        if action == "metadata":
            return self._metadata(name, version, label)
        return self._status(name, version, label)

    def _servable(self, name: str, version: int | None, label: str | None) -> LoadedVersion:
        if label is not None:
            raise invalid_argument(f"Unrecognized servable version label: {label}")
        if name != self.manager.model_name:
            request = f"Latest({name})" if version is None else f"Specific({name}, {version})"
            raise not_found(f"Servable not found for request: {request}")
        return self.manager.get(version)

    # -- predict / classify / regress ---------------------------------------------------------

    def _predict(self, name: str, version: int | None, label: str | None, body: bytes) -> bytes:
        doc = parse_body(body)
        signature_name = signature_name_of(doc)
        served = self._servable(name, version, label)
        key = signature_name or DEFAULT_SERVING_SIGNATURE_DEF_KEY
        signature = served.signatures.get(key)
        if signature is None:
            raise invalid_argument(f'Serving signature name: "{key}" not found in signature def')
        inputs, request_format = predict_inputs_from_json(doc, signature.inputs, signature_name)
        _check_inputs(signature, inputs)
        outputs = _run(served, signature, inputs)
        return predict_response(outputs, request_format == ROW)

    def _examples_signature(
        self, name: str, version: int | None, label: str | None, signature_name: str, method_name: str
    ) -> tuple[LoadedVersion, Signature]:
        served = self._servable(name, version, label)
        key = signature_name or DEFAULT_SERVING_SIGNATURE_DEF_KEY
        signature = served.signatures.get(key)
        if signature is None:
            raise invalid_argument(f"No signature was found with the name: {key}")
        kind = "classification" if method_name == CLASSIFY_METHOD_NAME else "regression"
        if signature.method_name != method_name:
            raise invalid_argument(
                f"Expected {kind} signature method_name to be {method_name}. Was: {signature.method_name}"
            )
        if len(signature.inputs) != 1:
            raise invalid_argument("Expected one input Tensor.")
        if "inputs" not in signature.inputs:
            raise failed_precondition(f"No {kind} inputs found in SignatureDef: {_debug_string(signature)}")
        return served, signature

    def _classify(self, name: str, version: int | None, label: str | None, body: bytes) -> bytes:
        doc = parse_body(body)
        signature_name = signature_name_of(doc)
        examples = examples_from_json(doc)
        served, signature = self._examples_signature(name, version, label, signature_name, CLASSIFY_METHOD_NAME)
        if len(signature.outputs) not in (1, 2):
            raise invalid_argument(f"Expected one or two output Tensors, found {len(signature.outputs)}")
        if "classes" not in signature.outputs and "scores" not in signature.outputs:
            raise invalid_argument(
                'Expected classification signature outputs to contain at least one of "classes" or "scores". '
                f"Signature was: {_debug_string(signature)}"
            )
        outputs = _run(served, signature, {"inputs": _serialized(examples)})
        classes = np.asarray(outputs["classes"]) if "classes" in signature.outputs else None
        scores = np.asarray(outputs["scores"]) if "scores" in signature.outputs else None
        return classify_response(classes, scores, len(examples))

    def _regress(self, name: str, version: int | None, label: str | None, body: bytes) -> bytes:
        doc = parse_body(body)
        signature_name = signature_name_of(doc)
        examples = examples_from_json(doc)
        served, signature = self._examples_signature(name, version, label, signature_name, REGRESS_METHOD_NAME)
        if len(signature.outputs) != 1:
            raise invalid_argument("Expected one output Tensor.")
        if "outputs" not in signature.outputs:
            raise failed_precondition(f"No regression outputs found in SignatureDef: {_debug_string(signature)}")
        outputs = _run(served, signature, {"inputs": _serialized(examples)})
        return regress_response(np.asarray(outputs["outputs"]), len(examples))

    # -- status / metadata --------------------------------------------------------------------

    def _status(self, name: str, version: int | None, label: str | None) -> bytes:
        if label is not None:
            raise invalid_argument(f"Unrecognized servable version label: {label}")
        if name != self.manager.model_name:
            raise not_found(
                f"Could not find any versions of model {name}"
                if version is None
                else f"Could not find version {version} of model {name}"
            )
        statuses = self.manager.status(version)
        return _pretty({"model_version_status": [s.to_json() for s in statuses]})

    def _metadata(self, name: str, version: int | None, label: str | None) -> bytes:
        served = self._servable(name, version, label)
        return _pretty(
            {
                "model_spec": {"name": name, "signature_name": "", "version": str(served.version)},
                "metadata": {
                    "signature_def": {"signature_def": {key: sig.to_json() for key, sig in served.signatures.items()}}
                },
            }
        )


def _pretty(value: Any) -> bytes:
    """Protobuf's JSON printing with whitespace, as TF Serving answers status and metadata."""
    return json_body(json.dumps(value, indent=1, ensure_ascii=False) + "\n")


def _debug_string(signature: Signature) -> str:
    return json.dumps(signature.to_json(), separators=(",", ":"))


def _serialized(examples: list[dict[str, list[Any]]]) -> np.ndarray:
    """The examples as serialized ``tf.Example`` protos: the classify / regress input tensor."""
    out = np.empty(len(examples), dtype=object)
    out[:] = [encode_example(example) for example in examples]
    return out


def _check_inputs(signature: Signature, inputs: Mapping[str, np.ndarray]) -> None:
    """The names (``VerifyRequestInputsSize``) and shapes of the inputs against the signature's."""
    if set(inputs) != set(signature.inputs):
        sent, required = sorted(inputs), sorted(signature.inputs)
        extra, missing = sorted(set(sent) - set(required)), sorted(set(required) - set(sent))
        raise invalid_argument(
            f"input size does not match signature: {len(sent)}!={len(required)} "
            f"len({{{','.join(sent)}}}) != len({{{','.join(required)}}}). "
            f"Sent extra: {{{','.join(extra)}}}. Missing but required: {{{','.join(missing)}}}."
        )
    for name, array in inputs.items():
        expected = signature.inputs[name].shape
        if expected is None:
            continue
        if len(expected) != array.ndim or any(e >= 0 and e != d for e, d in zip(expected, array.shape)):
            raise invalid_argument(
                f"input '{name}' of signature '{signature.name}' has shape {shape_string(array.shape)}; "
                f"the signature expects {shape_string(expected)} (-1: any size)"
            )


def _run(served: LoadedVersion, signature: Signature, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The signature's outputs (in its order) for ``inputs``; a model error becomes a request error."""
    try:
        results = served.run(signature, inputs)
    except ServingError:
        raise
    except _CLIENT_ERRORS as e:
        raise invalid_argument(
            str(e) if isinstance(e, (ValueError, TypeError)) else f"{type(e).__name__}: {e}"
        ) from None
    except Exception as e:  # reported to the client, logged here
        logger.exception("signature %s of version %d failed", signature.name, served.version)
        raise internal(f"{type(e).__name__}: {e}") from None
    if not signature.outputs:
        return dict(results)
    missing = [name for name in signature.outputs if name not in results]
    if missing:
        raise internal(f"signature '{signature.name}' returned no output {missing[0]!r}; it returned {sorted(results)}")
    return {name: results[name] for name in signature.outputs}
