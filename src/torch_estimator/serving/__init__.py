"""A TensorFlow Serving compatible REST server for exported models.

It answers TF Serving's REST API with its JSON formats and error messages, so existing clients work
unchanged: ``POST /v1/models/<name>[/versions/<n>]:predict`` (row ``instances`` or columnar
``inputs``), ``:classify`` and ``:regress`` (``examples`` and ``context``), ``GET
/v1/models/<name>[/versions/<n>]`` (status) and ``.../metadata`` (signatures). The newest numeric
version directory under the model base path is served, and newer ones are picked up by polling.

Example:
    from torch_estimator.serving import serve
    serve("/models/census", "census", port=8501)   # or: torch-estimator serve --model_base_path ...

    curl -d '{"instances": [{"age": 39.0, "education": "Bachelors"}]}' \\
        localhost:8501/v1/models/census:predict
"""

from torch_estimator.serving._app import (
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_NUM_THREADS,
    create_app,
    resolve_loader,
    serve,
)
from torch_estimator.serving._batching import BatchingParameters, read_batching_parameters
from torch_estimator.serving._errors import ServingError
from torch_estimator.serving._handler import RestApiHandler
from torch_estimator.serving._manager import LoadedVersion, ModelManager, VersionStatus, list_versions

__all__ = [
    "create_app",
    "serve",
    "resolve_loader",
    "DEFAULT_NUM_THREADS",
    "DEFAULT_MAX_REQUEST_BYTES",
    "BatchingParameters",
    "read_batching_parameters",
    "ModelManager",
    "LoadedVersion",
    "VersionStatus",
    "list_versions",
    "RestApiHandler",
    "ServingError",
]
