"""Reference models for the serving benchmark, built in code and saved as TorchScript.

Two shapes of workload, so one number cannot hide the other:
- ``encoder``: a small transformer encoder over 128 token ids. Cost per row barely drops with batch
  size, so it measures how much of the CPU the server leaves to the model (a/d).
- ``mlp``: a wide MLP whose per-row cost falls sharply with batch size (matmuls amortise weight
  reads), so it measures whether dynamic batching actually forms batches (a/b).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

SEQ_LEN = 128
VOCAB = 4096


@dataclass(frozen=True)
class ModelSpec:
    """What the harness needs to know to load, feed and check a saved model."""

    name: str
    path: Path
    input_shape: tuple[int, ...]  # one row, without the batch dimension
    input_datatype: str  # KServe V2 name
    output_shape: tuple[int, ...]

    def example(self, rows: int, seed: int = 0) -> torch.Tensor:
        """A deterministic input batch of ``rows`` rows."""
        gen = torch.Generator().manual_seed(seed)
        if self.input_datatype == "INT64":
            return torch.randint(0, VOCAB, (rows, *self.input_shape), generator=gen)
        return torch.randn((rows, *self.input_shape), generator=gen)


class Encoder(nn.Module):
    """Token ids [batch, 128] -> mean-pooled hidden state [batch, d_model]."""

    def __init__(self, d_model: int = 128, layers: int = 2, heads: int = 4, ff: int = 512):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, d_model)
        self.pos = nn.Parameter(torch.randn(SEQ_LEN, d_model) * 0.02)
        layer = nn.TransformerEncoderLayer(d_model, heads, ff, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.embed(ids) + self.pos).mean(dim=1)


def wide_mlp() -> nn.Module:
    """Features [batch, 1024] -> [batch, 1024] through two 4096-wide hidden layers."""
    return nn.Sequential(
        nn.Linear(1024, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1024)
    )


def _save(spec: ModelSpec, module: nn.Module) -> ModelSpec:
    """Trace, save the artifact and the metadata file the server reads beside it."""
    module.eval()
    with torch.no_grad():
        traced = torch.jit.trace(module, spec.example(4), check_trace=False)
    spec.path.parent.mkdir(parents=True, exist_ok=True)
    traced.save(str(spec.path))
    metadata = {
        "inputs": [{"name": "input__0", "datatype": spec.input_datatype, "shape": [-1, *spec.input_shape]}],
        "outputs": [{"name": "output__0", "datatype": "FP32", "shape": [-1, *spec.output_shape]}],
    }
    metadata_path(spec.path).write_text(json.dumps(metadata, indent=2) + "\n")
    return spec


def metadata_path(artifact: Path) -> Path:
    """The metadata file the server looks for beside an artifact: ``<artifact>.json``."""
    return artifact.with_name(artifact.name + ".json")


def build_encoder(directory: Path) -> ModelSpec:
    torch.manual_seed(0)
    spec = ModelSpec("encoder", directory / "encoder.pt", (SEQ_LEN,), "INT64", (128,))
    return _save(spec, Encoder())


def build_mlp(directory: Path) -> ModelSpec:
    torch.manual_seed(0)
    spec = ModelSpec("mlp", directory / "mlp.pt", (1024,), "FP32", (1024,))
    return _save(spec, wide_mlp())


BUILDERS = {"encoder": build_encoder, "mlp": build_mlp}
