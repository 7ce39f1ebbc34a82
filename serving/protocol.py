"""Open Inference Protocol (KServe V2) JSON: request parsing, validation and response encoding.

Parsing turns each input's `data` into one numpy array with a single `np.asarray` call (no per-element
Python work) and checks it against the declared shape, datatype and the model's metadata, so that by the
time a request reaches the batcher it is known to be well-formed and only the model can still reject it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson

DEFAULT_INPUT = "input__0"  # Triton's PyTorch naming convention
# The binary tensor data extension (KServe/Triton, ../shared/upstream/triton-binary-data-extension): the JSON
# is the body's first BINARY_HEADER bytes, the tensors' little-endian bytes follow in the JSON's order.
BINARY_HEADER = "Inference-Header-Content-Length"
BINARY_EXTENSION = "binary_tensor_data"


# bfloat16 (numpy has none): float32's 8 exponent bits and 7 of its 23 fraction bits, so its largest finite value
# is (2 - 2**-7) * 2**127, about 3.39e38 (torch.finfo(torch.bfloat16).max; tests/serving/test_serving_datatypes.py checks it).
BF16_MAX = (2 - 2**-7) * 2.0**127


@dataclasses.dataclass(frozen=True)
class Datatype:
    """A tensor datatype as the protocol carries it (numpy, no torch: serving/parse_process.py's parser process imports
    this module and should not pay for torch; serving/model.py maps each to its torch dtype)."""

    numpy: np.dtype
    kinds: str  # numpy kinds accepted from JSON: no silent float->int or number->bool casts
    largest: float | None = None  # the datatype's own largest value where numpy's dtype carries a wider one (BF16)

    @functools.cached_property
    def range(self) -> tuple[float, float] | None:
        """Smallest and largest value of the datatype; None for BOOL."""
        if self.numpy.kind == "b":
            return None
        if self.largest is not None:
            return -self.largest, self.largest
        if self.numpy.kind == "f":
            info = np.finfo(self.numpy)
            return float(info.min), float(info.max)  # Python numbers, as torch.finfo gives: compared like them
        ints = np.iinfo(self.numpy)
        return ints.min, ints.max


_INT_KINDS, _FLOAT_KINDS = "iu", "iuf"
DATATYPES: dict[str, Datatype] = {
    "BOOL": Datatype(np.dtype(np.bool_), "b"),
    "UINT8": Datatype(np.dtype(np.uint8), _INT_KINDS),
    "INT8": Datatype(np.dtype(np.int8), _INT_KINDS),
    "INT16": Datatype(np.dtype(np.int16), _INT_KINDS),
    "INT32": Datatype(np.dtype(np.int32), _INT_KINDS),
    "INT64": Datatype(np.dtype(np.int64), _INT_KINDS),
    "FP16": Datatype(np.dtype(np.float16), _FLOAT_KINDS),
    "FP32": Datatype(np.dtype(np.float32), _FLOAT_KINDS),
    "FP64": Datatype(np.dtype(np.float64), _FLOAT_KINDS),
    # numpy has no bfloat16: carried as float32 and converted by torch on the way in and out (serving/model.py).
    "BF16": Datatype(np.dtype(np.float32), _FLOAT_KINDS, largest=BF16_MAX),
}


class ProtocolError(ValueError):
    """The request is malformed: answered with 400 and the message."""


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    name: str
    datatype: str | None  # None: taken from the request (no metadata)
    shape: tuple[int, ...] | None  # -1 for variable dims, dim 0 is the batch dim; None: any


@dataclasses.dataclass(frozen=True)
class InferRequest:
    id: str | None
    arrays: tuple[np.ndarray, ...]  # in the model's input order
    datatypes: tuple[str, ...]
    rows: int
    key: tuple  # requests with equal keys can share a batch (same dtypes and trailing shapes)
    outputs: tuple[str, ...] | None  # requested output names, None for all
    binary_output: bool = False  # the request's "binary_data_output": outputs as binary data by default
    binary: Mapping[str, bool] = dataclasses.field(default_factory=dict)  # an output's own "binary_data"

    def wants_binary(self, output: str) -> bool:
        return self.binary.get(output, self.binary_output)


class _BinarySection:
    """The binary tensor data after the JSON header, handed out to the inputs in the order the JSON lists them."""

    def __init__(self, data: memoryview | None):
        self.data, self.offset = data, 0

    def take(self, size: int, where: str) -> memoryview:
        if self.data is None:
            raise ProtocolError(f"{where}: 'binary_data_size' needs the {BINARY_HEADER} header")
        end = self.offset + size
        if end > len(self.data):
            left = len(self.data) - self.offset
            raise ProtocolError(f"{where}: 'binary_data_size' is {size} bytes, the body has {left} left")
        chunk, self.offset = self.data[self.offset:end], end
        return chunk

    def finish(self) -> None:
        if self.data is not None and self.offset != len(self.data):
            raise ProtocolError(f"{len(self.data) - self.offset} bytes of binary data follow the last binary input")


def _shape(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise ProtocolError(f"{where}: 'shape' must be a non-empty list (dimension 0 is the batch dimension)")
    for dim in value:
        if type(dim) is not int or dim < 0:
            raise ProtocolError(f"{where}: 'shape' must hold non-negative integers, got {value!r}")
    return tuple(value)


def values_array(data: Any, datatype: str, shape: tuple[int, ...], where: str, field: str = "'data'") -> np.ndarray:
    """Tensor values given as numbers (JSON `data`, gRPC typed `contents`), checked against shape, kind and range."""
    if not isinstance(data, list):
        raise ProtocolError(f"{where}: {field} must be a JSON array (flat or nested)")
    dt = DATATYPES[datatype]
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as exc:  # ragged nesting
        raise ProtocolError(f"{where}: {field} is not a regular array: {exc}") from None
    expected = 1
    for dim in shape:
        expected *= dim
    if array.size != expected:
        raise ProtocolError(f"{where}: shape {list(shape)} needs {expected} elements, {field} has {array.size}")
    if array.size and array.dtype.kind not in dt.kinds:
        kind = {"b": "booleans", "i": "integers", "u": "integers", "f": "numbers"}.get(array.dtype.kind, "non-numbers")
        raise ProtocolError(f"{where}: {field} holds {kind}, which is not valid for datatype {datatype}")
    # A cast would wrap integers and turn floats into inf (1e300 as FP32): a value the client did not send.
    if dt.range is not None and array.size and array.dtype != dt.numpy:
        low, high = dt.range
        if array.min() < low or array.max() > high:
            raise ProtocolError(f"{where}: {field} has values outside the range of {datatype}")
    return array.astype(dt.numpy, copy=False).reshape(shape)


# Wire types that differ from the carried numpy type: numpy has no bfloat16, and a BOOL byte is read as a
# number so that a byte other than 0 or 1 still becomes a proper bool.
_WIRE = {"BF16": np.dtype("<u2"), "BOOL": np.dtype(np.uint8)}


def binary_array(
    chunk: memoryview | bytes, datatype: str, shape: tuple[int, ...], where: str, field: str = "'binary_data_size'"
) -> np.ndarray:
    """Little-endian, row-major, no padding; BF16 is 2 bytes (numpy has none: widened to float32, exactly).
    `field` names where the byte count came from (the HTTP parameter, or gRPC's raw_input_contents)."""
    dt = DATATYPES[datatype]
    wire = _WIRE.get(datatype, dt.numpy.newbyteorder("<"))
    expected = math.prod(shape) * wire.itemsize
    if len(chunk) != expected:
        raise ProtocolError(f"{where}: shape {list(shape)} of {datatype} needs {expected} bytes, "
                            f"{field} is {len(chunk)}")
    array = np.frombuffer(chunk, wire)
    if datatype == "BF16":  # the upper half of a float32
        return (array.astype(np.uint32) << 16).view(np.float32).reshape(shape)
    return array.astype(dt.numpy).reshape(shape)  # a writable copy; BOOL: any non-zero byte is true


def _parameters(item: dict, where: str) -> dict:
    parameters = item.get("parameters", {})
    if not isinstance(parameters, dict):
        raise ProtocolError(f"{where}: 'parameters' must be an object")
    return parameters


def _binary_size(item: dict, where: str) -> int | None:
    size = _parameters(item, where).get("binary_data_size")
    if size is not None and (type(size) is not int or size < 0):
        raise ProtocolError(f"{where}: 'binary_data_size' must be a non-negative integer")
    return size


def _input(item: Any, index: int, specs: Mapping[str, TensorSpec], binary: _BinarySection) -> tuple[str, np.ndarray, str]:
    """One entry of 'inputs', checked against the model's spec: (name, array, datatype)."""
    if not isinstance(item, dict):
        raise ProtocolError(f"inputs[{index}] must be an object")
    name, datatype, shape, where = check_input(item.get("name"), item.get("datatype"), item.get("shape"), index, specs)
    size = _binary_size(item, where)
    if size is None:
        return name, values_array(item.get("data"), datatype, shape, where), datatype
    if "data" in item:
        raise ProtocolError(f"{where}: both 'data' and 'binary_data_size' given")
    return name, binary_array(binary.take(size, where), datatype, shape, where), datatype


def check_input(
    name: Any, datatype: Any, shape: Any, index: int, specs: Mapping[str, TensorSpec]
) -> tuple[str, str, tuple[int, ...], str]:
    """An input's name, datatype and shape checked against the model's specs (HTTP and gRPC alike):
    (name, datatype, shape, where), `where` naming the input in error messages."""
    if not isinstance(name, str):
        raise ProtocolError(f"inputs[{index}]: 'name' must be a string")
    spec = specs.get(name)
    if spec is None:
        raise ProtocolError(f"unknown input {name!r}; the model takes {sorted(specs)}")
    where = f"input {name!r}"
    if not isinstance(datatype, str) or datatype not in DATATYPES:
        raise ProtocolError(f"{where}: unsupported datatype {datatype!r}; supported: {sorted(DATATYPES)}")
    if spec.datatype is not None and datatype != spec.datatype:
        raise ProtocolError(f"{where}: datatype {datatype} given, the model expects {spec.datatype}")
    shape = _shape(shape, where)
    if spec.shape is not None and (
        len(shape) != len(spec.shape) or any(want not in (-1, got) for want, got in zip(spec.shape, shape))
    ):
        raise ProtocolError(f"{where}: shape {list(shape)} does not match the model's {list(spec.shape)}")
    return name, datatype, shape, where


def _split(body: bytes, header_length: int | None) -> tuple[bytes, _BinarySection]:
    if header_length is None:
        return body, _BinarySection(None)
    if header_length > len(body):
        raise ProtocolError(f"{BINARY_HEADER} is {header_length}, the body has {len(body)} bytes")
    return body[:header_length], _BinarySection(memoryview(body)[header_length:])


def _requested_outputs(doc: dict) -> tuple[tuple[str, ...] | None, dict[str, bool]]:
    """The requested output names (None: all) and the binary_data parameter of those that give one."""
    outputs = doc.get("outputs")
    if outputs is None:
        return None, {}
    if not isinstance(outputs, list) or not all(isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs):
        raise ProtocolError("'outputs' must be a list of objects with a 'name'")
    binary = {}
    for output in outputs:
        flag = _parameters(output, f"output {output['name']!r}").get("binary_data")
        if flag is not None:
            binary[output["name"]] = _flag(flag, f"output {output['name']!r}: 'binary_data'")
    return tuple(o["name"] for o in outputs), binary


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ProtocolError(f"{where} must be true or false")
    return value


def parse_infer(body: bytes, inputs: Sequence[TensorSpec], header_length: int | None = None) -> InferRequest:
    """Parse and validate an inference request body against the model's input specs. `header_length` is the
    request's Inference-Header-Content-Length (binary tensor data extension), None without one."""
    header, binary = _split(body, header_length)
    try:
        doc = orjson.loads(header)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"malformed JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ProtocolError("the request body must be a JSON object")
    request_id = doc.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise ProtocolError("'id' must be a string")
    items = doc.get("inputs")
    if not isinstance(items, list) or not items:
        raise ProtocolError("'inputs' must be a non-empty list")

    specs = {spec.name: spec for spec in inputs}
    given = GivenInputs()
    for index, item in enumerate(items):
        given(*_input(item, index, specs, binary))
    binary.finish()
    outputs, binary_outputs = _requested_outputs(doc)
    binary_default = _parameters(doc, "the request").get("binary_data_output", False)
    return infer_request(
        request_id, given.inputs, inputs, outputs,
        binary_output=_flag(binary_default, "'binary_data_output'"), binary=binary_outputs,
    )


class GivenInputs:
    """Inputs as they are parsed (HTTP and gRPC), by name, each at most once: call with (name, array, datatype)."""

    def __init__(self):
        self.inputs: dict[str, tuple[np.ndarray, str]] = {}

    def __call__(self, name: str, array: np.ndarray, datatype: str) -> None:
        if name in self.inputs:
            raise ProtocolError(f"input {name!r} given twice")
        self.inputs[name] = (array, datatype)


def infer_request(
    request_id: str | None,
    given: Mapping[str, tuple[np.ndarray, str]],
    inputs: Sequence[TensorSpec],
    outputs: tuple[str, ...] | None,
    binary_output: bool = False,
    binary: Mapping[str, bool] | None = None,
) -> InferRequest:
    """The validated request from its parsed inputs (by name): every model input present, one batch size."""
    missing = [spec.name for spec in inputs if spec.name not in given]
    if missing:
        raise ProtocolError(f"missing inputs {missing}")
    ordered = [given[spec.name] for spec in inputs]
    rows = ordered[0][0].shape[0]
    if any(array.shape[0] != rows for array, _ in ordered):
        raise ProtocolError("all inputs must have the same size in dimension 0 (the batch dimension)")
    return InferRequest(
        id=request_id,
        arrays=tuple(array for array, _ in ordered),
        datatypes=tuple(datatype for _, datatype in ordered),
        rows=rows,
        key=tuple((datatype, array.shape[1:]) for array, datatype in ordered),
        outputs=outputs,
        binary_output=binary_output,
        binary=binary or {},
    )


def tensor_bytes(array: np.ndarray, datatype: str) -> bytes:
    """An output's bytes as the binary extension and gRPC's raw_output_contents carry them."""
    if datatype == "BF16":  # carried as float32 holding bfloat16 values: the upper half is exact
        return (np.ascontiguousarray(array, np.float32).view(np.uint32) >> 16).astype("<u2").tobytes()
    return np.ascontiguousarray(array, DATATYPES[datatype].numpy.newbyteorder("<")).tobytes()


def _json_data(array: np.ndarray) -> np.ndarray:
    flat = np.ascontiguousarray(array).reshape(-1)
    if flat.dtype == np.float16:  # orjson serialises float16 only via float32 (exact)
        flat = flat.astype(np.float32)
    return flat


def selected_outputs(
    request: InferRequest, outputs: Sequence[tuple[str, str, np.ndarray]]
) -> Sequence[tuple[str, str, np.ndarray]]:
    """The outputs the request asked for (all when it names none); an unknown name is a ProtocolError."""
    if request.outputs is None:
        return outputs
    available = {name for name, _, _ in outputs}
    unknown = [name for name in request.outputs if name not in available]
    if unknown:
        raise ProtocolError(f"unknown outputs requested {unknown}; the model returns {sorted(available)}")
    return [output for output in outputs if output[0] in request.outputs]


def encode_infer(
    model_name: str,
    model_version: str | None,
    request: InferRequest,
    outputs: Sequence[tuple[str, str, np.ndarray]],
) -> tuple[bytes, int | None]:
    """Encode the response: (body, length of its JSON header when binary tensor data follows it, else None).
    numpy arrays go straight to orjson (no Python lists)."""
    outputs = selected_outputs(request, outputs)
    doc: dict[str, Any] = {"model_name": model_name}
    if model_version is not None:
        doc["model_version"] = model_version
    if request.id is not None:
        doc["id"] = request.id
    encoded, blobs = [], []
    for name, datatype, array in outputs:
        entry: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
        if request.wants_binary(name):
            blobs.append(tensor_bytes(array, datatype))
            entry["parameters"] = {"binary_data_size": len(blobs[-1])}
        else:
            entry["data"] = _json_data(array)
        encoded.append(entry)
    doc["outputs"] = encoded
    header = orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)
    if not blobs:
        return header, None
    return b"".join([header, *blobs]), len(header)
