"""Tiny models the tests serve. In a module (not a test function) because torch.jit.script needs the source."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch


class Affine(torch.nn.Module):
    """Two outputs per row; rejects negative inputs the way a real model rejects out-of-range token ids."""

    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.weight = torch.nn.Parameter(torch.randn(3, 4, generator=generator))
        self.bias = torch.nn.Parameter(torch.randn(3, generator=generator))

    def forward(self, x: torch.Tensor):
        if bool((x < 0).any()):
            raise ValueError("negative inputs are not allowed")
        return torch.nn.functional.linear(x, self.weight, self.bias), x.sum(dim=1)


AFFINE_METADATA = {
    "version": "7",
    "inputs": [{"name": "features", "datatype": "FP32", "shape": [-1, 4]}],
    "outputs": [
        {"name": "scores", "datatype": "FP32", "shape": [-1, 3]},
        {"name": "total", "datatype": "FP32", "shape": [-1]},
    ],
}


class Square(torch.nn.Module):
    """Keeps the dtype for every datatype (BOOL squares to itself: x * x is logical and)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * x


class Spin(torch.nn.Module):
    """Burns CPU for x[0, 0] iterations: a slow forward whose duration the test chooses per request."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.eye(128) * 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = int(x[0, 0].item())
        y = x
        for _ in range(steps):
            y = torch.tanh(y @ self.weight)
        return x * 2.0


SPIN_METADATA = {"inputs": [{"name": "input__0", "datatype": "FP32", "shape": [-1, 128]}]}


def save_script(module: torch.nn.Module, path: Path, metadata: dict | None = None) -> Path:
    with warnings.catch_warnings():  # torch 2.13 deprecates TorchScript, but it is what we serve
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(module).save(str(path))
    if metadata is not None:
        Path(str(path) + ".json").write_text(json.dumps(metadata))
    return path


def save_export(module: torch.nn.Module, path: Path, example: torch.Tensor, metadata: dict | None = None) -> Path:
    batch = torch.export.Dim("batch", min=1, max=1024)
    program = torch.export.export(module, (example,), dynamic_shapes={"x": {0: batch}})
    torch.export.save(program, str(path))
    if metadata is not None:
        Path(str(path) + ".json").write_text(json.dumps(metadata))
    return path


class Linear(torch.nn.Module):
    """Affine without the data-dependent check, so torch.export can trace it."""

    def __init__(self) -> None:
        super().__init__()
        self.affine = Affine()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.linear(x, self.affine.weight, self.affine.bias)
