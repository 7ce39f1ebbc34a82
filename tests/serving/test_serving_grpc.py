"""The gRPC endpoint with the project's own generated stubs: typed and raw inputs, every malformed request
INVALID_ARGUMENT naming what is wrong, NOT_FOUND, RESOURCE_EXHAUSTED, UNAVAILABLE while loading and draining, the
size limit, metrics by protocol, and --grpc-port off."""

from __future__ import annotations

import asyncio
import signal
import time

import grpc
import httpx
import numpy as np
import pytest
from grpc import aio

from server_support import metric
from serving import config
from serving.oip import open_inference_grpc_pb2 as pb
from serving.oip import open_inference_grpc_pb2_grpc as pb_grpc
from test_lifecycle import spin_path, steps_for  # noqa: F401  (spin_path is a fixture)
from test_models import held_artifact

Input = pb.ModelInferRequest.InferInputTensor
Contents = pb.InferTensorContents
FEATURES = np.arange(8, dtype=np.float32).reshape(2, 4) / 3


def stub(server) -> pb_grpc.GRPCInferenceServiceStub:
    return pb_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(server.grpc))


def features(**overrides) -> pb.ModelInferRequest:
    fields = {"model_name": "m", "inputs": [Input(name="features", datatype="FP32", shape=[2, 4])],
              "raw_input_contents": [FEATURES.tobytes()], **overrides}
    return pb.ModelInferRequest(**fields)


