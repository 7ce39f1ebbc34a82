"""Process lifecycle: settings, model loading beside live HTTP and gRPC servers, and a draining SIGTERM.

uvicorn's own signal handling would stop the server as soon as SIGTERM arrives; here SIGTERM first turns
readiness off and refuses new work, waits (up to the grace period) for every accepted request to be
answered (HTTP and gRPC alike), and only then asks uvicorn and the gRPC server to shut down. When the grace period runs out first, whatever is still
unanswered gets 503 + Retry-After and uvicorn only flushes those answers. Exit code: 0 after a clean drain,
1 if the grace period ran out or the model could not be loaded, 2 for bad settings.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import torch
import uvicorn

from serving import config, connections, logs
from serving.app import ServerState, build_app
from serving.batcher import Batcher, ModelError
from serving.grpc_service import build_server
from serving.metrics import for_settings
from serving.model import DeviceError, LoadError, load, resolve_device

log = logging.getLogger("serving")
T = TypeVar("T")
# uvicorn's own graceful shutdown starts after our drain (every request answered, or the grace period over and
# the rest answered 503): it only has the last responses to write, so it must not add a grace of its own.
_FLUSH_S = 1.0


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: SIGTERM is ours (see the module docstring)."""

    def capture_signals(self):  # type: ignore[override]
        import contextlib

        return contextlib.nullcontext()


