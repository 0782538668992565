"""Request errors with TensorFlow's status codes, and the HTTP status TF Serving answers each with."""

from __future__ import annotations

__all__ = [
    "ServingError",
    "invalid_argument",
    "not_found",
    "internal",
    "failed_precondition",
    "unimplemented",
    "HTTP_STATUS",
]

# tensorflow_serving/model_servers/http_server.cc, ToHTTPStatusCode.
HTTP_STATUS = {
    "OK": 200,
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
    "UNAUTHENTICATED": 401,
}


class ServingError(Exception):
    """A failed request: ``code`` is a TensorFlow status code name ('INVALID_ARGUMENT', 'NOT_FOUND', ...),
    ``message`` the text of the ``{"error": ...}`` body."""

    def __init__(self, code: str, message: str) -> None:
        if code not in HTTP_STATUS or code == "OK":
            raise ValueError(f"code must be a TensorFlow error code name; got {code!r}.")
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]

    def __str__(self) -> str:
        """TensorFlow's ``Status::ToString()``: 'INVALID_ARGUMENT: message'."""
        return f"{self.code}: {self.message}"


def invalid_argument(message: str) -> ServingError:
    return ServingError("INVALID_ARGUMENT", message)


def not_found(message: str) -> ServingError:
    return ServingError("NOT_FOUND", message)


def failed_precondition(message: str) -> ServingError:
    return ServingError("FAILED_PRECONDITION", message)


def unimplemented(message: str) -> ServingError:
    return ServingError("UNIMPLEMENTED", message)


def internal(message: str) -> ServingError:
    return ServingError("INTERNAL", message)
