"""The Open Inference Protocol's gRPC endpoint (`inference.GRPCInferenceService`, serving/oip/) on --grpc-port.

grpc.aio on the same event loop as the HTTP server, sharing its state: the same model and batcher, the same
readiness and drain, the same validation (serving/protocol.py: a malformed request gets the message HTTP gives,
as INVALID_ARGUMENT). Inputs come as raw_input_contents (little-endian bytes, one entry per input, as Triton's
and KServe's clients send them) or typed `contents`; outputs always go back as raw_output_contents.

Status codes: INVALID_ARGUMENT for a malformed request or one the model rejects, NOT_FOUND for another model
name or version, UNAVAILABLE while loading, after SIGTERM and when the grace period runs out (all retryable),
RESOURCE_EXHAUSTED when the queue is full (and, from gRPC itself, for a message over --max-body-bytes).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import grpc
import numpy as np
from grpc import aio

from serving import __version__
from serving.app import ServerState
from serving.batcher import ABANDONED, ModelError, QueueFull
from serving.oip import open_inference_grpc_pb2 as pb
from serving.oip import open_inference_grpc_pb2_grpc as pb_grpc
from serving.protocol import (
    GivenInputs, InferRequest, ProtocolError, TensorSpec, binary_array, check_input, infer_request,
    selected_outputs, tensor_bytes, values_array,
)

log = logging.getLogger("serving.grpc")
# The typed field of InferTensorContents each datatype's values go in (the .proto's comments); FP16 and BF16
# have none: raw_input_contents only.
TYPED_CONTENTS = {
    "BOOL": "bool_contents",
    "UINT8": "uint_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
}
_CALLER_WINDOW_S = 1.0
_ABANDONED = "the server is shutting down and its grace period ran out before this request was answered; retry"


def _typed_array(contents: pb.InferTensorContents, datatype: str, shape: tuple[int, ...], where: str) -> np.ndarray:
    field = TYPED_CONTENTS.get(datatype)
    if field is None:
        raise ProtocolError(f"{where}: datatype {datatype} has no typed contents; send it in raw_input_contents")
    given = [descriptor.name for descriptor, _ in contents.ListFields()]
    if any(name != field for name in given):
        raise ProtocolError(f"{where}: datatype {datatype} takes its values in contents.{field}, got {given}")
    return values_array(list(getattr(contents, field)), datatype, shape, where, f"contents.{field}")


def parse_request(request: pb.ModelInferRequest, specs: Sequence[TensorSpec]) -> InferRequest:
    """A ModelInferRequest validated against the model's input specs, as serving.protocol.parse_infer does."""
    if not request.inputs:
        raise ProtocolError("'inputs' must be a non-empty list")
    raw = request.raw_input_contents
    if raw and len(raw) != len(request.inputs):
        raise ProtocolError(
            f"raw_input_contents has {len(raw)} entries for {len(request.inputs)} inputs: one per input, in order"
        )
    by_name = {spec.name: spec for spec in specs}
    given = GivenInputs()
    for index, tensor in enumerate(request.inputs):
        name, datatype, shape, where = check_input(tensor.name, tensor.datatype, list(tensor.shape), index, by_name)
        if raw:
            if tensor.HasField("contents"):
                raise ProtocolError(f"{where}: both 'contents' and raw_input_contents given")
            array = binary_array(raw[index], datatype, shape, where, f"raw_input_contents[{index}]")
        else:
            array = _typed_array(tensor.contents, datatype, shape, where)
        given(name, array, datatype)
    outputs = tuple(output.name for output in request.outputs) or None
    return infer_request(request.id or None, given.inputs, specs, outputs)


def _input_bytes(request: pb.ModelInferRequest) -> int:
    """About how many bytes the inputs hold (typed values counted at 8 bytes: they become Python numbers first)."""
    raw = sum(len(blob) for blob in request.raw_input_contents)
    return raw or 8 * sum(len(values) for tensor in request.inputs for _, values in tensor.contents.ListFields())


def encode_response(
    model_name: str, version: str | None, request: InferRequest, outputs: Sequence[tuple[str, str, np.ndarray]]
) -> pb.ModelInferResponse:
    selected = selected_outputs(request, outputs)
    return pb.ModelInferResponse(
        model_name=model_name,
        model_version=version or "",
        id=request.id or "",
        outputs=[
            pb.ModelInferResponse.InferOutputTensor(name=name, datatype=datatype, shape=array.shape)
            for name, datatype, array in selected
        ],
        raw_output_contents=[tensor_bytes(array, datatype) for _, datatype, array in selected],
    )


class _Refused(Exception):
    def __init__(self, outcome: str, code: grpc.StatusCode, message: str):
        self.outcome, self.code, self.message = outcome, code, message


