"""The one load client every server is driven with: closed-loop, keep-alive HTTP/1.1 over raw asyncio.

Raw asyncio rather than httpx because the client shares the machine with the server: httpx costs a few
hundred microseconds of CPU per request, which would be charged to whichever server is being measured.
Request bytes (line, headers, orjson body) are built once; per request the client only writes them and
reads one response (Content-Length or chunked).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass

import orjson


def encode_request(host: str, port: int, path: str, payload: dict) -> bytes:
    """A complete POST request, ready to write to a socket."""
    body = orjson.dumps(payload)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Connection:
    """One keep-alive connection; requests on it are strictly sequential."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

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
    conn = await Connection.open(host, port)
    try:
        return await conn.send(request)
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
    """Keep ``concurrency`` requests in flight for warmup + duration; measure the second window.

    A request counts if it completes inside the window; its latency is send-to-last-byte.
    """
    conns = [await Connection.open(host, port) for _ in range(concurrency)]
    start = time.perf_counter() + warmup_s
    end = start + duration_s
    samples: list[float] = []
    errors = 0

    async def worker(conn: Connection, offset: int) -> None:
        nonlocal errors
        for request in itertools.islice(itertools.cycle(requests), offset, None):
            sent = time.perf_counter()
            if sent >= end:
                return
            status, _ = await conn.send(request)
            done = time.perf_counter()
            if start <= done <= end:
                if status == 200:
                    samples.append((done - sent) * 1e3)
                else:
                    errors += 1

    try:
        await asyncio.gather(*(worker(c, i) for i, c in enumerate(conns)))
    finally:
        for conn in conns:
            conn.close()
    return LoadResult(concurrency, duration_s, len(samples), errors, samples)
