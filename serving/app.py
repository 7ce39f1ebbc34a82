"""Starlette routes for the Open Inference Protocol (KServe V2) plus /metrics.

Handlers never run torch: the infer handler parses and validates the body (on the event loop when it is
small, in a parser process when it is large JSON, on one parser thread otherwise, so probes and signals never
wait behind it), hands the request
to the batcher and awaits its future, so the loop stays free while forward passes run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import time
from collections.abc import Callable
from typing import TypeVar

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving import __version__
from serving.access_log import AccessLog, record_outcome
from serving.batcher import ABANDONED, Batcher, ModelError, QueueFull
from serving.config import Settings
from serving.connections import READ_DEADLINE, read_timeout_response
from serving.metrics import CONTENT_TYPE, Metrics, NoMetrics
from serving.model import LoadedModel
from serving.parse_process import ParseProcess
from serving.protocol import BINARY_EXTENSION, BINARY_HEADER, InferRequest, ProtocolError, encode_infer, parse_infer
from serving.request_id import RequestId

log = logging.getLogger("serving.app")
T = TypeVar("T")
_INLINE_BYTES = 256 * 1024  # parsed or encoded on the event loop up to this size (well under a millisecond)
JSON = "application/json"
BINARY = "application/octet-stream"  # a JSON header followed by binary tensor data
RETRY_AFTER = {"Retry-After": "1"}


@dataclasses.dataclass
class ServerState:
    """Shared between the routes and the process lifecycle in __main__ (event loop thread only)."""

    settings: Settings
    metrics: Metrics | NoMetrics
    model: LoadedModel | None = None
    batcher: Batcher | None = None
    ready: bool = False  # loaded and warmed up
    draining: bool = False  # SIGTERM received
    in_flight: int = 0  # infer requests past the readiness check and not yet answered
    abandoned: bool = False  # the grace period ran out: whatever is still unanswered gets 503
    arrivals: set[asyncio.Timeout] = dataclasses.field(default_factory=set)  # deadlines of bodies being read
    # One thread for HTTP and gRPC: parsing holds the GIL, so more threads would not parse faster, only contend
    # with the loop.
    parser: concurrent.futures.ThreadPoolExecutor = dataclasses.field(
        default_factory=lambda: concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="serving-parse")
    )

    json_parser: ParseProcess = dataclasses.field(default_factory=ParseProcess)  # large JSON bodies (serving/parse_process.py)

    async def parse(self, body: bytes, header_length: int | None) -> InferRequest:
        """An HTTP infer body, parsed where it holds neither the event loop nor its GIL for long: inline when small,
        in the parser process when it is large JSON, on the parser thread otherwise."""
        inputs = self.model.inputs  # type: ignore[union-attr]  (only asked while serving)
        if self.json_parser.takes(len(body), header_length):
            parsed = await self.json_parser.parse(body, inputs)
            if parsed is not None:
                return parsed
        return await self.off_loop(len(body), parse_infer, body, inputs, header_length)

    async def off_loop(self, size: int, fn: Callable[..., T], *args) -> T:
        """fn(*args), on the parser thread when `size` (bytes in or out) is large: one large body parsed or
        encoded on the event loop would hold health probes, signals and every other request behind it (up to
        seconds for tens of MB). Small ones stay inline, where a thread hop would cost more than the work."""
        if size <= _INLINE_BYTES:
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self.parser, fn, *args)

    def abandon(self) -> None:
        """Answer every request still unanswered with 503: queued or running ones through the batcher, bodies
        still arriving by expiring their read deadline now."""
        self.abandoned = True
        if self.batcher is not None:
            self.batcher.abandon()
        now = asyncio.get_running_loop().time()
        for arrival in self.arrivals:
            arrival.reschedule(now)

    @property
    def serving(self) -> bool:
        return self.ready and not self.draining

    @property
    def not_serving_reason(self) -> str:
        return "shutting down" if self.draining else "the model is loading"


def _json(doc: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(doc), status_code=status, headers=headers, media_type=JSON)


def _error(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return _json({"error": message}, status, headers)


class _Answered(Exception):
    """Ends an infer request early: the outcome it counts as and the response (None: nobody to answer)."""

    def __init__(self, outcome: str, response: Response | None):
        self.outcome, self.response = outcome, response


def _header_length(request: Request) -> int | None:
    """The binary tensor data extension's JSON length, None when the request has no binary data."""
    value = request.headers.get(BINARY_HEADER)
    if value is None:
        return None
    if not value.isdigit():
        raise ProtocolError(f"{BINARY_HEADER} must be a non-negative integer, got {value!r}")
    return int(value)


def _abandoned() -> tuple[str, Response]:
    message = "the server is shutting down and its grace period ran out before this request was answered; retry"
    return "abandoned", _error(message, 503, {**RETRY_AFTER, "Connection": "close"})


def _too_large(limit: int) -> _Answered:
    # 400 as the contract says; close the connection rather than read the rest of the body.
    message = f"request body exceeds {limit} bytes (--max-body-bytes / MAX_BODY_BYTES)"
    return _Answered("bad_request", _error(message, 400, {"Connection": "close"}))


