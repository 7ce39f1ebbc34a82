"""The gRPC endpoint driven by Triton's own gRPC client (tritonclient.grpc, raw binary inputs), agreeing with the HTTP
JSON endpoint for the same input on both tiny models. The client runs in the venv .ci/tools sets up
(tests/serving/triton_grpc_client.py says why it cannot run in this process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

CLIENT = Path(__file__).with_name("triton_grpc_client.py")
PYTHON = Path(sys.prefix) / "tools" / "tritonclient-grpc" / "bin" / "python"  # .ci/tools makes it, inside this venv


def triton_grpc(server, *calls: dict) -> list[dict]:
    if not PYTHON.exists():
        pytest.fail(f"{PYTHON} is missing: run .ci/tools with this venv active (`. {sys.prefix}/bin/activate && .ci/tools`)")
    spec = json.dumps({"target": server.grpc, "calls": list(calls)})
    done = subprocess.run([str(PYTHON), str(CLIENT)], input=spec, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def http_json(server, inputs: list[dict], outputs: list[str] | None = None) -> dict:
    body = {"inputs": inputs, **({"outputs": [{"name": name} for name in outputs]} if outputs else {})}
    response = httpx.post(server.url + "/v2/models/m/infer", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_health_and_metadata_over_grpc(affine_server):
    live, ready, model_ready, metadata = triton_grpc(
        affine_server, {"op": "live"}, {"op": "ready"}, {"op": "model_ready"}, {"op": "metadata"}
    )
    assert live["result"] is True and ready["result"] is True and model_ready["result"] is True
    http = httpx.get(affine_server.url + "/v2/models/m").json()
    got = metadata["result"]
    assert (got["name"], got["versions"], got["platform"]) == (http["name"], http["versions"], http["platform"])
    for kind in ("inputs", "outputs"):  # protobuf's JSON carries int64 shapes as strings
        assert [(t["name"], t["datatype"], [int(d) for d in t["shape"]]) for t in got[kind]] == [
            (t["name"], t["datatype"], t["shape"]) for t in http[kind]
        ]


@pytest.mark.parametrize("outputs", [None, ["total"]])
def test_affine_grpc_raw_inputs_agree_with_http_json(affine_server, outputs):
    inputs = [{"name": "features", "datatype": "FP32", "shape": [3, 4], "data": [i / 7 for i in range(12)]}]
    (grpc_result,) = triton_grpc(affine_server, {"op": "infer", "model": "m", "inputs": inputs, "outputs": outputs,
                                                 "id": "req-1"})
    got, want = grpc_result["result"], http_json(affine_server, inputs, outputs)
    assert (got["model_name"], got["model_version"], got["id"]) == ("m", "7", "req-1")
    assert [o["name"] for o in got["outputs"]] == [o["name"] for o in want["outputs"]] == (outputs or ["scores", "total"])
    for mine, theirs in zip(got["outputs"], want["outputs"]):
        assert (mine["datatype"], mine["shape"]) == (theirs["datatype"], theirs["shape"])
        assert mine["data"] == pytest.approx(theirs["data"], rel=1e-6)


@pytest.mark.parametrize(("datatype", "data"), [
    ("FP32", [0.5, -3.25]), ("FP16", [0.5, -3.0]), ("FP64", [0.1, 3.0]), ("BF16", [1.5, -2.0]), ("INT8", [-12, 11]),
    ("UINT8", [3, 15]), ("INT16", [-300, 7]), ("INT32", [-3, 4]), ("INT64", [2**31, 5]), ("BOOL", [True, False]),
])  # fmt: skip
def test_square_every_datatype_agrees_with_http_json(square_server, datatype, data):
    inputs = [{"name": "input__0", "datatype": datatype, "shape": [1, 2], "data": data}]
    (grpc_result,) = triton_grpc(square_server, {"op": "infer", "model": "m", "inputs": inputs})
    (got,), (want,) = grpc_result["result"]["outputs"], http_json(square_server, inputs)["outputs"]
    assert (got["name"], got["datatype"], got["shape"]) == (want["name"], want["datatype"], want["shape"]) == (
        "output__0", datatype, [1, 2])
    assert got["data"] == want["data"]


def test_bad_inputs_get_the_status_and_the_message_http_gives(affine_server):
    wrong_shape = [{"name": "features", "datatype": "FP32", "shape": [1, 5], "data": [1.0] * 5}]
    wrong_type = [{"name": "features", "datatype": "FP64", "shape": [1, 4], "data": [1.0] * 4}]
    negative = [{"name": "features", "datatype": "FP32", "shape": [1, 4], "data": [-1.0] * 4}]
    results = triton_grpc(
        affine_server,
        {"op": "infer", "model": "m", "inputs": wrong_shape},
        {"op": "infer", "model": "m", "inputs": wrong_type},
        {"op": "infer", "model": "m", "inputs": negative},
        {"op": "infer", "model": "other", "inputs": negative},
        {"op": "infer", "model": "m", "version": "8", "inputs": negative},
        {"op": "model_ready", "model": "other"},
    )
    for inputs, result in zip((wrong_shape, wrong_type, negative), results):
        http = httpx.post(affine_server.url + "/v2/models/m/infer", json={"inputs": inputs})
        assert http.status_code == 400
        assert result["error"] == {"code": "StatusCode.INVALID_ARGUMENT", "message": http.json()["error"]}
    assert results[3]["error"] == {"code": "StatusCode.NOT_FOUND",
                                   "message": "unknown model 'other'; this server serves 'm'"}
    assert results[4]["error"] == {"code": "StatusCode.NOT_FOUND", "message": "unknown version '8' of model 'm'"}
    assert results[5]["error"]["code"] == "StatusCode.NOT_FOUND"
