"""Large JSON bodies are parsed in a process of their own (serving/parse_process.py): same answers, same 400s, and
a parser process that dies leaves the server serving (on its parser thread). Probe latency while they are parsed is a
benchmark's (benchmarks/serving/probes.py), not a test's."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time

import httpx
import numpy as np
import pytest

from serving import parse_process
from serving.parse_process import PROCESS_BYTES
from test_server import INFER, expected, features, outputs

ROWS = PROCESS_BYTES // 40  # ~11 bytes of JSON per number, 4 numbers a row: well over the threshold


@pytest.fixture
def large_json_server(start_server, affine_path):
    return start_server(str(affine_path), "--max-batch-size", "8").wait_ready()


def large_request(seed: int) -> tuple[np.ndarray, bytes]:
    rows = np.random.default_rng(seed).random((ROWS, 4), dtype=np.float32)
    body = json.dumps({"inputs": [features(rows)]}).encode()
    assert len(body) > PROCESS_BYTES
    return rows, body


def parser_pid(server) -> int:
    started = server.log_lines(lambda line: line["msg"] == "parser process started")
    assert len(started) == 1, server.log()
    return started[0]["pid"]


def post(server, body: bytes) -> httpx.Response:
    return httpx.post(server.url + INFER, content=body, headers={"Content-Type": "application/json"}, timeout=60)


def test_a_large_json_body_is_answered_as_a_small_one_would_be(large_json_server):
    assert parser_pid(large_json_server) != large_json_server.proc.pid
    rows, body = large_request(0)
    response = post(large_json_server, body)
    assert response.status_code == 200, response.text
    scores, total = expected(rows)
    got = outputs(response.json())
    np.testing.assert_allclose(got["scores"], scores, rtol=1e-5)
    np.testing.assert_allclose(got["total"], total, rtol=1e-5)


def test_a_large_malformed_body_is_the_same_400(large_json_server):
    _, body = large_request(1)
    response = post(large_json_server, body[:-2] + b",}")
    assert response.status_code == 400
    assert response.json()["error"].startswith("malformed JSON")
    wrong = post(large_json_server, body.replace(b'"FP32"', b'"FP33"', 1))
    assert wrong.status_code == 400 and "FP33" in wrong.json()["error"]


def test_when_the_parser_process_dies_the_parser_thread_takes_over(large_json_server):
    os.kill(parser_pid(large_json_server), signal.SIGKILL)
    for seed in (2, 3):  # the first finds the process gone, the second does not try it again
        rows, body = large_request(seed)
        response = post(large_json_server, body)
        assert response.status_code == 200, response.text
        np.testing.assert_allclose(outputs(response.json())["total"], expected(rows)[1], rtol=1e-5)
    died = large_json_server.log_lines(lambda line: line["msg"].startswith("the parser process died"), count=2, timeout=1.0)
    assert len(died) == 1, large_json_server.log()
    assert httpx.get(large_json_server.url + "/v2/health/ready").status_code == 200


def test_a_parser_process_that_cannot_start_leaves_parsing_on_the_thread(monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(parse_process.concurrent.futures, "ProcessPoolExecutor", refuse)
    parser = parse_process.ParseProcess()
    with caplog.at_level(logging.WARNING, logger="serving.parse"):
        asyncio.run(parser.start())
    assert not parser.takes(PROCESS_BYTES + 1, None) and parser.pid is None
    (record,) = caplog.records
    assert record.getMessage().startswith("no parser process") and "Too many open files" in record.fields["error"]


def test_the_parser_process_and_its_fork_server_end_with_the_server_however_it_ends(large_json_server):
    """SIGKILL leaves no time to stop the pool: the worker must notice on its own, and then the fork server too.
    (In a container the runtime would reap them with the server; run directly, they would stay for good.)"""
    worker = parser_pid(large_json_server)
    fork_server = int(open(f"/proc/{worker}/stat").read().rpartition(")")[2].split()[1])  # the worker's parent
    assert fork_server != large_json_server.proc.pid
    large_json_server.proc.kill()
    large_json_server.proc.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in (worker, fork_server)):
        time.sleep(0.05)
    assert not alive(worker) and not alive(fork_server), (worker, fork_server)


def alive(pid: int) -> bool:
    """Running, not a zombie (a zombie whose parent is gone is reaped by init soon after)."""
    try:
        return open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False
