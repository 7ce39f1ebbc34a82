"""serving.protocol carries datatypes in numpy only (its parser process should not import torch); serving.model maps
each to torch. The two must agree: every datatype has its torch dtype, and the value range the protocol enforces is
torch's for that dtype (BF16's included, which numpy lacks)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from serving.model import TORCH_DTYPES, TORCH_TO_DATATYPE
from serving.protocol import DATATYPES

from server_support import ROOT


def test_every_datatype_has_one_torch_dtype_and_back():
    assert set(TORCH_DTYPES) == set(DATATYPES)
    assert {TORCH_TO_DATATYPE[dtype] for dtype in TORCH_DTYPES.values()} == set(DATATYPES)


@pytest.mark.parametrize("name", sorted(DATATYPES))
def test_the_range_the_protocol_enforces_is_torchs(name):
    dtype = TORCH_DTYPES[name]
    if dtype is torch.bool:
        assert DATATYPES[name].range is None
        return
    info = torch.finfo(dtype) if dtype.is_floating_point else torch.iinfo(dtype)
    assert DATATYPES[name].range == (info.min, info.max)


@pytest.mark.parametrize("name", sorted(set(DATATYPES) - {"BF16"}))
def test_numpy_carries_each_datatype_as_torch_does(name):
    assert torch.from_numpy(np.zeros(1, DATATYPES[name].numpy)).dtype is TORCH_DTYPES[name]


def test_the_protocol_module_imports_no_torch():
    probe = "import sys, serving.protocol; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, check=True, capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
