"""What metrics and the access log add to one inference request's CPU time, in µs, measured in-process: the serving
ASGI app built twice (metrics and access log on, and off) and called directly, with a model that answers at once, so
the numbers hold only the request path (parsing, routing, answering, and the features). The same V2 body as
run.py's MLP (one row of 1,024 FP32), JSON or binary. CPU time of the whole process (the log's flush thread
included), alternating on and off, median of the repetitions. Printed, never asserted.

overhead.py measures the cost as a throughput ratio of two real servers, which the machine's noise blurs to a few
per cent; this is the same cost in µs, to set against a server's CPU time per request (1 / its throughput on its
one core).

    python -m benchmarks.serving.on_path [--requests 3000] [--repetitions 16] [--binary] [--on log metrics]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import statistics
import time

import numpy as np
import orjson
import torch
import uvloop

from serving import logs
from serving.app import ServerState, build_app
from serving.config import Settings
from serving.metrics import for_settings
from serving.model import LoadedModel
from serving.protocol import TensorSpec

from . import client
from .run import v2_payload

FEATURES = ("log", "metrics")
PATH = "/v2/models/m/infer"


class AnswersAtOnce:
    """Stands for the batcher: each request's input comes back as its output, no thread, no forward pass."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop

    def submit(self, request):
        future = self.loop.create_future()
        future.set_result([("output__0", "FP32", request.arrays[0])])
        return future


def app_with(features: set[str], loop: asyncio.AbstractEventLoop):
    settings = Settings(model_uri="unused", model_name="m", access_log="log" in features, metrics="metrics" in features)
    state = ServerState(settings, for_settings("m", settings.metrics))
    spec = TensorSpec("input__0", "FP32", (-1, 1024))
    state.model = LoadedModel("m", None, "pytorch_libtorch", None, torch.device("cpu"), (spec,), None)
    state.batcher, state.ready = AnswersAtOnce(loop), True  # type: ignore[assignment]
    return build_app(state)


def request(binary: bool) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Headers and body of one MLP request, as run.py sends it (one row of 1,024 FP32)."""
    row = np.random.default_rng(1).standard_normal((1, 1024)).astype(np.float32)
    if binary:
        body, header_length = client.binary_body("input__0", "FP32", row)
        headers = [(b"content-type", b"application/octet-stream"),
                   (b"inference-header-content-length", str(header_length).encode())]
    else:
        body = orjson.dumps(v2_payload(torch.from_numpy(row), "FP32"))
        headers = [(b"content-type", b"application/json")]
    return [(b"host", b"bench"), *headers, (b"content-length", str(len(body)).encode())], body


async def call(app, headers, body: bytes) -> None:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": PATH, "raw_path": PATH.encode(), "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8080)}
    status = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    if status != [200]:
        raise RuntimeError(f"the app answered {status}")


async def measure(args: argparse.Namespace, log_handler: logging.Handler) -> dict[str, list[float]]:
    loop = asyncio.get_running_loop()
    apps = {"on": app_with(set(args.on), loop), "off": app_with(set(), loop)}
    headers, body = request(args.binary)
    for app in apps.values():
        for _ in range(300):
            await call(app, headers, body)
    gc.collect()
    gc.freeze()  # as serving/__main__.py does after its warm-up
    cpu_us: dict[str, list[float]] = {"on": [], "off": []}
    for repetition in range(args.repetitions):
        for key in ("on", "off") if repetition % 2 == 0 else ("off", "on"):
            started = time.process_time()
            for _ in range(args.requests):
                await call(apps[key], headers, body)
            log_handler.flush()  # queued access lines are formatted here: their cost counts
            cpu_us[key].append((time.process_time() - started) / args.requests * 1e6)
    return cpu_us


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serving.on_path", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per window")
    parser.add_argument("--repetitions", type=int, default=16, help="windows per variant, alternating")
    parser.add_argument("--binary", action="store_true", help="the binary tensor data extension instead of JSON")
    parser.add_argument("--on", nargs="+", default=list(FEATURES), choices=FEATURES, help="what 'on' turns on")
    args = parser.parse_args(argv)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # the access lines go to stderr
    logs.configure("info")
    cpu_us = uvloop.run(measure(args, logging.root.handlers[0]))
    on, off = statistics.median(cpu_us["on"]), statistics.median(cpu_us["off"])
    print(f"{'binary' if args.binary else 'JSON'}, on = {' + '.join(args.on)}: CPU per request "
          f"on {on:.1f} µs (min {min(cpu_us['on']):.1f}), off {off:.1f} µs (min {min(cpu_us['off']):.1f}), "
          f"on - off = {on - off:.1f} µs", flush=True)
    return {"on_us": on, "off_us": off, "windows": cpu_us}


if __name__ == "__main__":
    main()