def _in_daemon_thread(fn: Callable[[], T]) -> asyncio.Future:
    """Run fn on a daemon thread: a model still loading must not keep the process alive after SIGTERM."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def settle(setter, value) -> None:
        if not future.done():
            setter(value)

    def run() -> None:
        try:
            result = fn()
        except BaseException as exc:  # handed to the awaiting coroutine
            outcome = (future.set_exception, exc)
        else:
            outcome = (future.set_result, result)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # the loop is already closed: the process is exiting
            pass

    threading.Thread(target=run, name="serving-loader", daemon=True).start()
    return future


async def _load(state: ServerState, device: torch.device, open_connections: Callable[[], int]) -> None:
    settings = state.settings
    started = time.perf_counter()
    model = await _in_daemon_thread(lambda: load(settings.model_uri, settings.model_name, device))
    load_seconds = time.perf_counter() - started
    state.metrics.model_load_seconds.set(load_seconds)
    batcher = Batcher(
        model.predict, settings.max_batch_size, settings.max_queue_delay_ms / 1000.0,
        settings.max_queue_depth, state.metrics, open_connections,
    )
    batcher.start(asyncio.get_running_loop())
    state.model, state.batcher = model, batcher

    warmup = model.warmup_request()
    if warmup is None:
        log.warning("no input datatypes and shapes in the metadata: ready without a warm-up batch")
    else:
        result = await batcher.submit(warmup)
        if isinstance(result, ModelError):
            raise LoadError(f"warm-up batch built from the metadata failed: {result.message}")
    await state.json_parser.start()
    # Everything loaded so far (torch, the model, the app) lives as long as the process. Frozen out of the
    # collector, it is no longer walked by full collections, which otherwise hold the GIL for ~100 ms and
    # stall the event loop and the batch worker together: the p99 tail under load (benchmarks/README.md).
    gc.collect()
    gc.freeze()
    state.ready = True
    log.info("ready", extra={"fields": {
        "model": model.name, "version": model.version, "platform": model.platform, "device": str(device),
        "load_seconds": round(load_seconds, 3), "warmed_up": warmup is not None,
        "startup_seconds": round(time.perf_counter() - started, 3),
    }})


async def _drain(state: ServerState, grace: float) -> bool:
    """Refuse new work, then wait for accepted requests; True if all were answered within the grace period."""
    state.draining = True
    log.info("SIGTERM: draining", extra={"fields": {"in_flight": state.in_flight, "grace_s": grace}})
    deadline = time.monotonic() + grace
    while state.in_flight and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    if state.in_flight:
        log.error("grace period over with requests unanswered", extra={"fields": {"in_flight": state.in_flight}})
        state.abandon()  # their handlers answer 503 now, while uvicorn still writes responses
        return False
    return True


async def serve(settings: config.Settings, device: torch.device) -> int:
    state = ServerState(settings, for_settings(settings.model_name, settings.metrics))
    server = _Server(uvicorn.Config(
        build_app(state), host=settings.host, port=settings.port, loop="none",
        http=connections.protocol(settings.read_timeout_s),
        lifespan="off", log_config=None, access_log=False, server_header=False,
        timeout_graceful_shutdown=_FLUSH_S,
    ))
    grpc_server = grpc_callers = None
    if settings.grpc_port:
        try:
            grpc_server, service = build_server(state)
        except RuntimeError as exc:  # the port is taken or the address is not ours
            log.error("cannot listen for gRPC", extra={"fields": {"port": settings.grpc_port, "error": str(exc)}})
            return 1
        grpc_callers = service.callers
        await grpc_server.start()
        log.info("gRPC listening", extra={"fields": {"host": settings.host, "port": settings.grpc_port}})
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    server_task = asyncio.create_task(server.serve())
    # uvicorn's own set of open connections (HTTP/1.1: at most one request each), plus the gRPC callers, tell
    # the batcher when waiting for more requests is pointless.
    http_connections = server.server_state.connections
    open_connections = (
        (lambda: len(http_connections)) if grpc_callers is None else (lambda: len(http_connections) + grpc_callers())
    )
    load_task = asyncio.create_task(_load(state, device, open_connections))
    stop_task = asyncio.create_task(stop.wait())
    await asyncio.wait({server_task, load_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)

    if load_task.done() and not stop_task.done():
        if load_task.exception() is None:  # loaded: serve until SIGTERM or until the server stops by itself
            await asyncio.wait({server_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        else:
            exc = load_task.exception()
            log.error("cannot serve the model", exc_info=None if isinstance(exc, LoadError) else exc,
                      extra={"fields": {"error": str(exc), "model_uri": settings.model_uri}})
    if stop_task.done():
        code = 0 if await _drain(state, settings.shutdown_grace_s) else 1
    else:  # the model failed to load or the server stopped on its own
        stop_task.cancel()
        code = 1
    server.should_exit = True
    # gRPC's own grace only flushes answers: new calls were refused and accepted ones answered in _drain.
    await asyncio.gather(server_task, *([grpc_server.stop(_FLUSH_S)] if grpc_server is not None else []))
    if state.batcher is not None:
        state.batcher.close(timeout=1.0 if code == 0 else 0.0)  # when the grace is over, do not wait on torch
    state.json_parser.stop()
    log.info("exit", extra={"fields": {"code": code}})
    return code


def main(argv: list[str] | None = None) -> int:
    settings = config.parse(argv)
    logs.configure(settings.log_level)
    try:
        device = resolve_device(settings.device)
    except DeviceError as exc:
        print(f"python -m serving: error: {exc}", file=sys.stderr)
        return 2
    if settings.num_threads:
        torch.set_num_threads(settings.num_threads)
    return _exit(_run(serve(settings, device)))


def _run(main_coroutine) -> int:
    try:
        import uvloop
    except ImportError:  # the image has it; a bare checkout may not
        return asyncio.run(main_coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main_coroutine)


def _exit(code: int) -> int:
    """Exit with `code`, skipping interpreter finalisation while one of our daemon threads is still busy.

    A forward pass (or a model load) still running when the interpreter finalises is stopped by CPython with
    pthread_exit, whose unwinding through libtorch's noexcept frames aborts the process ("terminate called
    without an active exception", exit 134). When the grace period ran out that is exactly the case.
    """
    busy = [t.name for t in threading.enumerate() if t.daemon and t.name.startswith("serving-") and t.is_alive()]
    if not busy:
        return code
    log.info("leaving busy threads behind", extra={"fields": {"threads": busy}})
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
