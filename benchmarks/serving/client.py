"""The one load client every server is driven with: closed-loop, keep-alive HTTP/1.1 over raw asyncio, and
closed-loop gRPC (grpc.aio) for serving's gRPC endpoint.

Raw asyncio rather than httpx because the client shares the machine with the server: httpx costs a few
hundred microseconds of CPU per request, which would be charged to whichever server is being measured.
Request bytes (line, headers, orjson body; or the serialised ModelInferRequest) are built once; per request the
client only writes them and reads one response (Content-Length or chunked; gRPC: the raw response bytes).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc
import numpy as np
import orjson
from grpc import aio

from serving.oip import open_inference_grpc_pb2 as pb  # the harness's checkout (the repository root), not --serving-path

MODEL_INFER = "/inference.GRPCInferenceService/ModelInfer"


def encode_request(host: str, port: int, path: str, payload: dict) -> bytes:
    """A complete POST request, ready to write to a socket."""
    body = orjson.dumps(payload)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def binary_body(name: str, datatype: str, array: np.ndarray) -> tuple[bytes, int]:
    """The body of a request with the binary tensor data extension (the input and the outputs as raw little-endian
    bytes), and its JSON header's length (the Inference-Header-Content-Length)."""
    header = orjson.dumps({
        "inputs": [{"name": name, "shape": list(array.shape), "datatype": datatype,
                    "parameters": {"binary_data_size": array.nbytes}}],
        "parameters": {"binary_data_output": True},
    })  # fmt: skip
    return header + np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes(), len(header)


def encode_binary_request(host: str, port: int, path: str, name: str, datatype: str, array: np.ndarray) -> bytes:
    """A POST with the binary tensor data extension (binary_body)."""
    body, header_length = binary_body(name, datatype, array)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/octet-stream\r\n"
        f"Inference-Header-Content-Length: {header_length}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def encode_grpc_request(model: str, name: str, datatype: str, array: np.ndarray) -> bytes:
    """A serialised ModelInferRequest with the input in raw_input_contents, as Triton's and KServe's clients send it."""
    tensor = pb.ModelInferRequest.InferInputTensor(name=name, datatype=datatype, shape=array.shape)
    raw = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
    return pb.ModelInferRequest(model_name=model, inputs=[tensor], raw_input_contents=[raw]).SerializeToString()


class Connection:
    """One keep-alive connection; requests on it are strictly sequential."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.headers: dict[str, str] = {}  # of the last response

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        return cls(*await asyncio.open_connection(host, port, limit=1 << 24))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """Write a request, return (status, body)."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked()
        else:
            raise ConnectionError(f"response without a length: {headers}")
        if headers.get("connection", "").lower() == "close":
            raise ConnectionError("server closed the keep-alive connection")
        self.headers = headers
        return status, body

    async def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append((await self.reader.readexactly(size + 2))[:-2])

    def close(self) -> None:
        self.writer.close()


async def request_once(host: str, port: int, request: bytes) -> tuple[int, bytes]:
    """One request on a fresh connection (readiness checks, correctness checks)."""
    status, _, body = await request_once_with_headers(host, port, request)
    return status, body


async def request_once_with_headers(host: str, port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, lower-cased response headers, body) of one request on a fresh connection."""
    conn = await Connection.open(host, port)
    try:
        status, body = await conn.send(request)
        return status, conn.headers, body
    finally:
        conn.close()


@dataclass
class LoadResult:
    concurrency: int
    seconds: float
    ok: int
    errors: int
    latencies_ms: list[float]

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile of successful requests' latency, in ms."""
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def drive(
    host: str, port: int, requests: list[bytes], concurrency: int, warmup_s: float, duration_s: float
) -> LoadResult:
    """Keep ``concurrency`` HTTP requests in flight (one keep-alive connection each) for warmup + duration."""
    conns = [await Connection.open(host, port) for _ in range(concurrency)]

    async def send(worker: int, request: bytes) -> bool:
        status, _ = await conns[worker].send(request)
        return status == 200

    try:
        return await _closed_loop(send, requests, concurrency, warmup_s, duration_s)
    finally:
        for conn in conns:
            conn.close()


async def drive_grpc(
    target: str, requests: list[bytes], concurrency: int, warmup_s: float, duration_s: float
) -> LoadResult:
    """Keep ``concurrency`` ModelInfer calls in flight on one channel (HTTP/2 multiplexes them, as a gRPC client
    does) for warmup + duration. Requests go pre-serialised and responses stay bytes: no protobuf work per call."""
    async with aio.insecure_channel(target, options=[("grpc.max_receive_message_length", 1 << 28)]) as channel:
        call = channel.unary_unary(MODEL_INFER)

        async def send(worker: int, request: bytes) -> bool:
            try:
                await call(request, timeout=60)
            except aio.AioRpcError:
                return False
            return True

        return await _closed_loop(send, requests, concurrency, warmup_s, duration_s)


async def grpc_once(target: str, request: bytes) -> tuple[grpc.StatusCode, bytes]:
    """One ModelInfer call (correctness checks): (status, serialised response or b"")."""
    async with aio.insecure_channel(target) as channel:
        try:
            return grpc.StatusCode.OK, await channel.unary_unary(MODEL_INFER)(request, timeout=60)
        except aio.AioRpcError as exc:
            return exc.code(), exc.details().encode()


async def _closed_loop(
    send: Callable[[int, bytes], Awaitable[bool]], requests: list[bytes], concurrency: int, warmup_s: float,
    duration_s: float,
) -> LoadResult:
    """``concurrency`` workers, each sending its next request when the last is answered; measure the second window.

    A request counts if it completes inside the window; its latency is send-to-last-byte.
    """
    start = time.perf_counter() + warmup_s
    end = start + duration_s
    samples: list[float] = []
    errors = 0

    async def worker(index: int) -> None:
        nonlocal errors
        for request in itertools.islice(itertools.cycle(requests), index, None):
            sent = time.perf_counter()
            if sent >= end:
                return
            ok = await send(index, request)
            done = time.perf_counter()
            if start <= done <= end:
                if ok:
                    samples.append((done - sent) * 1e3)
                else:
                    errors += 1

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return LoadResult(concurrency, duration_s, len(samples), errors, samples)
