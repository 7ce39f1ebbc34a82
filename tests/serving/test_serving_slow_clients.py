"""Clients that go away or dawdle: a disconnect mid-body, slow headers, a stalled upload."""

from __future__ import annotations

import socket
import time

import httpx

from server_support import metric

INFER = "/v2/models/m/infer"


def _send_partial_request(url: str, head_extra: str = "", body: bytes = b"") -> socket.socket:
    """Open a connection and send a request's headers announcing a 100 kB body, then only `body`."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    head = f"POST {INFER} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n"
    sock.sendall((head + head_extra + "\r\n").encode() + body)
    return sock


def _outcomes(server) -> dict[str, float]:
    text = httpx.get(server.url + "/metrics").text
    found = {}
    for outcome in ("ok", "bad_request", "error", "client_disconnected"):
        try:
            found[outcome] = metric(text, "serving_requests_total", f'model="m",outcome="{outcome}"')
        except AssertionError:  # not an outcome this server knows
            found[outcome] = 0.0
    return found


def _wait_for_an_outcome(server, timeout: float = 10.0) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outcomes = _outcomes(server)
        if any(outcomes.values()):
            return outcomes
        time.sleep(0.05)
    raise AssertionError(f"no request outcome counted within {timeout}s:\n{server.log()}")


def test_client_disconnecting_mid_body_is_neither_an_error_nor_logged_as_one(start_server, affine_path):
    server = start_server(str(affine_path)).wait_ready()
    sock = _send_partial_request(server.url, body=b'{"inputs": [{"name": "features", ')
    time.sleep(0.2)
    sock.close()
    outcomes = _wait_for_an_outcome(server)
    assert outcomes["client_disconnected"] == 1 and outcomes["error"] == 0, outcomes
    log = server.log()
    assert '"level":"error"' not in log and "Traceback" not in log, log
    assert httpx.get(server.url + "/v2/health/ready").status_code == 200
