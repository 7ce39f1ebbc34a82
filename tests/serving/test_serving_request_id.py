"""Request ids and the access log, against real `python -m serving` processes: the mesh's x-request-id (or a new
UUID) is echoed in the response and carried by the request's access line and by whatever else it logs; switches
for the access log and for metrics."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
import uuid

import httpx
import pytest

from serving import config, logs, request_id

INFER = "/v2/models/m/infer"
BODY = {"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 4], "data": [0.5, 1.0, 1.5, 2.0]}]}


def log_lines(server, request_id: str, timeout: float = 5.0, count: int = 1) -> list[dict]:
    """The JSON lines the server logged with ``request_id`` (waits for ``count`` of them: the access line is written
    after the response is sent)."""
    return server.log_lines(lambda line: line.get("request_id") == request_id, count, timeout)


def access_line(server, request_id: str) -> dict:
    found = [line for line in log_lines(server, request_id) if line["logger"] == "serving.access"]
    assert len(found) == 1, (request_id, server.log()[-3000:])
    return found[0]


def test_the_mesh_request_id_is_echoed_and_on_the_access_line(affine_server):
    response = httpx.post(affine_server.url + INFER, json=BODY, headers={"x-request-id": "mesh-7f3a-42"})
    assert response.status_code == 200 and response.headers["x-request-id"] == "mesh-7f3a-42"
    line = access_line(affine_server, "mesh-7f3a-42")
    assert line["level"] == "info" and line["msg"] == "request"
    assert {k: line[k] for k in ("method", "path", "status", "outcome", "model")} == {
        "method": "POST", "path": INFER, "status": 200, "outcome": "ok", "model": "m"}
    assert isinstance(line["duration_ms"], float) and 0 < line["duration_ms"] < 10_000


def test_without_a_usable_header_each_request_gets_a_new_uuid(affine_server):
    ids = [httpx.post(affine_server.url + INFER, json=BODY).headers["x-request-id"] for _ in range(2)]
    assert ids[0] != ids[1] and all(uuid.UUID(i).version == 4 for i in ids)
    assert access_line(affine_server, ids[0])["status"] == 200
    # Not printable ASCII, or longer than 128 characters: not taken from the caller.
    for bad in ("has space", "x" * 129):
        echoed = httpx.get(affine_server.url + "/v2/health/ready", headers={"x-request-id": bad}).headers["x-request-id"]
        assert uuid.UUID(echoed).version == 4
        line = access_line(affine_server, echoed)
        assert (line["path"], line["status"], line["outcome"]) == ("/v2/health/ready", 200, None)


def test_outcomes_other_than_ok_are_logged_with_their_status(affine_server):
    unknown = httpx.post(affine_server.url + "/v2/models/other/infer", json=BODY, headers={"x-request-id": "r-404"})
    assert unknown.status_code == 404 and unknown.headers["x-request-id"] == "r-404"
    assert (access_line(affine_server, "r-404")["status"], access_line(affine_server, "r-404")["outcome"]) == (404, "not_found")
    bad = httpx.post(affine_server.url + INFER, content=b"{not json", headers={"x-request-id": "r-400"})
    assert bad.status_code == 400 and access_line(affine_server, "r-400")["outcome"] == "bad_request"


async def _disconnect_mid_body(port: int, request_id: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"POST {INFER} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"
                 f"x-request-id: {request_id}\r\n\r\n{{\"inputs\": [".encode())
    await writer.drain()
    await asyncio.sleep(0.3)
    writer.close()


def test_what_the_handler_logs_carries_the_request_id(start_server, affine_path):
    """The handler's own log line (here the debug line of a client that left mid-body) has the request's id, as
    its warnings and errors would: the id is in a context variable, not passed along."""
    server = start_server(str(affine_path), "--log-level", "debug").wait_ready()
    asyncio.run(_disconnect_mid_body(int(server.url.rsplit(":", 1)[1]), "r-gone"))
    lines = log_lines(server, "r-gone", count=2)
    by_logger = {line["logger"]: line for line in lines}
    assert by_logger["serving.app"]["msg"] == "client disconnected while sending the body", lines
    assert by_logger["serving.access"]["outcome"] == "client_disconnected"
    # Lines logged outside any request (startup) carry no id.
    assert all("request_id" not in json.loads(line) for line in server.log().splitlines()
               if line.startswith("{") and '"msg":"ready"' in line)


def test_no_access_log_and_no_metrics(start_server, affine_path):
    server = start_server(str(affine_path), "--no-access-log", env={"METRICS": "false"}).wait_ready()
    response = httpx.post(server.url + INFER, json=BODY, headers={"x-request-id": "quiet-1"})
    assert response.status_code == 200 and response.headers["x-request-id"] == "quiet-1"
    assert httpx.get(server.url + "/metrics").status_code == 404
    time.sleep(4 * logs.FLUSH_S)  # what was logged is written out by now
    assert log_lines(server, "quiet-1", timeout=0) == [] and '"logger":"serving.access"' not in server.log()


def test_the_switches_parse_from_flags_and_environment(capsys):
    base = ["--model-uri", "/m.pt", "--model-name", "m"]
    defaults = config.parse(base, {})
    assert defaults.access_log is True and defaults.metrics is True
    from_env = config.parse(base, {"ACCESS_LOG": "off", "METRICS": "0"})
    assert (from_env.access_log, from_env.metrics) == (False, False)
    assert config.parse([*base, "--access-log", "--metrics"], {"ACCESS_LOG": "false", "METRICS": "no"}).access_log is True
    with pytest.raises(SystemExit) as exit_info:
        config.parse(base, {"ACCESS_LOG": "maybe"})
    assert exit_info.value.code == 2
    assert "--access-log / ACCESS_LOG: invalid value 'maybe' (from ACCESS_LOG); expected true or false" in capsys.readouterr().err


def test_info_lines_are_written_out_within_the_flush_interval_warnings_at_once(tmp_path):
    path = tmp_path / "log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    handler = logs.BufferedLineHandler(fd, flush_s=0.5)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("test_serving_request_id.buffered")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        token = request_id.current.set("r-buffered")
        logger.info("first")
        request_id.current.reset(token)
        assert path.read_text() == ""  # buffered
        logger.warning("second")  # written at once, with what was buffered before it
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        assert [(l["msg"], l["level"], l.get("request_id")) for l in lines] == [
            ("first", "info", "r-buffered"), ("second", "warning", None)]
        logger.info("third")
        time.sleep(1.5)
        assert json.loads(path.read_text().splitlines()[-1])["msg"] == "third"
    finally:
        logger.removeHandler(handler)
        handler.flush()
        os.close(fd)


@pytest.fixture
def access_log_file(tmp_path, monkeypatch):
    """The handler ``logs.configure`` installs, writing to a file (flushed by the test, not by its timer), at INFO:
    (the file, the handler)."""
    path = tmp_path / "log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    handler = logs.BufferedLineHandler(fd, flush_s=60)
    handler.setFormatter(logs.JsonFormatter())
    monkeypatch.setattr(logging.root, "handlers", [handler])
    monkeypatch.setattr(logs, "_configured", handler)
    level = logging.root.level
    logging.root.setLevel(logging.INFO)  # setLevel, not the attribute: loggers cache what is enabled
    yield path, handler
    logging.root.setLevel(level)
    os.close(fd)


def test_an_access_line_written_directly_is_the_line_logging_writes(access_log_file):
    """serving.logs.info_line skips the LogRecord (the access log's hot path); its line must be logging's own."""
    path, handler = access_log_file
    logger = logging.getLogger("serving.access")
    fields = {"method": "POST", "path": "/v2/models/m/infer", "status": 200, "duration_ms": 1.5, "client": None}
    token = request_id.current.set("r-direct")
    try:
        logs.info_line(logger, "request", fields)
        logger.info("request", extra={"fields": fields})
        logging.root.setLevel(logging.WARNING)
        logs.info_line(logger, "not at warning", fields)
    finally:
        request_id.current.reset(token)
        handler.flush()
    direct, logged = [json.loads(line) for line in path.read_text().splitlines()]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", direct["time"])
    assert abs(direct.pop("ts") - logged.pop("ts")) < 1 and direct.pop("time")[:16] == logged.pop("time")[:16]
    assert direct == logged == {"level": "info", "logger": "serving.access", "msg": "request", "request_id": "r-direct", **fields}


def test_queued_access_lines_keep_their_request_id_and_their_place_among_other_lines(access_log_file):
    """info_line's lines are formatted later, in a batch: each keeps the id it was logged under, and its order."""
    path, handler = access_log_file
    logger = logging.getLogger("serving.access")
    for rid, write in (("r-1", lambda: logs.info_line(logger, "one", {"status": 200})),
                       ("r-2", lambda: logger.warning("two")),
                       (None, lambda: logs.info_line(logger, "three", {"status": 404}))):
        token = request_id.current.set(rid)
        write()
        request_id.current.reset(token)
    handler.flush()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["msg"], line.get("request_id"), line.get("status")) for line in lines] == [
        ("one", "r-1", 200), ("two", "r-2", None), ("three", None, 404)]