async def _read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        # The client's choice, not a server error: no traceback, its own outcome (serving/README.md, Metrics).
        log.debug("client disconnected while sending the body", extra={"fields": {"received_bytes": size}})
        raise _Answered("client_disconnected", None) from None
    return b"".join(chunks)


def build_app(state: ServerState) -> ASGIApp:
    settings, metrics = state.settings, state.metrics
    name = settings.model_name

    def unknown(request: Request) -> Response | None:
        """404 for another model name or version; None when the path names the served model."""
        params = request.path_params
        if params["name"] != name:
            return _error(f"unknown model {params['name']!r}; this server serves {name!r}", 404)
        version = params.get("version")
        if version is not None and (state.model is None or version != state.model.version):
            return _error(f"unknown version {version!r} of model {name!r}", 404)
        return None

    async def live(request: Request) -> Response:
        return _json({"live": True})

    async def ready(request: Request) -> Response:
        if not state.serving:
            return _error(state.not_serving_reason, 503, RETRY_AFTER)
        return _json({"ready": True})

    async def server_metadata(request: Request) -> Response:
        return _json({"name": "lepton-serving", "version": __version__, "extensions": [BINARY_EXTENSION]})

    async def model_metadata(request: Request) -> Response:
        if (missing := unknown(request)) is not None:
            return missing
        if state.model is None:
            return _error(state.not_serving_reason, 503, RETRY_AFTER)
        return _json(state.model.metadata())

    async def model_ready(request: Request) -> Response:
        if (missing := unknown(request)) is not None:
            return missing
        if not state.serving:
            return _error(state.not_serving_reason, 503, RETRY_AFTER)
        return _json({"name": name, "ready": True})

    off_loop = state.off_loop

    async def arrived_body(request: Request) -> bytes:
        """The body, within the request's read deadline (serving/connections.py) and the grace period."""
        try:
            async with asyncio.timeout_at(request.scope.get(READ_DEADLINE)) as arrival:
                state.arrivals.add(arrival)
                try:
                    return await _read_body(request, settings.max_body_bytes)
                finally:
                    state.arrivals.discard(arrival)
        except TimeoutError:
            if state.abandoned:
                raise _Answered(*_abandoned()) from None
            message = read_timeout_response(settings.read_timeout_s)
            raise _Answered("read_timeout", _error(message, 408, {"Connection": "close"})) from None

    async def infer(request: Request) -> Response:
        if (missing := unknown(request)) is not None:
            metrics.count("", "not_found")
            record_outcome(request.scope, "not_found")
            return missing
        if not state.serving:
            metrics.count(name, "not_ready")
            record_outcome(request.scope, "not_ready")
            return _error(state.not_serving_reason, 503, RETRY_AFTER)
        state.in_flight += 1
        arrived = time.perf_counter()
        try:
            outcome, response = await answer(request)
        finally:
            state.in_flight -= 1
        metrics.count(name, outcome)
        record_outcome(request.scope, outcome)
        if outcome == "ok":
            metrics.answered(time.perf_counter() - arrived)
        return Response(status_code=204) if response is None else response

    async def answer(request: Request) -> tuple[str, Response | None]:
        try:
            header_length = _header_length(request)
            body = await arrived_body(request)
            parsed = await state.parse(body, header_length)
            result = await state.batcher.submit(parsed)
            if result is ABANDONED:
                return _abandoned()
            if isinstance(result, ModelError):
                return "bad_request", _error(result.message, 400)
            size = sum(array.nbytes for _, _, array in result)
            payload, json_length = await off_loop(size, encode_infer, name, state.model.version, parsed, result)
            if json_length is None:
                return "ok", Response(payload, media_type=JSON)
            return "ok", Response(payload, media_type=BINARY, headers={BINARY_HEADER: str(json_length)})
        except _Answered as early:
            return early.outcome, early.response
        except ProtocolError as exc:
            return "bad_request", _error(str(exc), 400)
        except QueueFull:
            return "queue_full", _error("the request queue is full; retry later", 503, RETRY_AFTER)

    async def prometheus(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.detail, exc.status_code, exc.headers)

    async def server_error(request: Request, exc: Exception) -> Response:
        metrics.count(name, "error")
        record_outcome(request.scope, "error")
        log.exception("unhandled error on %s", request.url.path)
        return _error("internal server error", 500)

    # Starlette tries routes in order, a regular expression each: inference first, as it is nearly every request.
    model_paths = ("/v2/models/{name}", "/v2/models/{name}/versions/{version}")
    routes = [Route(base + "/infer", infer, methods=["POST"]) for base in model_paths]
    routes += [
        Route("/v2/health/live", live),
        Route("/v2/health/ready", ready),
        Route("/v2", server_metadata),
    ]
    if metrics.enabled:  # --no-metrics: no /metrics at all (serving/metrics.py, NoMetrics)
        routes.append(Route("/metrics", prometheus))
    for base in model_paths:
        routes += [Route(base, model_metadata), Route(base + "/ready", model_ready)]
    app: ASGIApp = Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: server_error})
    # Outermost: the id is set before anything below logs, and the access line is written under it.
    return RequestId(app, AccessLog(name) if settings.access_log else None)
