"""Model loading (fsspec URIs, TorchScript or torch.export artifacts, metadata) and prediction.

Split like LitServe's setup/predict: `load` does the slow one-off work; `LoadedModel.predict` is the
hot path the batcher calls from its worker thread with already-validated numpy arrays.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import torch

from serving.protocol import DATATYPES, DEFAULT_INPUT, InferRequest, TensorSpec

DEFAULT_OUTPUT = "output__0"
# The torch dtype of each protocol datatype (serving/protocol.py keeps to numpy); BF16 travels as float32 in numpy.
TORCH_DTYPES: dict[str, torch.dtype] = {
    "BOOL": torch.bool,
    "UINT8": torch.uint8,
    "INT8": torch.int8,
    "INT16": torch.int16,
    "INT32": torch.int32,
    "INT64": torch.int64,
    "FP16": torch.float16,
    "FP32": torch.float32,
    "FP64": torch.float64,
    "BF16": torch.bfloat16,
}
TORCH_TO_DATATYPE = {dtype: name for name, dtype in TORCH_DTYPES.items()}
METADATA_SUFFIX = ".json"  # metadata lives at "<artifact URI>.json"


class LoadError(RuntimeError):
    """The model cannot be served: bad URI, missing filesystem, bad artifact or metadata."""


class DeviceError(ValueError):
    """The requested device does not exist on this machine."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError("--device / DEVICE: 'cuda' requested but CUDA is not available; use auto or cpu")
    return torch.device(name)


@dataclasses.dataclass
class LoadedModel:
    name: str
    version: str | None
    platform: str
    module: Any  # torch.jit.ScriptModule or the torch.fx.GraphModule of an ExportedProgram
    device: torch.device
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...] | None  # None without metadata: names follow the returned value

    def predict(self, arrays: Sequence[np.ndarray], datatypes: Sequence[str]) -> list[tuple[str, str, np.ndarray]]:
        """One forward pass; the caller holds torch.inference_mode. Returns (name, datatype, array) per output."""
        tensors = [
            torch.from_numpy(array).to(self.device, TORCH_DTYPES[datatype], non_blocking=True)
            for array, datatype in zip(arrays, datatypes)
        ]
        result = self.module(*tensors)
        if isinstance(result, torch.Tensor):
            named = [(None, result)]
        elif isinstance(result, (tuple, list)):
            named = [(None, value) for value in result]
        elif isinstance(result, dict):
            named = list(result.items())
        else:
            raise TypeError(f"the model returned {type(result).__name__}; expected tensors")
        if self.outputs is not None and len(self.outputs) != len(named):
            raise TypeError(f"the model returned {len(named)} outputs, its metadata declares {len(self.outputs)}")
        outputs = []
        for index, (key, value) in enumerate(named):
            if not isinstance(value, torch.Tensor):
                raise TypeError(f"output {index} is {type(value).__name__}, not a tensor")
            datatype = TORCH_TO_DATATYPE.get(value.dtype)
            if datatype is None:
                raise TypeError(f"output {index} has unsupported dtype {value.dtype}")
            if self.outputs is not None:
                name = self.outputs[index].name
            elif key is not None:
                name = str(key)
            else:
                name = f"output__{index}"
            value = value.detach()
            if value.dtype == torch.bfloat16:
                value = value.float()
            outputs.append((name, datatype, value.cpu().numpy()))
        return outputs

    def warmup_request(self) -> InferRequest | None:
        """A one-row request built from the metadata (variable dims set to 1), or None if shapes are unknown."""
        if any(spec.shape is None or spec.datatype is None for spec in self.inputs):
            return None
        arrays, datatypes = [], []
        for spec in self.inputs:
            shape = tuple(1 if dim == -1 else dim for dim in spec.shape)
            arrays.append(np.zeros(shape, DATATYPES[spec.datatype].numpy))
            datatypes.append(spec.datatype)
        return InferRequest(
            id=None,
            arrays=tuple(arrays),
            datatypes=tuple(datatypes),
            rows=arrays[0].shape[0],
            key=tuple((dt, a.shape[1:]) for a, dt in zip(arrays, datatypes)),
            outputs=None,
        )

    def metadata(self) -> dict[str, Any]:
        """The V2 model metadata document."""
        doc: dict[str, Any] = {"name": self.name, "versions": [self.version] if self.version else [], "platform": self.platform}
        doc["inputs"] = [_describe(spec) for spec in self.inputs]
        if self.outputs is not None:
            doc["outputs"] = [_describe(spec) for spec in self.outputs]
        return doc