def refused(call, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as error:
        call(request, timeout=30)
    return error.value


def test_raw_and_typed_inputs_agree_with_http(affine_server):
    client = stub(affine_server)
    raw = client.ModelInfer(features(id="r1"))
    typed = client.ModelInfer(pb.ModelInferRequest(model_name="m", model_version="7", inputs=[
        Input(name="features", datatype="FP32", shape=[2, 4], contents=Contents(fp32_contents=FEATURES.ravel()))]))
    http = httpx.post(affine_server.url + "/v2/models/m/infer", json={"inputs": [
        {"name": "features", "datatype": "FP32", "shape": [2, 4], "data": FEATURES.ravel().tolist()}]}).json()
    assert (raw.model_name, raw.model_version, raw.id, typed.id) == ("m", "7", "r1", "")
    for response in (raw, typed):
        assert not any(output.HasField("contents") for output in response.outputs)  # raw_output_contents only
        for output, blob, want in zip(response.outputs, response.raw_output_contents, http["outputs"]):
            assert (output.name, output.datatype, list(output.shape)) == (want["name"], want["datatype"], want["shape"])
            np.testing.assert_allclose(np.frombuffer(blob, "<f4"), want["data"], rtol=1e-6)


def test_health_and_metadata(affine_server):
    client = stub(affine_server)
    assert client.ServerLive(pb.ServerLiveRequest()).live and client.ServerReady(pb.ServerReadyRequest()).ready
    assert client.ModelReady(pb.ModelReadyRequest(name="m", version="7")).ready
    assert client.ServerMetadata(pb.ServerMetadataRequest()).name == "lepton-serving"
    metadata = client.ModelMetadata(pb.ModelMetadataRequest(name="m"))
    assert [(t.name, t.datatype, list(t.shape)) for t in metadata.inputs] == [("features", "FP32", [-1, 4])]
    assert [t.name for t in metadata.outputs] == ["scores", "total"] and list(metadata.versions) == ["7"]
    for call, request in ((client.ModelMetadata, pb.ModelMetadataRequest(name="x")),
                          (client.ModelReady, pb.ModelReadyRequest(name="m", version="8"))):
        error = refused(call, request)
        assert error.code() == grpc.StatusCode.NOT_FOUND and ("'x'" in error.details() or "'8'" in error.details())


BAD = [  # (server, request, the message's needle)
    ("affine", features(inputs=[]), "'inputs' must be a non-empty list"),
    ("affine", features(raw_input_contents=[b"", b""]), "raw_input_contents has 2 entries for 1 inputs"),
    ("affine", features(raw_input_contents=[b"\0" * 12]),
     "input 'features': shape [2, 4] of FP32 needs 32 bytes, raw_input_contents[0] is 12"),
    ("affine", features(inputs=[Input(name="features", datatype="FP32", shape=[2, 4], contents=Contents(fp32_contents=[1]))]),
     "input 'features': both 'contents' and raw_input_contents given"),
    ("affine", features(inputs=[Input(name="nope", datatype="FP32", shape=[2, 4])]),
     "unknown input 'nope'; the model takes ['features']"),
    ("affine", features(inputs=[Input(name="features", datatype="", shape=[2, 4])]), "unsupported datatype ''"),
    ("affine", features(inputs=[Input(name="features", datatype="FP64", shape=[2, 4])]),
     "datatype FP64 given, the model expects FP32"),
    ("affine", features(inputs=[Input(name="features", datatype="FP32", shape=[2, 5])]),
     "shape [2, 5] does not match the model's [-1, 4]"),
    ("affine", features(inputs=[Input(name="features", datatype="FP32", shape=[])]), "'shape' must be a non-empty list"),
    ("affine", features(inputs=[Input(name="features", datatype="FP32", shape=[2, 4])] * 2,
                        raw_input_contents=[FEATURES.tobytes()] * 2), "input 'features' given twice"),
    ("affine", features(outputs=[pb.ModelInferRequest.InferRequestedOutputTensor(name="nope")]),
     "unknown outputs requested ['nope']"),
    ("affine", features(raw_input_contents=[(-FEATURES).tobytes()]), "the model rejected the input"),
    ("affine", features(raw_input_contents=[], inputs=[Input(name="features", datatype="FP32", shape=[1, 4],
                                                             contents=Contents(fp32_contents=[1, 2, 3]))]),
     "shape [1, 4] needs 4 elements, contents.fp32_contents has 3"),
    ("affine", features(raw_input_contents=[], inputs=[Input(name="features", datatype="FP32", shape=[1, 4],
                                                             contents=Contents(int64_contents=[1, 2, 3, 4]))]),
     "datatype FP32 takes its values in contents.fp32_contents, got ['int64_contents']"),
    ("square", pb.ModelInferRequest(model_name="m", inputs=[Input(name="input__0", datatype="FP16", shape=[1, 1])]),
     "datatype FP16 has no typed contents; send it in raw_input_contents"),
    ("square", pb.ModelInferRequest(model_name="m", inputs=[
        Input(name="input__0", datatype="INT8", shape=[1, 2], contents=Contents(int_contents=[300, 1]))]),
     "contents.int_contents has values outside the range of INT8"),
]  # fmt: skip


@pytest.mark.parametrize(("which", "request_", "needle"), BAD, ids=[needle[:40] for _, _, needle in BAD])
def test_malformed_requests_are_invalid_argument_naming_the_problem(affine_server, square_server, which, request_, needle):
    server = affine_server if which == "affine" else square_server
    error = refused(stub(server).ModelInfer, request_)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and needle in error.details(), error.details()


def test_unknown_models_are_not_found_and_counted_by_protocol(affine_server):
    before = httpx.get(affine_server.url + "/metrics").text
    for request in (features(model_name="other"), features(model_version="8")):
        error = refused(stub(affine_server).ModelInfer, request)
        assert error.code() == grpc.StatusCode.NOT_FOUND, error.details()
    refused(stub(affine_server).ModelInfer, features(inputs=[]))
    stub(affine_server).ModelInfer(features())
    after = httpx.get(affine_server.url + "/metrics").text

    def grown(labels: str) -> float:
        return metric(after, "serving_requests_total", labels) - metric(before, "serving_requests_total", labels)

    assert grown('model="",outcome="not_found",protocol="grpc"') == 2
    assert grown('model="m",outcome="bad_request",protocol="grpc"') == 1
    assert grown('model="m",outcome="ok",protocol="grpc"') == 1
    assert grown('model="m",outcome="ok",protocol="http"') == 0


def test_messages_over_the_body_limit_are_refused_and_the_server_carries_on(affine_server):
    """affine_server's --max-body-bytes is 65536: gRPC's own limit refuses larger messages before any parsing."""
    rows = 65536 // 16 + 1
    big = features(inputs=[Input(name="features", datatype="FP32", shape=[rows, 4])],
                   raw_input_contents=[np.zeros((rows, 4), np.float32).tobytes()])
    error = refused(stub(affine_server).ModelInfer, big)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "65536" in error.details(), error.details()
    assert len(stub(affine_server).ModelInfer(features()).raw_output_contents) == 2


def spin_request(steps: int) -> pb.ModelInferRequest:
    row = np.zeros((1, 128), np.float32)
    row[0, 0] = steps
    return pb.ModelInferRequest(model_name="m", inputs=[Input(name="input__0", datatype="FP32", shape=[1, 128])],
                                raw_input_contents=[row.tobytes()])


async def _calls(server, steps: int, count: int, then=None):
    """`count` concurrent ModelInfer calls; `then` (a coroutine function) runs while they are in flight.
    Returns (each call's status code, its details, when it ended), then's result."""
    async with aio.insecure_channel(server.grpc) as channel:
        client = pb_grpc.GRPCInferenceServiceStub(channel)

        async def call():
            try:
                await client.ModelInfer(spin_request(steps), timeout=60)
                return grpc.StatusCode.OK, "", time.monotonic()
            except aio.AioRpcError as exc:
                return exc.code(), exc.details(), time.monotonic()

        tasks = [asyncio.create_task(call()) for _ in range(count)]
        extra = await then(client) if then else None
        return await asyncio.gather(*tasks), extra


def test_full_queue_is_resource_exhausted(start_server, spin_path):
    server = start_server(str(spin_path), "--max-batch-size", "1", "--max-queue-depth", "2").wait_ready()
    outcomes, _ = asyncio.run(_calls(server, steps_for(server, 0.3), 10))
    codes = [code for code, _, _ in outcomes]
    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED} and codes.count(grpc.StatusCode.OK) >= 3
    full = [details for code, details, _ in outcomes if code == grpc.StatusCode.RESOURCE_EXHAUSTED]
    assert full and all("queue is full" in details for details in full)
    text = httpx.get(server.url + "/metrics").text
    assert metric(text, "serving_requests_total", 'model="m",outcome="queue_full",protocol="grpc"') == len(full)


