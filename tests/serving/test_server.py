"""Protocol behaviour of a running server: health, metadata, correct outputs, batching, every bad input."""

from __future__ import annotations

import asyncio
import json

import httpx
import numpy as np
import pytest
import torch

import tiny_models as models
from serving.protocol import ProtocolError, TensorSpec, parse_infer
from server_support import metric

INFER = "/v2/models/m/infer"


def features(rows: np.ndarray) -> dict:
    return {"name": "features", "datatype": "FP32", "shape": list(rows.shape), "data": rows.reshape(-1).tolist()}


def expected(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        scores, total = models.Affine()(torch.from_numpy(rows.astype(np.float32)))
    return scores.numpy(), total.numpy()


def outputs(body: dict) -> dict[str, np.ndarray]:
    return {o["name"]: np.asarray(o["data"], dtype=np.float32).reshape(o["shape"]) for o in body["outputs"]}


def test_health_and_server_metadata(affine_server):
    assert httpx.get(affine_server.url + "/v2/health/live").status_code == 200
    ready = httpx.get(affine_server.url + "/v2/health/ready")
    assert ready.status_code == 200
    server = httpx.get(affine_server.url + "/v2").json()
    assert server["name"] == "lepton-serving" and isinstance(server["extensions"], list) and server["version"]
    model_ready = httpx.get(affine_server.url + "/v2/models/m/ready")
    assert model_ready.status_code == 200 and model_ready.json()["ready"] is True


def test_model_metadata(affine_server):
    doc = httpx.get(affine_server.url + "/v2/models/m").json()
    assert doc == {
        "name": "m",
        "versions": ["7"],
        "platform": "pytorch_libtorch",
        "inputs": [{"name": "features", "datatype": "FP32", "shape": [-1, 4]}],
        "outputs": [
            {"name": "scores", "datatype": "FP32", "shape": [-1, 3]},
            {"name": "total", "datatype": "FP32", "shape": [-1]},
        ],
    }
    assert httpx.get(affine_server.url + "/v2/models/m/versions/7").json() == doc


def test_outputs_match_forward_flat_and_nested(affine_server):
    rows = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    scores, total = expected(rows)
    flat = httpx.post(affine_server.url + INFER, json={"id": "req-1", "inputs": [features(rows)]})
    assert flat.status_code == 200, flat.text
    body = flat.json()
    assert body["model_name"] == "m" and body["model_version"] == "7" and body["id"] == "req-1"
    assert [(o["name"], o["datatype"], o["shape"]) for o in body["outputs"]] == [
        ("scores", "FP32", [3, 3]), ("total", "FP32", [3])]
    got = outputs(body)
    np.testing.assert_allclose(got["scores"], scores, rtol=1e-6)
    np.testing.assert_allclose(got["total"], total, rtol=1e-6)

    nested = {"name": "features", "datatype": "FP32", "shape": [3, 4], "data": rows.tolist()}
    again = httpx.post(affine_server.url + "/v2/models/m/versions/7/infer", json={"inputs": [nested]})
    assert again.status_code == 200 and "id" not in again.json()
    np.testing.assert_allclose(outputs(again.json())["scores"], scores, rtol=1e-6)


def test_requested_outputs_are_filtered(affine_server):
    rows = np.ones((1, 4), np.float32)
    body = httpx.post(affine_server.url + INFER, json={"inputs": [features(rows)], "outputs": [{"name": "total"}]})
    assert [o["name"] for o in body.json()["outputs"]] == ["total"]
    bad = httpx.post(affine_server.url + INFER, json={"inputs": [features(rows)], "outputs": [{"name": "nope"}]})
    assert bad.status_code == 400 and "nope" in bad.json()["error"]


async def _post_all(url: str, bodies: list) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        return await asyncio.gather(*(
            client.post(INFER, content=body) if isinstance(body, bytes) else client.post(INFER, json=body)
            for body in bodies
        ))


def test_concurrent_requests_are_batched_and_each_gets_its_own_rows(affine_server):
    before = httpx.get(affine_server.url + "/metrics").text
    # Request i has 1..3 rows whose values encode (i, row): every answer is checkable on its own.
    inputs = [np.array([[i, r, i + r, 1.0] for r in range(1 + i % 3)], np.float32) for i in range(48)]
    responses = asyncio.run(_post_all(affine_server.url, [{"id": str(i), "inputs": [features(x)]}
                                                          for i, x in enumerate(inputs)]))
    for i, (x, response) in enumerate(zip(inputs, responses)):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["id"] == str(i)
        scores, total = expected(x)
        got = outputs(body)
        np.testing.assert_allclose(got["scores"], scores, rtol=1e-5)
        np.testing.assert_allclose(got["total"], total, rtol=1e-6)

    after = httpx.get(affine_server.url + "/metrics").text
    forwards = metric(after, "serving_batch_size_count") - metric(before, "serving_batch_size_count")
    rows = metric(after, "serving_batch_size_sum") - metric(before, "serving_batch_size_sum")
    single = metric(after, "serving_batch_size_bucket", 'le="1.0"') - metric(before, "serving_batch_size_bucket", 'le="1.0"')
    assert rows == sum(len(x) for x in inputs)
    assert forwards < len(inputs), "no request shared a forward pass"
    assert forwards > single, "the batch-size histogram shows no batch larger than one row"
    assert metric(after, "serving_requests_total", 'model="m",outcome="ok",protocol="http"') >= len(inputs)
    answered = metric(after, "serving_request_duration_seconds_count", 'model="m"') - metric(
        before, "serving_request_duration_seconds_count", 'model="m"')
    assert answered == len(inputs), "every answered request is one latency sample"


async def _post_on_open_connections(url: str, bodies: list[bytes]) -> list[bytes]:
    """Open one HTTP/1.1 connection per body, let the server accept them all, then send every body at once."""
    host, port = url.removeprefix("http://").split(":")
    connections = [await asyncio.open_connection(host, int(port)) for _ in bodies]
    await asyncio.sleep(0.5)  # the server has accepted every connection before the first request arrives
    for (_, writer), body in zip(connections, bodies):
        head = f"POST {INFER} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        writer.write(f"{head}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    answers = [await asyncio.wait_for(reader.read(), timeout=10) for reader, _ in connections]
    for _, writer in connections:
        writer.close()
    return answers


def test_a_batch_goes_as_soon_as_every_open_connection_has_a_request_queued(start_server, affine_path):
    """A 60 s queue delay is never paid when no other request can arrive: four connections, one batch of four."""
    server = start_server(str(affine_path), "--max-batch-size", "64", "--max-queue-delay-ms", "60000").wait_ready()
    before = httpx.get(server.url + "/metrics").text
    rows = [np.full((1, 4), i, np.float32) for i in range(4)]
    answers = asyncio.run(_post_on_open_connections(
        server.url, [json.dumps({"inputs": [features(x)]}).encode() for x in rows]))
    for x, answer in zip(rows, answers):
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), answer
        np.testing.assert_allclose(outputs(json.loads(body))["scores"], expected(x)[0], rtol=1e-6)
    after = httpx.get(server.url + "/metrics").text
    assert metric(after, "serving_batch_size_count") - metric(before, "serving_batch_size_count") == 1
    assert metric(after, "serving_batch_size_sum") - metric(before, "serving_batch_size_sum") == 4


