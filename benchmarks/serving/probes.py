"""Health probes and SIGTERM while large bodies are parsed (issue 12, defect 6): printed, never asserted.

    python -m benchmarks.serving.probes [--bodies 8] [--mb 50] [--binary] [--serving-path DIR]

Starts `python -m serving` on a tiny row-sum model, sends `--bodies` concurrent FP32 bodies of about `--mb` MB
(JSON, or with `--binary` the binary tensor data extension both ways),
polls /v2/health/live every 10 ms on its own connection, from a process of its own as a kubelet would (so the
client's own work on the bodies does not delay the probes it times), while they are in, then sends SIGTERM and
measures how long /v2/health/ready still says 200. `--serving-path` imports serving from another checkout (A/B a
patch).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import signal
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson
import torch

from . import client, servers


class RowSum(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(dim=1)


def _model(directory: Path) -> Path:
    path = directory / "rowsum.pt"
    torch.jit.script(RowSum()).save(str(path))
    metadata = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}]}
    (directory / "rowsum.pt.json").write_bytes(orjson.dumps(metadata))
    return path


def _request(megabytes: float, binary: bool) -> bytes:
    """An infer request of about `megabytes`: JSON, or a JSON header and binary tensor data."""
    rows = int(megabytes * 1e6 / 4 / (4 if binary else 11))  # ~11 bytes of JSON per random float
    data = np.random.default_rng(0).random(rows * 4, dtype=np.float32)
    tensor = {"name": "x", "datatype": "FP32", "shape": [rows, 4]}
    headers = f"POST /v2/models/m/infer HTTP/1.1\r\nHost: {servers.HOST}\r\n"
    if binary:
        header = orjson.dumps({"inputs": [{**tensor, "parameters": {"binary_data_size": data.nbytes}}],
                               "parameters": {"binary_data_output": True}})
        headers += f"Inference-Header-Content-Length: {len(header)}\r\n"
        body = header + data.tobytes()
    else:
        body = orjson.dumps({"inputs": [{**tensor, "data": data}]}, option=orjson.OPT_SERIALIZE_NUMPY)
    return f"{headers}Content-Length: {len(body)}\r\n\r\n".encode() + body


async def _poll(port: int, path: str, until: asyncio.Event, latencies: list[float], statuses: list[int]) -> None:
    request = f"GET {path} HTTP/1.1\r\nHost: {servers.HOST}\r\n\r\n".encode()
    conn = await client.Connection.open(servers.HOST, port)
    try:
        while not until.is_set():
            started = time.perf_counter()
            try:
                status, _ = await conn.send(request)
            except (ConnectionError, asyncio.IncompleteReadError):  # the server has drained and closed: done
                return
            latencies.append((time.perf_counter() - started) * 1000)
            statuses.append(status)
            await asyncio.sleep(0.01)
    finally:
        conn.close()


def _poll_in_process(port: int, path: str, until, results) -> None:
    """_poll in a process of its own (``until``: a multiprocessing Event); sends back (latencies, statuses)."""
    latencies: list[float] = []
    try:
        asyncio.run(_poll(port, path, until, latencies, []))
    finally:  # always: the parent waits for them
        results.send(latencies)


async def _measure(server: servers.RunningServer, request: bytes, bodies: int) -> dict:
    context = multiprocessing.get_context("fork")
    done, (received, sent) = context.Event(), context.Pipe(duplex=False)
    prober = context.Process(target=_poll_in_process, args=(server.port, "/v2/health/live", done, sent), daemon=True)
    prober.start()
    posts = [asyncio.create_task(client.request_once(servers.HOST, server.port, request)) for _ in range(bodies)]
    await asyncio.sleep(1.0)  # the bodies are in and being parsed
    server.proc.send_signal(signal.SIGTERM)
    sigterm = time.perf_counter()
    ready, ready_statuses = [], []
    stopped = asyncio.Event()
    ready_prober = asyncio.create_task(_poll(server.port, "/v2/health/ready", stopped, ready, ready_statuses))
    while 503 not in ready_statuses and not ready_prober.done():
        await asyncio.sleep(0.001)
    flipped_ms = (time.perf_counter() - sigterm) * 1000
    stopped.set()
    answers = await asyncio.gather(*posts, return_exceptions=True)
    done.set()
    live = received.recv()
    prober.join()
    await asyncio.gather(ready_prober, return_exceptions=True)
    return {
        "live_probes": len(live), "live_max_ms": max(live), "live_p50_ms": float(np.median(live)),
        "ready_503_after_sigterm_ms": flipped_ms,
        "infer_ok": sum(1 for a in answers if not isinstance(a, BaseException) and a[0] == 200),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serving.probes", description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=8)
    parser.add_argument("--mb", type=float, default=50.0)
    parser.add_argument("--binary", action="store_true", help="binary tensor data instead of JSON bodies")
    parser.add_argument("--serving-path", type=Path, default=servers.ROOT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        kind = servers.ServerKind("a", "serving", "serving", 32, 5.0)
        server = servers.RunningServer(kind, _model(Path(workdir)), "m", set(), 1, Path(workdir) / "server.log",
                                       args.serving_path)
        try:
            server.wait_ready()
            result = asyncio.run(_measure(server, _request(args.mb, args.binary), args.bodies))
        finally:
            server.stop()
    print(f"{args.bodies} {'binary' if args.binary else 'JSON'} bodies of {args.mb:g} MB: /v2/health/live p50 {result['live_p50_ms']:.1f} ms, "
          f"max {result['live_max_ms']:.1f} ms over {result['live_probes']} probes; /v2/health/ready 503 "
          f"{result['ready_503_after_sigterm_ms']:.0f} ms after SIGTERM; {result['infer_ok']} answered 200")
    return result


if __name__ == "__main__":
    main()
