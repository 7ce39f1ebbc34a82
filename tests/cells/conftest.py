"""Fixtures of the cell-contract tests: a test that takes ``cloud`` (or a fixture built on it) runs once per cloud."""

import pytest

from cells_readers import READERS, CloudReader
from cells_support import CLOUDS, BuiltCell, built_cell


@pytest.fixture(params=CLOUDS)
def cloud(request) -> str:
    return request.param


@pytest.fixture
def reader(cloud) -> CloudReader:
    return READERS[cloud]


@pytest.fixture
def protected(cloud) -> BuiltCell:
    """The cloud's cell in a protected (prod) platform."""
    return built_cell(cloud, protected=True)


@pytest.fixture
def unprotected(cloud) -> BuiltCell:
    """The cloud's cell in an unprotected (dev) platform, its API endpoint public to PUBLIC_ACCESS_CIDRS."""
    return built_cell(cloud, protected=False)


@pytest.fixture(params=[False, True], ids=["unprotected", "protected"])
def cell(cloud, request) -> BuiltCell:
    """The cloud's cell, protected and not: for what must hold either way."""
    return built_cell(cloud, protected=request.param)