class InferenceService(pb_grpc.GRPCInferenceServiceServicer):
    def __init__(self, state: ServerState):
        self.state = state
        self.name = state.settings.model_name
        # Calls past the readiness check and not yet answered, and the most of them at once in this and the
        # previous window: how many gRPC callers may still send (Callers).
        self.active = 0
        self._peak = self._previous_peak = 0
        self._window_end = 0.0

    def callers(self) -> int:
        """The batcher's hint of how many gRPC requests could still join a batch. HTTP/1.1 has one request per
        connection; a gRPC connection multiplexes any number, so the most calls in flight at once over the last
        second or two stands in (a closed-loop client of N: N). Read from the batch worker thread (ints: atomic)."""
        if time.monotonic() > self._window_end + _CALLER_WINDOW_S:  # no call for a while: only those in flight
            return self.active
        return max(self._peak, self._previous_peak)

    def _enter(self) -> None:
        self.active += 1
        now = time.monotonic()
        if now >= self._window_end:
            recent = now < self._window_end + _CALLER_WINDOW_S
            self._previous_peak, self._peak = (self._peak if recent else 0), self.active
            self._window_end = now + _CALLER_WINDOW_S
        elif self.active > self._peak:
            self._peak = self.active

    def _unknown(self, name: str, version: str) -> str | None:
        if name != self.name:
            return f"unknown model {name!r}; this server serves {self.name!r}"
        model = self.state.model
        if version and (model is None or version != model.version):
            return f"unknown version {version!r} of model {self.name!r}"
        return None

    async def ServerLive(self, request, context):
        return pb.ServerLiveResponse(live=True)

    async def ServerReady(self, request, context):
        return pb.ServerReadyResponse(ready=self.state.serving)

    async def ServerMetadata(self, request, context):
        return pb.ServerMetadataResponse(name="lepton-serving", version=__version__, extensions=[])

    async def ModelReady(self, request, context):
        if (missing := self._unknown(request.name, request.version)) is not None:
            await context.abort(grpc.StatusCode.NOT_FOUND, missing)
        return pb.ModelReadyResponse(ready=self.state.serving)

    async def ModelMetadata(self, request, context):
        if (missing := self._unknown(request.name, request.version)) is not None:
            await context.abort(grpc.StatusCode.NOT_FOUND, missing)
        if self.state.model is None:
            await context.abort(grpc.StatusCode.UNAVAILABLE, self.state.not_serving_reason)
        doc = self.state.model.metadata()
        tensor = pb.ModelMetadataResponse.TensorMetadata
        return pb.ModelMetadataResponse(
            name=doc["name"], versions=doc["versions"], platform=doc["platform"],
            inputs=[tensor(**spec) for spec in doc["inputs"]],
            outputs=[tensor(**spec) for spec in doc.get("outputs", [])],
        )  # fmt: skip

    async def ModelInfer(self, request, context):
        state, metrics = self.state, self.state.metrics
        if (missing := self._unknown(request.model_name, request.model_version)) is not None:
            metrics.count("", "not_found", "grpc")
            await context.abort(grpc.StatusCode.NOT_FOUND, missing)
        if not state.serving:
            metrics.count(self.name, "not_ready", "grpc")
            await context.abort(grpc.StatusCode.UNAVAILABLE, state.not_serving_reason)
        state.in_flight += 1
        self._enter()
        arrived = time.perf_counter()
        try:
            response = await self._answer(request)
        except _Refused as refused:
            metrics.count(self.name, refused.outcome, "grpc")
            await context.abort(refused.code, refused.message)
        except asyncio.CancelledError:  # the client cancelled or went away: its choice, not a server error
            metrics.count(self.name, "client_disconnected", "grpc")
            raise
        finally:
            state.in_flight -= 1
            self.active -= 1
        metrics.count(self.name, "ok", "grpc")
        metrics.answered(time.perf_counter() - arrived)
        return response

    async def _answer(self, request: pb.ModelInferRequest) -> pb.ModelInferResponse:
        state = self.state
        try:
            parsed = await state.off_loop(_input_bytes(request), parse_request, request, state.model.inputs)
            result = await state.batcher.submit(parsed)
            if result is ABANDONED:
                raise _Refused("abandoned", grpc.StatusCode.UNAVAILABLE, _ABANDONED)
            if isinstance(result, ModelError):
                raise _Refused("bad_request", grpc.StatusCode.INVALID_ARGUMENT, result.message)
            size = sum(array.nbytes for _, _, array in result)
            return await state.off_loop(size, encode_response, self.name, state.model.version, parsed, result)
        except ProtocolError as exc:
            raise _Refused("bad_request", grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None
        except QueueFull:
            raise _Refused("queue_full", grpc.StatusCode.RESOURCE_EXHAUSTED, "the request queue is full; retry later")


def build_server(state: ServerState) -> tuple[aio.Server, InferenceService]:
    """The gRPC server (not started) on settings.grpc_port, message sizes capped at --max-body-bytes."""
    settings = state.settings
    limit = settings.max_body_bytes
    server = aio.server(options=[
        ("grpc.max_receive_message_length", limit),
        ("grpc.max_send_message_length", limit),
        ("grpc.so_reuseport", 0),  # a port already taken is an error, not a second listener beside it
    ])
    service = InferenceService(state)
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(service, server)
    server.add_insecure_port(f"{settings.host}:{settings.grpc_port}")  # TLS is the mesh's (Istio mTLS)
    return server, service
