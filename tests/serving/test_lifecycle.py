"""Back-pressure and shutdown under load, with a model whose forward takes as long as the test asks."""

from __future__ import annotations

import asyncio
import signal
import threading
import time

import httpx
import numpy as np
import orjson
import pytest

import tiny_models as models
from server_support import metric

INFER = "/v2/models/m/infer"


def spin(steps: int) -> dict:
    return {"inputs": [{"name": "input__0", "datatype": "FP32", "shape": [1, 128], "data": [steps] + [0] * 127}]}


def steps_for(server, seconds: float) -> int:
    """Calibrate: forward steps that take about `seconds` on this machine right now. The second run is timed:
    TorchScript's profiling executor runs the first calls slower than the rest."""
    for _ in range(2):
        started = time.perf_counter()
        assert httpx.post(server.url + INFER, json=spin(20000), timeout=30).status_code == 200
    per_step = (time.perf_counter() - started) / 20000
    return max(1, int(seconds / per_step))


@pytest.fixture
def spin_path(tmp_path):
    return models.save_script(models.Spin(), tmp_path / "spin.pt", models.SPIN_METADATA)


def test_full_queue_is_503_with_retry_after(start_server, spin_path):
    server = start_server(str(spin_path), "--max-batch-size", "1", "--max-queue-depth", "2").wait_ready()
    slow = steps_for(server, 0.4)

    async def run():
        async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=httpx.Limits(max_connections=16)) as c:
            first = asyncio.create_task(c.post(INFER, json=spin(slow)))
            await asyncio.sleep(0.15)  # the first is now running; the queue holds two more at most
            rest = await asyncio.gather(*(c.post(INFER, json=spin(slow // 4)) for _ in range(10)))
            return [await first, *rest]

    responses = asyncio.run(run())
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 503}, statuses
    full = [r for r in responses if r.status_code == 503]
    assert full and statuses.count(200) >= 3, statuses
    for response in full:
        assert response.headers["Retry-After"] == "1" and "queue is full" in response.json()["error"]
    text = httpx.get(server.url + "/metrics").text
    assert metric(text, "serving_requests_total", 'model="m",outcome="queue_full",protocol="http"') == len(full)
    assert httpx.get(server.url + "/v2/health/ready").status_code == 200


def test_sigterm_under_load_answers_every_accepted_request(start_server, spin_path):
    server = start_server(str(spin_path), "--max-batch-size", "4", "--shutdown-grace-s", "20").wait_ready()
    steps = steps_for(server, 0.15)
    results: list[tuple[float, float, object]] = []  # (sent, answered, status or exception)
    lock = threading.Lock()
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            while not stop.is_set():
                sent = time.monotonic()
                try:
                    outcome: object = c.post(INFER, json=spin(steps))
                except httpx.TransportError as exc:  # the server has closed: stop sending
                    outcome = exc
                with lock:
                    results.append((sent, time.monotonic(), outcome))
                if isinstance(outcome, Exception):
                    return
                if outcome.status_code == 503:
                    time.sleep(0.05)  # back off as Retry-After asks, instead of starving the forward pass

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    sigterm_at = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    ready = None
    while time.monotonic() - sigterm_at < 2:
        try:
            ready = httpx.get(server.url + "/v2/health/ready", timeout=1).status_code
        except httpx.TransportError:
            break
        if ready == 503:
            break
        time.sleep(0.01)
    exit_code = server.proc.wait(20)
    exited_after = time.monotonic() - sigterm_at
    stop.set()
    for thread in threads:
        thread.join(30)

    assert exit_code == 0, server.log()
    assert exited_after < 20
    assert ready == 503, "readiness did not turn false after SIGTERM"
    in_flight = [o for sent, answered, o in results if sent < sigterm_at - 0.05 and answered > sigterm_at]
    assert len(in_flight) >= 4, "the test did not catch requests in flight"
    assert all(isinstance(o, httpx.Response) and o.status_code == 200 for o in in_flight), in_flight
    before = [o for sent, _, o in results if sent < sigterm_at - 0.05]
    assert all(isinstance(o, httpx.Response) and o.status_code == 200 for o in before)
    for sent, _, outcome in results:
        if isinstance(outcome, httpx.Response):
            assert outcome.status_code in (200, 503), outcome.text
            if outcome.status_code == 503:
                assert sent > sigterm_at - 0.05 and "shutting down" in outcome.json()["error"]


def _sigterm_with_forwards_pending(server, grace: float) -> tuple[int, float, list[object]]:
    """16 requests of ~1 s each on a one-row batcher, SIGTERM after 1 s: most are still queued when the grace runs out.
    Returns (exit code, seconds from SIGTERM to exit, each request's response or transport error)."""
    slow = steps_for(server, 1.0)

    async def run():
        async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=httpx.Limits(max_connections=16)) as c:
            async def post():
                try:
                    return await c.post(INFER, json=spin(slow))
                except httpx.TransportError as exc:
                    return exc

            requests = [asyncio.create_task(post()) for _ in range(16)]
            await asyncio.sleep(1.0)
            sigterm_at = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(server.proc.wait, 30)
            return code, time.monotonic() - sigterm_at, await asyncio.gather(*requests)

    return asyncio.run(run())


def test_grace_running_out_with_forwards_pending_exits_1_without_an_abort(start_server, spin_path):
    server = start_server(str(spin_path), "--max-batch-size", "1", "--shutdown-grace-s", "2").wait_ready()
    code, _, _ = _sigterm_with_forwards_pending(server, 2.0)
    log = server.log()
    assert code == 1, log  # documented in serving/README.md ("Shutdown"): 1 when the grace period ran out
    assert "terminate called" not in log
    assert '"grace period over with requests unanswered"' in log


def test_requests_unanswered_at_grace_expiry_get_503_within_the_grace(start_server, spin_path):
    grace = 2.0
    server = start_server(str(spin_path), "--max-batch-size", "1", "--shutdown-grace-s", str(grace)).wait_ready()
    code, exited_after, outcomes = _sigterm_with_forwards_pending(server, grace)
    assert code == 1, (outcomes, server.log())
    assert all(isinstance(o, httpx.Response) for o in outcomes), outcomes
    statuses = [o.status_code for o in outcomes]
    assert set(statuses) <= {200, 503} and 503 in statuses and 200 in statuses, statuses
    for response in outcomes:
        if response.status_code == 503:
            assert response.headers["Retry-After"] == "1" and "grace period" in response.json()["error"]
    # The grace, plus the moment it takes to write the 503s: not uvicorn's own graceful timeout on top of it.
    assert exited_after < grace + 1.5, exited_after


async def _timed(events: list[tuple[str, float]], label: str, coroutine):
    result = await coroutine
    events.append((label, time.monotonic()))
    return result


async def _raw_post(host: str, port: int, body: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    head = f"POST {INFER} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    writer.write(head.encode() + body)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


async def _get_until(client: httpx.AsyncClient, path: str, status: int) -> None:
    while (await client.get(path)).status_code != status:
        await asyncio.sleep(0.01)


def test_large_bodies_are_parsed_off_the_event_loop(start_server, affine_path):
    """8 bodies of ~16 MB: /v2/health/live answers and SIGTERM turns readiness off while they are still being
    parsed, i.e. before the first of them is answered (on the event loop, every probe waited behind them). Each takes
    about 0.75 s to parse and answer here, one after another: the probes start well inside the first."""
    server = start_server(str(affine_path), "--shutdown-grace-s", "60").wait_ready()
    rows = 1_000_000
    body = orjson.dumps({"inputs": [{"name": "features", "datatype": "FP32", "shape": [rows, 4],
                                     "data": np.full(rows * 4, 1.5, np.float32)}], "outputs": [{"name": "total"}]},
                        option=orjson.OPT_SERIALIZE_NUMPY)
    host, port = server.url.removeprefix("http://").split(":")

    async def run():
        events: list[tuple[str, float]] = []
        posts = [asyncio.create_task(_timed(events, "infer", _raw_post(host, int(port), body))) for _ in range(8)]
        await asyncio.sleep(0.3)  # the bodies are on their way (or in), the first is being parsed
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            await _timed(events, "live", client.get("/v2/health/live"))
            server.proc.send_signal(signal.SIGTERM)
            await _timed(events, "not ready", _get_until(client, "/v2/health/ready", 503))
        return events, await asyncio.gather(*posts)

    events, answers = asyncio.run(run())
    order = [label for label, _ in sorted(events, key=lambda event: event[1])]
    assert order[:2] == ["live", "not ready"], order
    assert server.proc.wait(60) == 0, server.log()
    for answer in answers:  # every accepted request is still answered, and correctly
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), answer[:300]
        (total,) = orjson.loads(payload)["outputs"]
        assert total["shape"] == [rows] and set(total["data"]) == {6.0}
