"""Model variants: datatypes without metadata, a model rejecting a trailing dim, torch.export, s3:// via moto."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np
import pytest
import torch

import tiny_models as models
from lepton_infra.components.existing.cell import credentials_file
from server_support import free_port


@pytest.mark.parametrize(
    ("datatype", "data", "squared"),
    [
        ("FP32", [[1.5, -2.0]], [2.25, 4.0]),
        ("FP64", [[0.1, 3.0]], [0.1 * 0.1, 9.0]),
        ("FP16", [[0.5, 3.0]], [0.25, 9.0]),
        ("INT32", [[-3, 4]], [9, 16]),
        ("INT64", [[2**31, 5]], [2**62, 25]),
        ("INT8", [[-12, 12]], [144 - 256, 144 - 256]),  # int8 wraps, exactly as torch does
        ("UINT8", [[3, 15]], [9, 225]),
        ("BOOL", [[True, False]], [True, False]),
    ],
)
def test_datatypes_without_metadata(square_server, datatype, data, squared):
    body = {"inputs": [{"name": "input__0", "datatype": datatype, "shape": [1, 2], "data": data}]}
    response = httpx.post(square_server.url + "/v2/models/m/infer", json=body)
    assert response.status_code == 200, response.text
    (output,) = response.json()["outputs"]
    assert output["name"] == "output__0" and output["datatype"] == datatype and output["shape"] == [1, 2]
    assert output["data"] == pytest.approx(squared)


def test_default_names_and_metadata_without_metadata_file(square_server):
    doc = httpx.get(square_server.url + "/v2/models/m").json()
    assert doc["inputs"] == [{"name": "input__0", "datatype": "", "shape": [-1]}]
    assert "outputs" not in doc and doc["versions"] == []
    response = httpx.post(square_server.url + "/v2/models/m/infer",
                          json={"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}]})
    assert response.status_code == 400 and "input__0" in response.json()["error"]
    lossy = {"inputs": [{"name": "input__0", "datatype": "INT32", "shape": [1], "data": [1.5]}]}
    assert httpx.post(square_server.url + "/v2/models/m/infer", json=lossy).status_code == 400
    overflow = {"inputs": [{"name": "input__0", "datatype": "INT8", "shape": [1], "data": [300]}]}
    assert "range" in httpx.post(square_server.url + "/v2/models/m/infer", json=overflow).json()["error"]


def test_wrong_trailing_dim_rejected_by_the_model_alongside_good_requests(start_server, tmp_path):
    server = start_server(str(models.save_script(models.Affine(), tmp_path / "affine.pt")),
                          "--max-queue-delay-ms", "20").wait_ready()

    def body(width: int, value: float) -> dict:
        return {"inputs": [{"name": "input__0", "datatype": "FP32", "shape": [1, width], "data": [value] * width}]}

    async def run():
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            return await asyncio.gather(*(client.post("/v2/models/m/infer", json=body(5 if i % 4 == 0 else 4, i))
                                          for i in range(24)))

    for i, response in enumerate(asyncio.run(run())):
        if i % 4 == 0:
            assert response.status_code == 400 and "the model rejected the input" in response.json()["error"]
        else:
            assert response.status_code == 200, response.text
            assert response.json()["outputs"][1]["data"] == [4.0 * i]


def test_torch_export_artifact(start_server, tmp_path):
    path = models.save_export(models.Linear(), tmp_path / "linear.pt2", torch.ones(2, 4),
                              {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}]})
    server = start_server(str(path)).wait_ready()
    assert httpx.get(server.url + "/v2/models/m").json()["platform"] == "pytorch_torch_export"
    rows = np.arange(8, dtype=np.float32).reshape(2, 4)
    response = httpx.post(server.url + "/v2/models/m/infer",
                          json={"inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 4], "data": rows.tolist()}]})
    assert response.status_code == 200, response.text
    with torch.no_grad():
        want = models.Linear()(torch.from_numpy(rows)).numpy()
    np.testing.assert_allclose(np.asarray(response.json()["outputs"][0]["data"]).reshape(2, 3), want, rtol=1e-5)


@pytest.mark.parametrize("keys_in", ["environment", "credentials file"])
def test_s3_uri_through_moto(start_server, affine_path, tmp_path, keys_in):
    """The keys as environment variables, or as the shared credentials file an existing cluster's model pod gets
    (components/existing/cell.py: mounted from its Secret, AWS_SHARED_CREDENTIALS_FILE pointing at it)."""
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    moto.start()
    try:
        aws = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_DEFAULT_REGION": "us-east-1"}
        if keys_in == "environment":
            aws |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        else:
            (tmp_path / "aws-credentials").write_text(credentials_file("testing", "testing"))
            aws["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "aws-credentials")
        s3 = boto3.client("s3", endpoint_url=aws["AWS_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        s3.create_bucket(Bucket="models")
        s3.upload_file(str(affine_path), "models", "affine/v7/affine.pt")
        s3.upload_file(str(affine_path) + ".json", "models", "affine/v7/affine.pt.json")
        server = start_server("s3://models/affine/v7/affine.pt", env=aws).wait_ready()
        assert httpx.get(server.url + "/v2/models/m").json()["versions"] == ["7"]
        response = httpx.post(server.url + "/v2/models/m/infer", json={
            "inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 4], "data": [1, 1, 1, 1]}]})
        assert response.status_code == 200 and response.json()["outputs"][1]["data"] == [4.0]
    finally:
        moto.stop()


class _HeldArtifact(BaseHTTPRequestHandler):
    """Serves one artifact over HTTP, but only once the test releases it: a model that is slow to fetch."""

    blob: bytes = b""
    release = threading.Event()

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path != "/model.pt":
            self.send_error(404)
            return
        self.release.wait(30)
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.blob)))
        self.end_headers()
        self.wfile.write(self.blob)

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def held_artifact(path):
    """(the artifact's http:// URI, the Event that releases it): a server loading it stays not ready until then."""
    handler = type("Held", (_HeldArtifact,), {"blob": path.read_bytes(), "release": threading.Event()})
    http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{http.server_address[1]}/model.pt", handler.release
    finally:
        handler.release.set()
        http.shutdown()


def test_not_ready_while_loading(start_server, affine_path):
    with held_artifact(affine_path) as (uri, release):
        server = start_server(uri).wait_live()
        assert httpx.get(server.url + "/v2/health/live").status_code == 200
        for path in ("/v2/health/ready", "/v2/models/m/ready"):
            response = httpx.get(server.url + path)
            assert response.status_code == 503 and response.headers["Retry-After"] and response.json()["error"]
        infer = httpx.post(server.url + "/v2/models/m/infer",
                           json={"inputs": [{"name": "input__0", "datatype": "FP32", "shape": [1, 4], "data": [1] * 4}]})
        assert infer.status_code == 503 and "loading" in infer.json()["error"]
        release.set()
        server.wait_ready()
        infer = httpx.post(server.url + "/v2/models/m/infer",
                           json={"inputs": [{"name": "input__0", "datatype": "FP32", "shape": [1, 4], "data": [1] * 4}]})
        assert infer.status_code == 200


def test_unloadable_model_exits_1_with_a_message(start_server, tmp_path):
    server = start_server(str(tmp_path / "missing.pt"))
    assert server.proc.wait(60) == 1
    assert "no such model artifact" in server.log()
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    server = start_server(str(tmp_path / "junk.pt"))
    assert server.proc.wait(60) == 1
    assert "not a loadable TorchScript" in server.log()