def test_sigterm_answers_calls_in_flight_and_refuses_new_ones(start_server, spin_path):
    # One row per forward: TorchScript's profiling executor runs Spin far slower for a batch shape it has not seen.
    server = start_server(str(spin_path), "--max-batch-size", "1", "--shutdown-grace-s", "20").wait_ready()
    steps = steps_for(server, 0.5)  # calibrated on a busy machine: a call may well take a third of that later

    async def sigterm_then_call(client):
        await asyncio.sleep(0.3)  # every call is in (queued or running): 6 calls of ~0.5 s, one at a time
        server.proc.send_signal(signal.SIGTERM)
        late = [time.monotonic()]
        await asyncio.sleep(0.1)
        late.append(await client.ServerReady(pb.ServerReadyRequest()))
        try:
            await client.ModelInfer(spin_request(1), timeout=10)
        except aio.AioRpcError as exc:
            late.append((exc.code(), exc.details()))
        return late

    outcomes, (sigterm_at, *late) = asyncio.run(_calls(server, steps, 6, sigterm_then_call))
    assert server.proc.wait(20) == 0, server.log()
    assert [code for code, _, _ in outcomes] == [grpc.StatusCode.OK] * 6
    assert sum(ended > sigterm_at + 0.1 for _, _, ended in outcomes) >= 2, "too few calls in flight at SIGTERM"
    assert late[0].ready is False
    assert late[1] == (grpc.StatusCode.UNAVAILABLE, "shutting down")


