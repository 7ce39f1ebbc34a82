"""Clients that go away or dawdle: a disconnect mid-body, slow headers, a stalled upload."""

from __future__ import annotations

import signal
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
    for outcome in ("ok", "bad_request", "error", "client_disconnected", "read_timeout"):
        try:
            found[outcome] = metric(text, "serving_requests_total", f'model="m",outcome="{outcome}",protocol="http"')
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


def _read_until_closed(sock: socket.socket, timeout: float, dribble: bytes = b"") -> bytes:
    """What the server sends until it closes the connection; `dribble` is sent a byte every 0.3 s meanwhile."""
    sock.settimeout(0.3)
    received, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            if dribble:
                try:
                    sock.sendall(dribble[:1])
                except OSError:  # closed by the server
                    return received
                dribble = dribble[1:] or dribble
            continue
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk
    raise AssertionError(f"the server still held the connection after {timeout}s (received {received!r})")


def test_headers_sent_a_byte_at_a_time_are_cut_off_at_the_read_timeout(start_server, affine_path):
    server = start_server(str(affine_path), "--read-timeout-s", "1").wait_ready()
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(f"POST {INFER} HTTP/1.1\r\nHost: {host}\r\n".encode())
        answer = _read_until_closed(sock, 15, dribble=b"X-Slow: " + b"a" * 1000)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert httpx.get(server.url + "/v2/health/ready").status_code == 200


def test_a_stalled_upload_gets_408_at_the_read_timeout(start_server, affine_path):
    server = start_server(str(affine_path), "--read-timeout-s", "1").wait_ready()
    with _send_partial_request(server.url, body=b'{"inputs": [') as sock:
        answer = _read_until_closed(sock, 15)
    assert answer.startswith(b"HTTP/1.1 408") and b"--read-timeout-s" in answer, answer
    assert _outcomes(server)["read_timeout"] == 1
    assert '"level":"error"' not in server.log()


def test_a_stalled_upload_does_not_hold_the_drain(start_server, affine_path):
    grace = 30.0
    server = start_server(str(affine_path), "--read-timeout-s", "1", "--shutdown-grace-s", str(grace)).wait_ready()
    with _send_partial_request(server.url, body=b'{"inputs": [') as sock:
        time.sleep(0.2)
        sigterm_at = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        answer = _read_until_closed(sock, grace)
        code = server.proc.wait(grace)
    assert code == 0, server.log()  # the upload was answered (408), so the drain completed
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert time.monotonic() - sigterm_at < grace / 2  # ended by the read timeout, not by the grace


def test_a_body_still_arriving_when_the_grace_runs_out_gets_503(start_server, affine_path):
    server = start_server(str(affine_path), "--read-timeout-s", "60", "--shutdown-grace-s", "1").wait_ready()
    with _send_partial_request(server.url, body=b'{"inputs": [') as sock:
        time.sleep(0.2)
        server.proc.send_signal(signal.SIGTERM)
        answer = _read_until_closed(sock, 15)
        code = server.proc.wait(15)
    assert code == 1, server.log()
    assert answer.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in answer.title(), answer