def test_request_the_model_rejects_does_not_spoil_its_batch(affine_server):
    good = [np.full((2, 4), i, np.float32) for i in range(1, 21)]
    bad = np.array([[1, 2, -3, 4]], np.float32)  # same shape, so it joins the batch; the model raises on it
    bodies = [{"inputs": [features(x)]} for x in good]
    bodies.insert(7, {"inputs": [features(bad)]})
    responses = asyncio.run(_post_all(affine_server.url, bodies))
    rejected = responses.pop(7)
    assert rejected.status_code == 400 and "negative inputs are not allowed" in rejected.json()["error"]
    for x, response in zip(good, responses):
        assert response.status_code == 200, response.text
        np.testing.assert_allclose(outputs(response.json())["scores"], expected(x)[0], rtol=1e-5)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b'{"inputs": [', "malformed JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"inputs": []}', "non-empty"),
        (b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]}', "unknown input"),
        (b'{"inputs": [{"name": "features", "datatype": "STRING", "shape": [1, 4], "data": [1, 2, 3, 4]}]}',
         "unsupported datatype"),
        (b'{"inputs": [{"name": "features", "datatype": "INT64", "shape": [1, 4], "data": [1, 2, 3, 4]}]}',
         "expects FP32"),
        (b'{"inputs": [{"name": "features", "datatype": "FP32", "shape": [2, 4], "data": [1, 2, 3, 4]}]}',
         "needs 8 elements"),
        (b'{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 5], "data": [1, 2, 3, 4, 5]}]}',
         "does not match"),
        (b'{"inputs": [{"name": "features", "datatype": "FP32", "shape": [2, 4], "data": [[1, 2, 3, 4], [5]]}]}',
         "not a regular array"),
        (b'{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 4], "data": ["a", "b", "c", "d"]}]}',
         "not valid for datatype FP32"),
        (b'{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 4], "data": 3}]}', "JSON array"),
        (b'{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 1e300]}]}',
         "input 'features': 'data' has values outside the range of FP32"),
        (b'{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 4], "data": [-1e39, 2, 3, 4]}]}',
         "input 'features': 'data' has values outside the range of FP32"),
        (b'{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, -4]}]}',
         "negative inputs"),
    ],
)
def test_bad_requests_are_400_with_an_error(affine_server, body, needle):
    response = httpx.post(affine_server.url + INFER, content=body)
    assert response.status_code == 400
    assert needle in response.json()["error"]