def _describe(spec: TensorSpec) -> dict[str, Any]:
    # Without metadata the datatype follows the request and the shape is unknown: say so honestly.
    return {"name": spec.name, "datatype": spec.datatype or "", "shape": list(spec.shape) if spec.shape else [-1]}


def _filesystem(uri: str):
    import fsspec  # imported here so the hot path never pays for it

    options: dict[str, Any] = {}
    if uri.startswith(("s3://", "s3a://")):
        # botocore reads AWS_ENDPOINT_URL itself only in recent versions; pass it explicitly.
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            options["endpoint_url"] = endpoint
    try:
        return fsspec.core.url_to_fs(uri, **options)
    except ImportError as exc:
        raise LoadError(
            f"{uri}: the filesystem for this URI scheme is not installed ({exc}). "
            "Install the extra: s3fs for s3://, gcsfs for gs://, adlfs for az:// and abfs://"
        ) from None
    except ValueError as exc:
        raise LoadError(f"{uri}: {exc}") from None


def _spec_list(value: Any, where: str, need_datatype: bool) -> tuple[TensorSpec, ...]:
    if not isinstance(value, list) or not value:
        raise LoadError(f"metadata {where!r} must be a non-empty list")
    specs = []
    for index, item in enumerate(value):
        at = f"metadata {where}[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise LoadError(f"{at} needs a 'name'")
        datatype = item.get("datatype")
        if datatype is None and need_datatype or datatype is not None and datatype not in DATATYPES:
            raise LoadError(f"{at}: 'datatype' must be one of {sorted(DATATYPES)}")
        shape = item.get("shape")
        if shape is not None and (
            not isinstance(shape, list) or not shape or any(type(d) is not int or d < -1 for d in shape)
        ):
            raise LoadError(f"{at}: 'shape' must be a non-empty list of integers, -1 for variable dimensions")
        specs.append(TensorSpec(item["name"], datatype, tuple(shape) if shape is not None else None))
    if len({spec.name for spec in specs}) != len(specs):
        raise LoadError(f"metadata {where!r} has duplicate names")
    return tuple(specs)


def load(uri: str, name: str, device: torch.device) -> LoadedModel:
    """Fetch the artifact (and `<artifact>.json` metadata if present) and deserialise it onto the device."""
    fs, path = _filesystem(uri)
    try:
        blob = fs.cat_file(path)
    except FileNotFoundError:
        raise LoadError(f"{uri}: no such model artifact") from None
    except OSError as exc:
        raise LoadError(f"{uri}: cannot read the artifact: {exc}") from None

    meta: dict[str, Any] = {}
    try:
        raw = fs.cat_file(path + METADATA_SUFFIX)
    except FileNotFoundError:
        raw = None
    if raw is not None:
        try:
            meta = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise LoadError(f"{uri}{METADATA_SUFFIX}: malformed JSON: {exc}") from None
        if not isinstance(meta, dict):
            raise LoadError(f"{uri}{METADATA_SUFFIX}: must be a JSON object")

    inputs = (
        _spec_list(meta["inputs"], "inputs", need_datatype=True)
        if "inputs" in meta
        else (TensorSpec(DEFAULT_INPUT, None, None),)
    )
    outputs = _spec_list(meta["outputs"], "outputs", need_datatype=False) if "outputs" in meta else None
    version = meta.get("version")
    if version is not None and not isinstance(version, str):
        raise LoadError(f"{uri}{METADATA_SUFFIX}: 'version' must be a string")

    try:
        if path.endswith(".pt2"):
            module = torch.export.load(io.BytesIO(blob)).module().to(device)
            platform = "pytorch_torch_export"
        else:
            module = torch.jit.load(io.BytesIO(blob), map_location=device)
            module.eval()
            platform = "pytorch_libtorch"  # Triton's name for TorchScript models
    except Exception as exc:  # torch raises many types for a corrupt or foreign file
        raise LoadError(f"{uri}: not a loadable TorchScript (.pt) or torch.export (.pt2) artifact: {exc}") from None
    return LoadedModel(name, version, platform, module, device, inputs, outputs)
