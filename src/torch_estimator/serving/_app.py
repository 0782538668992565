"""The ASGI app (FastAPI) serving one model with TF Serving's REST API, and ``serve`` to run it.

Every request, whatever its method and path, is answered by the REST API handler, so every error
has TF Serving's ``{"error": ...}`` body; a body larger than ``max_request_bytes`` is refused with
413 while it is read, before it is buffered.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
from collections.abc import AsyncIterator
from typing import TypedDict, Unpack

import anyio
import anyio.to_thread
import torch
import uvicorn
from fastapi import FastAPI, Request, Response
from starlette.requests import ClientDisconnect
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from torch_estimator.export._loader import load as export_load
from torch_estimator.serving._batching import BatchingParameters
from torch_estimator.serving._errors import ServingError, internal, invalid_argument, not_found
from torch_estimator.serving._handler import RestApiHandler
from torch_estimator.serving._json_output import error_body
from torch_estimator.serving._manager import Loader, ModelManager

__all__ = ["create_app", "serve", "resolve_loader", "AppOptions", "DEFAULT_NUM_THREADS", "DEFAULT_MAX_REQUEST_BYTES"]

logger = logging.getLogger(__name__)

# TF Serving's --rest_api_num_threads default: 4 per CPU.
DEFAULT_NUM_THREADS = 4 * (os.cpu_count() or 1)
# TF Serving sets no limit; 32 MiB of JSON is about a million numbers, and its parse needs several
# times that in memory.
DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024
_PAYLOAD_TOO_LARGE = 413
# Model calls with bodies up to this size (some 200 census instances, or 30,000 scalars of a
# one-input model: tens of ms at most) run on the event loop: handing them to threads cost more
# than the calls, as the threads and the loop contend for the GIL. Measured with
# benchmarks/serving.py, 16 clients, through threads / inline: 1 instance 185-202 / 296-334 req/s
# (p99 107-111 / 48-49 ms); 100 instances 12.5-14.8k / 20-29k instances/s, 6.2-7.4 / 3.2-4.6 ms of
# server CPU per request. Larger bodies go to the threads, so one huge request holds up no other.
_INLINE_BODY_BYTES = 64 * 1024


def _error(status: int, error: ServingError) -> Response:
    return Response(error_body(error), status, media_type="application/json")


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to exceed ``limit`` bytes (from its
    Content-Length, or while it streams in)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class _RestApi:
    """The ASGI endpoint of every path and method. POST bodies larger than ``inline_bytes`` (all,
    when None) are processed in the thread pool, others on the event loop."""

    def __init__(self, handler: RestApiHandler, max_request_bytes: int, inline_bytes: int | None = None) -> None:
        self.handler = handler
        self.max_request_bytes = max_request_bytes
        self.inline_bytes = inline_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._respond(Request(scope, receive))
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        raw_path = request.scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else request.url.path
        if not self.handler.handles(path):
            return _error(404, not_found(f"Not found: {request.method} {path}"))
        try:
            body = await _read_body(request, self.max_request_bytes)
        except ClientDisconnect:  # nobody is left to answer
            return _error(400, invalid_argument("The client disconnected before sending the whole request body."))
        if body is None:
            return _error(
                _PAYLOAD_TOO_LARGE,
                invalid_argument(
                    f"Request body is larger than the server's limit of {self.max_request_bytes} bytes "
                    "(max_request_bytes)."
                ),
            )
        if request.method == "POST" and (self.inline_bytes is None or len(body) > self.inline_bytes):
            status, content = await anyio.to_thread.run_sync(
                self.handler.process, request.method, path, body, limiter=request.app.state.limiter
            )
        else:
            status, content = self.handler.process(request.method, path, body)
        return Response(content, status, media_type="application/json")


async def _internal_error(request: Request, exc: Exception) -> Response:
    """The answer when something failed outside the handler (it answers its own errors)."""
    return _error(500, internal(f"{type(exc).__name__}: {exc}"))


def resolve_loader(loader: Loader | str | None) -> Loader | None:
    """A loader given as a callable, as 'package.module:function', or None (the default loader)."""
    if loader is None or callable(loader):
        return loader
    if not isinstance(loader, str):
        raise TypeError(f"loader must be a callable or 'module:function'; got {type(loader).__name__}.")
    module_name, _, attribute = loader.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"loader must be a callable or 'module:function'; got {loader!r}.")
    function = getattr(importlib.import_module(module_name), attribute, None)
    if not callable(function):
        raise ValueError(f"loader {loader!r}: {module_name} has no callable {attribute!r}.")
    return function


class AppOptions(TypedDict, total=False):
    """The keyword arguments of ``create_app`` that ``serve`` passes on to it (see ``create_app``)."""

    loader: Loader | str | None
    file_system_poll_wait_seconds: float
    enable_batching: bool
    batching_parameters: BatchingParameters | None
    rest_api_num_threads: int
    max_request_bytes: int


def create_app(
    model_base_path: str,
    model_name: str = "default",
    *,
    loader: Loader | str | None = None,
    file_system_poll_wait_seconds: float = 1.0,
    enable_batching: bool = False,
    batching_parameters: BatchingParameters | None = None,
    rest_api_num_threads: int = DEFAULT_NUM_THREADS,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
) -> FastAPI:
    """An ASGI app answering TF Serving's REST API (``/v1/models/<model_name>...``) for the model
    whose versions are the numeric subdirectories of ``model_base_path``.

    The newest version is loaded when the app starts (its lifespan), and the directory is polled
    for newer ones. Model calls run in a pool of ``rest_api_num_threads`` threads, off the event
    loop, except those of the default loader's exports with bodies up to 64 KiB (without batching),
    which cost less than the hand-off to a thread.

    Args:
      model_base_path: directory holding one numeric subdirectory per version (``1/``, ``2/``, ...).
      model_name: the name in request paths; TF Serving's default is 'default'.
      loader: ``loader(version_dir) -> model`` (an object with a ``signatures`` mapping of
        ``Signature``), or its import path 'module:function'; default ``torch_estimator.export.load``.
      file_system_poll_wait_seconds: seconds between polls for new versions; 0 loads once.
      enable_batching: merge concurrent calls of a signature into one model call.
      batching_parameters: how to merge them (default ``BatchingParameters()``); needs ``enable_batching``.
      rest_api_num_threads: requests whose model calls may run at the same time in the thread pool
        (those not run on the event loop).
      max_request_bytes: the largest request body accepted (default 32 MiB); a larger one gets 413.

    Example:
      app = create_app("/models/census", "census", loader=torch_estimator.export.load)
      uvicorn.run(app, port=8501)   # or: with fastapi.testclient.TestClient(app) as client: ...
    """
    if batching_parameters is not None and not enable_batching:
        raise ValueError(
            "batching_parameters were given but enable_batching is False; pass enable_batching=True to use them."
        )
    if rest_api_num_threads < 1:
        raise ValueError(f"rest_api_num_threads must be >= 1; got {rest_api_num_threads}.")
    if max_request_bytes < 1:
        raise ValueError(f"max_request_bytes must be >= 1; got {max_request_bytes}.")
    batching = (batching_parameters or BatchingParameters()) if enable_batching else None
    manager = ModelManager(
        model_name,
        model_base_path,
        resolve_loader(loader),
        file_system_poll_wait_seconds=file_system_poll_wait_seconds,
        batching=batching,
    )
    handler = RestApiHandler(manager)
    # Small model calls of the default loader's exports run on the event loop (not with batching,
    # whose calls wait for each other, nor with another loader's models, whose cost is unknown).
    default_loader = resolve_loader(loader) in (None, export_load)
    inline = _INLINE_BODY_BYTES if default_loader and batching is None else None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.limiter = anyio.CapacityLimiter(rest_api_num_threads)
        await anyio.to_thread.run_sync(manager.start)
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(manager.stop)

    app = FastAPI(
        title=f"torch-estimator serving: {model_name}",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.manager = manager
    app.state.handler = handler
    # An ASGI endpoint answering every path and method (Starlette calls it with scope, receive, send).
    app.router.routes.append(
        Route("/{path:path}", _RestApi(handler, max_request_bytes, inline), include_in_schema=False)
    )
    app.add_exception_handler(Exception, _internal_error)
    return app


def serve(
    model_base_path: str,
    model_name: str = "default",
    *,
    host: str = "0.0.0.0",
    port: int = 8501,
    intra_op_parallelism: int = 0,
    inter_op_parallelism: int = 0,
    log_level: str = "info",
    **app_options: Unpack[AppOptions],
) -> None:
    """Serves the model over HTTP until interrupted (uvicorn).

    ``app_options`` are those of ``create_app`` (``loader``, ``file_system_poll_wait_seconds``,
    ``enable_batching``, ``batching_parameters``, ``rest_api_num_threads``, ``max_request_bytes``),
    with its defaults.

    Args:
      host: 0.0.0.0 listens on every interface, as TF Serving does; 127.0.0.1 for local only.
      intra_op_parallelism: threads one model call may use (``torch.set_num_threads``); 0 keeps
        torch's default, or 1 with batching: merged batches running on several intra-op threads
        contend with the request threads, and measured slower than without batching
        (``benchmarks/serving.py``), while on one thread they pay.
      inter_op_parallelism: ``torch.set_num_interop_threads``; 0 keeps torch's default.
    """
    for name, value in (("intra_op_parallelism", intra_op_parallelism), ("inter_op_parallelism", inter_op_parallelism)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0 (0: torch's default); got {value}.")
    if intra_op_parallelism or app_options.get("enable_batching", False):
        torch.set_num_threads(intra_op_parallelism or 1)
    if inter_op_parallelism:
        torch.set_num_interop_threads(inter_op_parallelism)
    app = create_app(model_base_path, model_name, **app_options)
    logger.info("Exporting HTTP/REST API at %s:%d for model %s (%s)", host, port, model_name, model_base_path)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