def test_calls_unanswered_at_grace_expiry_are_unavailable_within_the_grace(start_server, spin_path):
    grace = 2.0
    server = start_server(str(spin_path), "--max-batch-size", "1", "--shutdown-grace-s", str(grace)).wait_ready()
    steps = steps_for(server, 1.0)

    async def sigterm(client):
        await asyncio.sleep(1.0)
        server.proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = await asyncio.to_thread(server.proc.wait, 30)
        return code, time.monotonic() - started

    outcomes, (code, exited_after) = asyncio.run(_calls(server, steps, 8, sigterm))
    assert code == 1, server.log()
    codes = [code for code, _, _ in outcomes]
    assert grpc.StatusCode.OK in codes and grpc.StatusCode.UNAVAILABLE in codes, codes
    assert set(codes) == {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE}
    assert all("grace period" in details for code, details, _ in outcomes if code == grpc.StatusCode.UNAVAILABLE)
    assert exited_after < grace + 1.5, exited_after


def test_unavailable_while_loading(start_server, affine_path):
    with held_artifact(affine_path) as (uri, release):
        server = start_server(uri).wait_live()
        client = stub(server)
        assert client.ServerLive(pb.ServerLiveRequest()).live
        assert not client.ServerReady(pb.ServerReadyRequest()).ready
        assert not client.ModelReady(pb.ModelReadyRequest(name="m")).ready
        for call, request in ((client.ModelInfer, features(inputs=[Input(name="input__0", datatype="FP32", shape=[2, 4])])),
                              (client.ModelMetadata, pb.ModelMetadataRequest(name="m"))):
            error = refused(call, request)
            assert error.code() == grpc.StatusCode.UNAVAILABLE and "loading" in error.details()
        release.set()
        server.wait_ready()
        assert client.ModelReady(pb.ModelReadyRequest(name="m")).ready


def test_grpc_port_off_listens_on_no_grpc_port(start_server, affine_path):
    server = start_server(str(affine_path), "--grpc-port", "off").wait_ready()
    assert server.grpc.endswith(":0")  # launch() gave it none
    assert "gRPC" not in server.log()
    assert config.parse(["--model-uri", "m.pt", "--model-name", "m"], {"GRPC_PORT": "0"}).grpc_port == 0
    assert config.parse(["--model-uri", "m.pt", "--model-name", "m"], {}).grpc_port == 8081


def test_a_bad_grpc_port_exits_2_naming_the_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        config.parse(["--model-uri", "m.pt", "--model-name", "m", "--grpc-port", "70000"], {})
    assert exit_info.value.code == 2
    assert "--grpc-port / GRPC_PORT: invalid value '70000'" in capsys.readouterr().err


def test_a_taken_grpc_port_exits_1_saying_so(start_server, affine_path, affine_server):
    port = affine_server.grpc.rsplit(":", 1)[1]
    server = start_server(str(affine_path), "--grpc-port", port)
    assert server.proc.wait(60) == 1
    assert "cannot listen for gRPC" in server.log()


def test_large_typed_contents_are_parsed_off_the_event_loop_as_large_raw_ones_are():
    """Typed values become Python numbers before numpy sees them: counted at 8 bytes each against the inline limit."""
    from serving.app import _INLINE_BYTES
    from serving.grpc_service import _input_bytes

    values = [0.5] * (_INLINE_BYTES // 8 + 1)
    typed = features(raw_input_contents=[], inputs=[Input(name="features", datatype="FP32", shape=[len(values) // 4, 4],
                                                          contents=Contents(fp32_contents=values))])
    assert _input_bytes(typed) > _INLINE_BYTES
    assert _input_bytes(features()) == FEATURES.nbytes <= _INLINE_BYTES