def test_body_over_the_limit_is_400(affine_server):
    data = [1.0] * 20000  # ~80 KB of JSON against a 64 KiB limit
    response = httpx.post(affine_server.url + INFER,
                          json={"inputs": [{"name": "features", "datatype": "FP32", "shape": [5000, 4], "data": data}]})
    assert response.status_code == 400
    assert "MAX_BODY_BYTES" in response.json()["error"]
    assert httpx.get(affine_server.url + "/v2/health/ready").status_code == 200


def test_unknown_model_and_version_are_404(affine_server):
    body = {"inputs": [features(np.ones((1, 4), np.float32))]}
    for path in ("/v2/models/other/infer", "/v2/models/m/versions/8/infer"):
        response = httpx.post(affine_server.url + path, json=body)
        assert response.status_code == 404 and "error" in response.json()
    assert httpx.get(affine_server.url + "/v2/models/other").status_code == 404
    assert httpx.get(affine_server.url + "/v2/models/other/ready").status_code == 404
    assert httpx.get(affine_server.url + "/nowhere").json() == {"error": "Not Found"}


@pytest.mark.parametrize(("datatype", "value"), [("FP16", 70000.0), ("BF16", 3.4e38), ("FP32", -1e300), ("FP64", 1e300)])
def test_float_values_are_checked_against_the_datatype_range(datatype, value):
    spec = [TensorSpec("x", None, None)]
    body = json.dumps({"inputs": [{"name": "x", "datatype": datatype, "shape": [2], "data": [1.0, value]}]})
    if datatype == "FP64":  # a JSON number is a float64: always in range
        assert parse_infer(body.encode(), spec).arrays[0][1] == value
        return
    with pytest.raises(ProtocolError, match=f"input 'x': 'data' has values outside the range of {datatype}"):
        parse_infer(body.encode(), spec)
