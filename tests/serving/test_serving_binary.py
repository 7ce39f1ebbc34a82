"""The binary tensor data extension, driven by Triton's own HTTP client (tritonclient, from PyPI): binary inputs
and outputs, plain JSON, and both mixed agree with the model's forward."""

from __future__ import annotations

import httpx
import ml_dtypes
import numpy as np
import pytest
import torch
import tritonclient.http as triton

import tiny_models as models

INFER = "/v2/models/m/infer"


def _client(server) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(server.url.removeprefix("http://"))


def _affine(rows: np.ndarray) -> dict[str, np.ndarray]:
    with torch.no_grad():
        scores, total = models.Affine()(torch.from_numpy(rows))
    return {"scores": scores.numpy(), "total": total.numpy()}


def _infer(client, name: str, array: np.ndarray, datatype: str, binary_in: bool, binary_out: bool | None,
           outputs: tuple[str, ...]):
    tensor = triton.InferInput(name, list(array.shape), datatype)
    tensor.set_data_from_numpy(array, binary_data=binary_in)
    requested = None if binary_out is None else [triton.InferRequestedOutput(o, binary_data=binary_out) for o in outputs]
    return client.infer("m", [tensor], outputs=requested)


def test_server_metadata_lists_the_extension(affine_server):
    client = _client(affine_server)
    assert client.is_server_live() and client.is_model_ready("m")
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]


@pytest.mark.parametrize(("binary_in", "binary_out"), [(True, True), (False, False), (True, False), (False, True),
                                                       (True, None)])
def test_binary_and_json_agree_with_the_forward(affine_server, binary_in, binary_out):
    """binary_out None: no outputs requested, so tritonclient asks for every output as binary data."""
    rows = (np.arange(20, dtype=np.float32).reshape(5, 4) / 3)
    result = _infer(_client(affine_server), "features", rows, "FP32", binary_in, binary_out, ("scores", "total"))
    for name, want in _affine(rows).items():
        np.testing.assert_allclose(result.as_numpy(name), want, rtol=1e-6)
        binary = binary_out is not False
        assert ("binary_data_size" in result.get_output(name).get("parameters", {})) is binary
        assert ("data" in result.get_output(name)) is not binary


@pytest.mark.parametrize(("datatype", "array"), [
    ("FP16", np.array([[0.5, -3.0]], np.float16)),
    ("FP64", np.array([[0.1, 3.0]], np.float64)),
    ("INT8", np.array([[-12, 11]], np.int8)),
    ("UINT8", np.array([[3, 15]], np.uint8)),
    ("INT32", np.array([[-3, 4]], np.int32)),
    ("INT64", np.array([[2**31, 5]], np.int64)),
    ("BOOL", np.array([[True, False]])),
    ("BF16", np.array([[1.5, -2.0]], ml_dtypes.bfloat16)),
])
def test_every_datatype_round_trips_as_binary(square_server, datatype, array):
    result = _infer(_client(square_server), "input__0", array, datatype, True, True, ("output__0",))
    squared = (array.astype(np.float32) ** 2).astype(array.dtype) if datatype == "BF16" else array * array
    assert result.get_output("output__0")["datatype"] == datatype
    np.testing.assert_array_equal(result.as_numpy("output__0"), squared)


def _binary_request(size: int, data: bytes, header: str | None = "auto") -> httpx.Request:
    head = ('{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 4], '
            f'"parameters": {{"binary_data_size": {size}}}}}]}}').encode()
    headers = {} if header is None else {"Inference-Header-Content-Length": str(len(head)) if header == "auto" else header}
    return head + data, headers


@pytest.mark.parametrize(("size", "data", "header", "needle"), [
    (16, b"\0" * 12, "auto", "'binary_data_size' is 16 bytes, the body has 12 left"),
    (12, b"\0" * 12, "auto", "needs 16 bytes, 'binary_data_size' is 12"),
    (16, b"\0" * 20, "auto", "4 bytes of binary data follow the last binary input"),
    (16, b"", None, "needs the Inference-Header-Content-Length header"),
    (16, b"\0" * 16, "99999", "Inference-Header-Content-Length is 99999"),
    (16, b"\0" * 16, "-1", "must be a non-negative integer"),
])
def test_malformed_binary_requests_are_400_naming_the_problem(affine_server, size, data, header, needle):
    body, headers = _binary_request(size, data, header)
    response = httpx.post(affine_server.url + INFER, content=body, headers=headers)
    assert response.status_code == 400 and needle in response.json()["error"], response.text


def test_a_binary_bool_byte_other_than_0_or_1_is_true(square_server):
    head = b'{"inputs": [{"name": "input__0", "datatype": "BOOL", "shape": [1, 3], "parameters": {"binary_data_size": 3}}]}'
    response = httpx.post(square_server.url + INFER, content=head + bytes([2, 0, 255]),
                          headers={"Inference-Header-Content-Length": str(len(head))})
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["data"] == [True, False, True]
