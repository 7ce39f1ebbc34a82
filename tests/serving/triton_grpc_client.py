"""Triton's own gRPC client (tritonclient.grpc) against a serving process, run by tests/serving/test_serving_grpc_triton.py
in the interpreter .ci/tools sets up (TRITON_GRPC_PYTHON): tritonclient[grpc] needs protobuf >= 6.30, the
project's lock has 5.29 (pulumi-policy caps it), so the client cannot live in the project's environment.

stdin: {"target": "host:port", "calls": [call, ...]}; stdout: one result per call, as JSON.
A call is {"op": "live" | "ready" | "model_ready" | "metadata"} or {"op": "infer", "model": ..., "inputs":
[{"name", "datatype", "shape", "data" (flat list)}], "outputs": [names] | null}. Every input goes as raw binary
data (raw_input_contents), as tritonclient sends it. An error result is {"error": {"code", "message"}}.
"""

from __future__ import annotations

import json
import sys

import ml_dtypes
import numpy as np
import tritonclient.grpc as triton
from tritonclient.utils import InferenceServerException

NUMPY = {"BF16": ml_dtypes.bfloat16, "BOOL": np.bool_}


def _array(item: dict) -> np.ndarray:
    dtype = NUMPY.get(item["datatype"]) or triton.triton_to_np_dtype(item["datatype"])
    return np.array(item["data"], dtype=np.float32 if item["datatype"] == "BF16" else dtype).astype(dtype).reshape(item["shape"])


def _infer(client: triton.InferenceServerClient, call: dict) -> dict:
    inputs = []
    for item in call["inputs"]:
        tensor = triton.InferInput(item["name"], item["shape"], item["datatype"])
        tensor.set_data_from_numpy(_array(item))
        inputs.append(tensor)
    outputs = None if call.get("outputs") is None else [triton.InferRequestedOutput(name) for name in call["outputs"]]
    result = client.infer(call["model"], inputs, outputs=outputs, request_id=call.get("id", ""),
                          model_version=call.get("version", ""))
    response = result.get_response()
    return {
        "id": response.id,
        "model_name": response.model_name,
        "model_version": response.model_version,
        "outputs": [
            {"name": output.name, "datatype": output.datatype, "shape": list(output.shape),
             "data": result.as_numpy(output.name).astype(np.float64 if output.datatype == "BF16" else None).reshape(-1).tolist()}
            for output in response.outputs
        ],
    }  # fmt: skip


def _call(client: triton.InferenceServerClient, call: dict):
    op = call["op"]
    if op == "live":
        return client.is_server_live()
    if op == "ready":
        return client.is_server_ready()
    if op == "model_ready":
        return client.is_model_ready(call.get("model", "m"))
    if op == "metadata":
        return client.get_model_metadata(call.get("model", "m"), as_json=True)
    return _infer(client, call)


def main() -> None:
    spec = json.load(sys.stdin)
    client = triton.InferenceServerClient(spec["target"])
    results = []
    for call in spec["calls"]:
        try:
            results.append({"result": _call(client, call)})
        except InferenceServerException as exc:
            results.append({"error": {"code": exc.status(), "message": exc.message()}})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
